"""Bring your own KMS key: a CA on an existing key (moto KMS), checked for spec, usage, state and access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from certwright import bootstrap
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.conftest import ApiClient, Aws, Clock, leaf_body, root_ca_body

TAG = [{"TagKey": "certwright:purpose", "TagValue": "ca-signing"}]


def kms_key(aws: Aws, spec: str, usage: str = "SIGN_VERIFY") -> dict[str, Any]:
    return dict(aws.session.client("kms").create_key(KeySpec=spec, KeyUsage=usage, Tags=TAG)["KeyMetadata"])


def test_a_ca_on_an_existing_key_signs_with_it(api: ApiClient, aws: Aws) -> None:
    kms = aws.session.client("kms")
    key = kms_key(aws, "ECC_NIST_P384")
    before = len(kms.list_keys()["Keys"])
    created = api.post("/certificate-authorities", root_ca_body(keyAlgorithm="ECDSA_P384", kmsKeyId=key["KeyId"]))
    assert created.status == 201, created.body
    assert created.body["kmsKeyId"] == key["Arn"]
    assert len(kms.list_keys()["Keys"]) == before  # no key of its own was created
    pem = api.get(f"/certificate-authorities/{created.body['id']}/bundle").body["certificatePem"]
    certificate = x509.load_pem_x509_certificate(pem.encode())
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki == kms.get_public_key(KeyId=key["KeyId"])["PublicKey"]
    leaf = api.post("/certificates", leaf_body(created.body["id"]))
    assert leaf.status == 201, leaf.body


@pytest.mark.parametrize(
    ("spec", "usage", "key_algorithm", "status", "code"),
    [
        ("ECC_NIST_P256", "SIGN_VERIFY", "ECDSA_P384", 400, "KmsKeySpecMismatch"),
        ("RSA_2048", "SIGN_VERIFY", "RSA3072", 400, "KmsKeySpecMismatch"),
        ("RSA_2048", "ENCRYPT_DECRYPT", "RSA2048", 400, "KmsKeyUsageInvalid"),
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "RSA2048", 400, "KmsKeyUsageInvalid"),
    ],
)
def test_a_key_of_the_wrong_kind_is_refused(
    api: ApiClient, aws: Aws, spec: str, usage: str, key_algorithm: str, status: int, code: str
) -> None:
    key = kms_key(aws, spec, usage)
    answer = api.post("/certificate-authorities", root_ca_body(keyAlgorithm=key_algorithm, kmsKeyId=key["Arn"]))
    assert (answer.status, answer.body["code"]) == (status, code), answer.body
    assert api.get("/certificate-authorities").body["items"] == []
    assert aws.session.client("kms").describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_a_disabled_key_is_refused(api: ApiClient, aws: Aws) -> None:
    key = kms_key(aws, "ECC_NIST_P256")
    aws.session.client("kms").disable_key(KeyId=key["KeyId"])
    answer = api.post("/certificate-authorities", root_ca_body(keyAlgorithm="ECDSA_P256", kmsKeyId=key["KeyId"]))
    assert (answer.status, answer.body["code"]) == (409, "KmsKeyNotEnabled"), answer.body
    assert api.get("/certificate-authorities").body["items"] == []


def test_a_key_that_does_not_exist_or_may_not_be_used_is_refused(api: ApiClient) -> None:
    missing = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    answer = api.post("/certificate-authorities", root_ca_body(keyAlgorithm="ECDSA_P256", kmsKeyId=missing))
    assert (answer.status, answer.body["code"]) == (400, "KmsKeyNotAccessible"), answer.body
    assert "certwright:purpose=ca-signing" in answer.body["message"]
    assert api.get("/certificate-authorities").body["items"] == []


def test_deleting_a_ca_on_a_brought_key_leaves_the_key_alone(
    api: ApiClient, container: bootstrap.Container, aws: Aws, clock: Clock
) -> None:
    key = kms_key(aws, "ECC_NIST_P256")
    root = api.post("/certificate-authorities", root_ca_body(keyAlgorithm="ECDSA_P256", kmsKeyId=key["KeyId"]))
    assert root.status == 201, root.body
    ca_id = root.body["id"]
    when = {"timeOfDeletion": (clock.now + timedelta(days=7)).isoformat()}
    assert api.post(f"/certificate-authorities/{ca_id}/actions/schedule-deletion", when).status == 200
    clock.advance(days=7, seconds=1)
    assert container.deletion.run()["authorities_deleted"] == 1
    assert api.get(f"/certificate-authorities/{ca_id}").status == 404
    # The customer's key: Certwright never schedules its deletion.
    assert aws.session.client("kms").describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_another_cas_key_cannot_be_brought_to_a_new_ca(api: ApiClient, aws: Aws) -> None:
    """A reader of CA X sees X's kmsKeyId; a root created on it would sign leaves that verify as X's."""
    victim = api.post("/certificate-authorities", root_ca_body(name="victim-root", keyAlgorithm="ECDSA_P256"))
    assert victim.status == 201, victim.body
    answer = api.post(
        "/certificate-authorities",
        root_ca_body(name="impostor", keyAlgorithm="ECDSA_P256", kmsKeyId=victim.body["kmsKeyId"]),
    )
    assert (answer.status, answer.body["code"]) == (409, "KmsKeyInUse"), answer.body
    assert [ca["name"] for ca in api.get("/certificate-authorities").body["items"]] == ["victim-root"]


def test_a_brought_key_serves_one_ca_only(api: ApiClient, aws: Aws) -> None:
    key = kms_key(aws, "ECC_NIST_P256")
    first = api.post(
        "/certificate-authorities", root_ca_body(name="first", keyAlgorithm="ECDSA_P256", kmsKeyId=key["Arn"])
    )
    assert first.status == 201, first.body
    # The same key named by its id instead of its ARN is still the same key.
    again = api.post(
        "/certificate-authorities", root_ca_body(name="second", keyAlgorithm="ECDSA_P256", kmsKeyId=key["KeyId"])
    )
    assert (again.status, again.body["code"]) == (409, "KmsKeyInUse"), again.body
    assert aws.session.client("kms").describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
