"""The issuance API end to end through the Lambda handler: hierarchy, versions and stages, associations, key reads."""

from __future__ import annotations

import pytest
from cryptography import x509

from tests.conftest import ApiClient, Aws, Hierarchy, leaf_body

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged

HOST_ROLE = "arn:aws:iam::123456789012:role/web-host"
HOST_SESSION = "arn:aws:sts::123456789012:assumed-role/web-host/i-0abc"


def test_a_service_generated_certificate_is_issued_by_the_subordinate(api: ApiClient, hierarchy: Hierarchy) -> None:
    created = api.post("/certificates", leaf_body(hierarchy.issuing["id"]))
    assert created.status == 201, created.body
    current = created.body["currentVersion"]
    assert current["versionNumber"] == 1
    assert current["stages"] == ["CURRENT", "LATEST"]

    bundle = api.get(f"/certificates/{created.body['id']}/bundle")
    assert bundle.status == 200
    leaf = x509.load_pem_x509_certificate(bundle.body["certificatePem"].encode())
    issuing = x509.load_pem_x509_certificates(bundle.body["certChainPem"].encode())[0]
    leaf.verify_directly_issued_by(issuing)
    assert f"{leaf.serial_number:x}" == current["serialNumber"]
    assert "privateKeyPem" not in bundle.body


def test_versions_promote_and_roll_back_keep_exactly_one_current(api: ApiClient, hierarchy: Hierarchy) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    assert api.post(f"/certificates/{cert_id}/versions", {}).status == 201
    pending = api.post(f"/certificates/{cert_id}/versions", {"stage": "PENDING"})
    assert pending.body["stages"] == ["LATEST", "PENDING"]

    def stages() -> dict[int, list[str]]:
        return {v["versionNumber"]: v["stages"] for v in api.get(f"/certificates/{cert_id}/versions").body["items"]}

    assert stages() == {1: ["PREVIOUS"], 2: ["CURRENT"], 3: ["LATEST", "PENDING"]}
    assert api.post(f"/certificates/{cert_id}/versions/3/actions/promote").status == 200
    assert stages() == {1: ["DEPRECATED"], 2: ["PREVIOUS"], 3: ["CURRENT", "LATEST"]}
    rolled = api.post(f"/certificates/{cert_id}/versions/2/actions/promote")
    assert rolled.body["currentVersion"]["versionNumber"] == 2
    assert stages() == {1: ["DEPRECATED"], 2: ["CURRENT"], 3: ["LATEST", "PREVIOUS"]}


def test_only_the_associated_principal_reads_the_key_and_others_cause_no_decrypt(
    api: ApiClient, hierarchy: Hierarchy, aws: Aws
) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    association = api.post("/associations", {"certificateId": cert_id, "associatedResourceId": HOST_ROLE})
    assert association.status == 201
    assert association.body["state"] == "PENDING_CONFIRMATION"
    confirm = f"/associations/{association.body['id']}/actions/confirm"
    assert api.post(confirm, caller=HOST_SESSION).body["state"] == "ACTIVE"  # the host consents itself

    decrypts = aws.calls["kms.Decrypt"]
    denied = api.get(f"/certificates/{cert_id}/bundle?includePrivateKey=true")
    assert denied.status == 403
    assert aws.calls["kms.Decrypt"] == decrypts

    granted = api.get(f"/certificates/{cert_id}/bundle?includePrivateKey=true", caller=HOST_SESSION)
    assert granted.status == 200
    assert granted.body["privateKeyPem"].startswith("-----BEGIN PRIVATE KEY-----")
    assert aws.calls["kms.Decrypt"] == decrypts + 1


def test_a_certificate_in_use_cannot_be_scheduled_for_deletion(api: ApiClient, hierarchy: Hierarchy) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    association = api.post("/associations", {"certificateId": cert_id, "associatedResourceId": HOST_ROLE}).body
    refused = api.post(f"/certificates/{cert_id}/actions/schedule-deletion", {})
    assert refused.status == 409
    assert refused.body["code"] == "CertificateInUse"
    assert api.get(f"/certificates/{cert_id}").body["lifecycleState"] == "ACTIVE"

    assert api.call("DELETE", f"/associations/{association['id']}").status == 204
    scheduled = api.post(f"/certificates/{cert_id}/actions/schedule-deletion", {})
    assert scheduled.status == 200
    assert scheduled.body["lifecycleState"] == "PENDING_DELETION"


def test_resource_names_refuse_control_and_bidi_characters(api: ApiClient, hierarchy: Hierarchy) -> None:
    for name in ("\u202eevil", "web\x00", "   "):
        refused = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name=name))
        assert refused.status == 400, (name, refused.body)
        assert refused.body["code"] == "InvalidParameter"
