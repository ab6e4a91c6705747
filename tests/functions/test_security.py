"""Who may read a private key, where identity comes from, and that keys are sealed, bound and audited."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from certwright.adapters.kms import KmsKeyVault
from certwright.api.app import handle
from certwright.bootstrap import Container
from certwright.errors import CertwrightError
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from infra.api_events import LOCAL_ADMIN, api_event
from tests.conftest import Answer, ApiClient, Aws, Hierarchy, leaf_body
from tests.consenting import consent
from tests.functions.test_bad_input import LocalPki, assert_rejected, import_body, pki  # noqa: F401 (fixture)
from tests.lifecycle.conftest import make_load_balancer

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged

ACCOUNT = "123456789012"
HOST_ROLE = f"arn:aws:iam::{ACCOUNT}:role/web-host"
HOST_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/web-host/i-1"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/db-host"
OTHER_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/db-host/i-2"
DEPLOYER_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/certwright-deployer/lb-deployer"

DENIED_CALLERS = {
    "an admin": LOCAL_ADMIN,
    "the host of another certificate": OTHER_SESSION,
    "the same role name in another account": "arn:aws:sts::999999999999:assumed-role/web-host/i-1",
    "an IAM user named like the role": f"arn:aws:iam::{ACCOUNT}:user/web-host",
    "a role whose name extends the associated one": f"arn:aws:sts::{ACCOUNT}:assumed-role/web-host-admin/i-1",
    "a federated user named like the role": f"arn:aws:sts::{ACCOUNT}:federated-user/web-host",
    "the load-balancer deployer": DEPLOYER_SESSION,
}


def key_path(cert_id: str, query: str = "") -> str:
    return f"/certificates/{cert_id}/bundle?includePrivateKey=true{'&' + query if query else ''}"


def associate(api: ApiClient, cert_id: str, resource: str, aws: Aws) -> None:
    consent(aws.session, resource, cert_id)  # the target's owner consents (services/consent.py)
    created = api.post("/associations", {"certificateId": cert_id, "associatedResourceId": resource})
    assert created.status == 201, created.body
    assert created.body["state"] == "ACTIVE"


def audit_records(aws: Aws, resource_id: str) -> list[dict[str, Any]]:
    client = aws.session.client("dynamodb")
    items = client.query(
        TableName=aws.settings.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"AUDIT#{resource_id}"}},
        ConsistentRead=True,
    )["Items"]
    return [json.loads(item["data"]["S"]) for item in items]


def key_reads(aws: Aws, cert_id: str) -> list[dict[str, Any]]:
    return [r for r in audit_records(aws, cert_id) if r["action"] == "ReadPrivateKey"]


def item_keys(aws: Aws) -> set[tuple[str, str]]:
    return {(i["pk"]["S"], i["sk"]["S"]) for i in aws.table_items()}


def matches_certificate(answer: Answer) -> bool:
    """The returned private key is the one whose public half is in the returned certificate."""
    key = serialization.load_pem_private_key(answer.body["privateKeyPem"].encode(), password=None)
    certificate = x509.load_pem_x509_certificate(answer.body["certificatePem"].encode())
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(
        key.public_key().public_bytes(serialization.Encoding.DER, spki)
        == certificate.public_key().public_bytes(serialization.Encoding.DER, spki)
    )


@pytest.fixture
def web_cert(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> str:
    """A certificate associated with the web-host role, and a second one associated with the db-host role."""
    cert_id = str(api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"])
    associate(api, cert_id, HOST_ROLE, aws)
    other = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="db")).body["id"]
    associate(api, other, OTHER_ROLE, aws)
    return cert_id


# -- who reads the key ------------------------------------------------------------------------------------------


def test_the_associated_principal_reads_its_key_with_one_decrypt_and_an_audit_record(
    api: ApiClient, aws: Aws, web_cert: str
) -> None:
    decrypts = aws.calls["kms.Decrypt"]
    granted = api.get(key_path(web_cert), caller=HOST_SESSION)
    assert granted.status == 200, granted.body
    assert granted.body["privateKeyPem"].startswith("-----BEGIN PRIVATE KEY-----")
    assert matches_certificate(granted)
    assert aws.calls["kms.Decrypt"] == decrypts + 1
    (record,) = key_reads(aws, web_cert)
    assert (record["actor"], record["result"]) == (HOST_SESSION, "SUCCEEDED")
    assert record["details"]["versionNumber"] == "1"
    assert record["details"]["reason"] == "ASSOCIATED_PRINCIPAL"


def refused(caller: str) -> tuple[int, str]:
    """Since issue 9 a caller that may not read the certificate at all gets 404 (no existence oracle); only a
    caller that may read it (here: the admin) learns that the key is refused (403)."""
    return (403, "NotAuthorized") if caller == LOCAL_ADMIN else (404, "NotFound")


@pytest.mark.parametrize("caller", list(DENIED_CALLERS.values()), ids=list(DENIED_CALLERS))
def test_nobody_else_reads_the_key_and_no_decrypt_happens(api: ApiClient, aws: Aws, web_cert: str, caller: str) -> None:
    for query in ["", "versionNumber=1", "stage=CURRENT"]:
        decrypts, before = aws.calls["kms.Decrypt"], item_keys(aws)
        denied = api.get(key_path(web_cert, query), caller=caller)
        assert (denied.status, denied.body["code"]) == refused(caller)
        assert set(denied.body) == {"code", "message"}
        assert aws.calls["kms.Decrypt"] == decrypts
        (added,) = item_keys(aws) - before
        assert added[0] == f"AUDIT#{web_cert}", "a denied read writes its audit record and nothing else"
    records = key_reads(aws, web_cert)
    assert [(r["actor"], r["result"]) for r in records] == [(caller, "DENIED")] * 3


def test_a_host_associated_with_another_certificate_is_refused_this_one(
    api: ApiClient, aws: Aws, web_cert: str
) -> None:
    other_id = next(
        a["certificateId"] for a in api.get("/associations").body["items"] if a["associatedResourceId"] == OTHER_ROLE
    )
    assert api.get(key_path(other_id), caller=OTHER_SESSION).status == 200
    decrypts = aws.calls["kms.Decrypt"]
    # Not readable by them at all (issue 9): 404, as for a certificate that does not exist.
    assert api.get(key_path(web_cert), caller=OTHER_SESSION).status == 404
    assert api.get(key_path(other_id), caller=HOST_SESSION).status == 404
    assert aws.calls["kms.Decrypt"] == decrypts


def test_the_deployer_reads_keys_only_of_load_balanced_certificates(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, web_cert: str
) -> None:
    balanced = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="lb")).body["id"]
    associate(api, balanced, make_load_balancer(aws, listeners=1).listeners[0], aws)
    assert api.get(key_path(balanced), caller=DEPLOYER_SESSION).status == 200
    decrypts = aws.calls["kms.Decrypt"]
    # Certificates the deployer or host is not associated with are not visible to it (404, issue 9).
    assert api.get(key_path(web_cert), caller=DEPLOYER_SESSION).status == 404
    assert api.get(key_path(balanced), caller=HOST_SESSION).status == 404
    assert api.get(key_path(balanced), caller=LOCAL_ADMIN).status == 403
    assert aws.calls["kms.Decrypt"] == decrypts


def test_deleting_the_association_takes_the_right_away(api: ApiClient, aws: Aws, web_cert: str) -> None:
    assert api.get(key_path(web_cert), caller=HOST_SESSION).status == 200
    (association,) = api.get(f"/associations?certificateId={web_cert}").body["items"]
    assert api.call("DELETE", f"/associations/{association['id']}").status == 204
    decrypts = aws.calls["kms.Decrypt"]
    # Without its association the host may not even see the certificate (404 since issue 9).
    assert api.get(key_path(web_cert), caller=HOST_SESSION).status == 404
    assert aws.calls["kms.Decrypt"] == decrypts


def test_every_key_read_is_audited_and_a_plain_bundle_read_is_not_a_key_read(
    api: ApiClient, aws: Aws, web_cert: str
) -> None:
    assert api.get(f"/certificates/{web_cert}/bundle", caller=LOCAL_ADMIN).status == 200
    assert key_reads(aws, web_cert) == []
    reads = [HOST_SESSION, LOCAL_ADMIN, HOST_SESSION, OTHER_SESSION, DEPLOYER_SESSION]
    for caller in reads:
        api.get(key_path(web_cert), caller=caller)
    records = sorted((r["actor"], r["result"]) for r in key_reads(aws, web_cert))
    expected = sorted((c, "SUCCEEDED" if c == HOST_SESSION else "DENIED") for c in reads)
    assert records == expected
    assert all(r["resourceId"] == web_cert and r["at"] for r in key_reads(aws, web_cert))


# -- identity comes from requestContext only --------------------------------------------------------------------


@pytest.mark.parametrize("field", ["createdBy", "caller", "requestContext", "identity", "actor", "userArn"])
def test_identity_in_the_body_is_an_unknown_field(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, web_cert: str, field: str
) -> None:
    bodies = {
        "/certificates": leaf_body(hierarchy.issuing["id"], **{field: HOST_SESSION}),
        "/associations": {"certificateId": web_cert, "associatedResourceId": OTHER_ROLE, field: HOST_SESSION},
    }
    for path, body in bodies.items():
        answer = assert_rejected(aws, lambda p=path, b=body: api.post(p, b), 400, "UnknownField")
        assert field in answer.body["message"]


def test_the_caller_header_means_nothing_to_the_lambda(api: ApiClient, aws: Aws, web_cert: str) -> None:
    decrypts = aws.calls["kms.Decrypt"]
    spoofed = api.get(key_path(web_cert), caller=LOCAL_ADMIN, headers={"X-Certwright-Caller": HOST_SESSION})
    assert (spoofed.status, spoofed.body["code"]) == (403, "NotAuthorized")
    assert aws.calls["kms.Decrypt"] == decrypts
    honest = api.get(key_path(web_cert), caller=HOST_SESSION, headers={"X-Certwright-Caller": LOCAL_ADMIN})
    assert honest.status == 200
    assert [(r["actor"], r["result"]) for r in sorted(key_reads(aws, web_cert), key=lambda r: r["result"])] == [
        (LOCAL_ADMIN, "DENIED"),
        (HOST_SESSION, "SUCCEEDED"),
    ]


def test_created_by_is_the_request_context_caller(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    mallory = f"arn:aws:iam::{ACCOUNT}:user/mallory"
    created = api.post("/certificates", leaf_body(hierarchy.issuing["id"]), headers={"X-Certwright-Caller": mallory})
    assert created.status == 201
    assert created.body["createdBy"] == LOCAL_ADMIN
    assert [r["actor"] for r in audit_records(aws, created.body["id"])] == [LOCAL_ADMIN]


def _anonymous(method: str, path: str, body: Any = None) -> Answer:
    event = api_event(method, path, body)
    event["requestContext"]["identity"] = {"sourceIp": "127.0.0.1", "userAgent": "curl"}
    event["headers"]["X-Certwright-Caller"] = HOST_SESSION
    result = handle(event, None)
    return Answer(result["statusCode"], json.loads(result["body"]), result.get("headers") or {})


def test_a_request_without_an_identity_changes_nothing_and_reads_no_key(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, web_cert: str
) -> None:
    assert_rejected(
        aws, lambda: _anonymous("POST", "/certificates", leaf_body(hierarchy.issuing["id"])), 403, "NotAuthorized"
    )
    association = {"certificateId": web_cert, "associatedResourceId": OTHER_ROLE}
    assert_rejected(aws, lambda: _anonymous("POST", "/associations", association), 403, "NotAuthorized")
    decrypts = aws.calls["kms.Decrypt"]
    read = _anonymous("GET", key_path(web_cert))
    assert (read.status, read.body["code"]) == (403, "NotAuthorized")
    assert aws.calls["kms.Decrypt"] == decrypts


# -- sealed keys: bound to their certificate, never stored in the clear -----------------------------------------


@pytest.fixture
def vault(aws: Aws) -> KmsKeyVault:
    return KmsKeyVault(aws.session.client("kms"), aws.settings.key_encryption_key_id)


def _key_der(answer: Answer) -> bytes:
    key = serialization.load_pem_private_key(answer.body["privateKeyPem"].encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_ciphertext_only_opens_for_its_own_certificate_and_version(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, container: Container, vault: KmsKeyVault
) -> None:
    first = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="first")).body["id"]
    second = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="second")).body["id"]
    assert api.post(f"/certificates/{first}/versions").status == 201
    associate(api, first, HOST_ROLE, aws)
    sealed = container.store.get_sealed_key(first, 1)
    assert sealed is not None

    expected = _key_der(api.get(key_path(first, "versionNumber=1"), caller=HOST_SESSION))
    assert vault.open(sealed, first, 1) == expected
    for certificate_id, version in [(second, 1), (first, 2), (first, 0), (f"{first}x", 1)]:
        with pytest.raises(CertwrightError):
            vault.open(sealed, certificate_id, version)


def test_a_ciphertext_swapped_into_another_certificate_does_not_decrypt(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, container: Container
) -> None:
    victim = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="victim")).body["id"]
    mine = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="mine")).body["id"]
    associate(api, victim, OTHER_ROLE, aws)
    associate(api, mine, HOST_ROLE, aws)
    victim_key = api.get(key_path(victim), caller=OTHER_SESSION).body["privateKeyPem"]

    # Someone with write access to the table moves the victim's sealed key into a row the host may read.
    stolen = container.store.get_sealed_key(victim, 1)
    aws.session.client("dynamodb").update_item(
        TableName=aws.settings.table_name,
        Key={"pk": {"S": f"CERT#{mine}"}, "sk": {"S": "V#00000001"}},
        UpdateExpression="SET secret = :s",
        ExpressionAttributeValues={":s": {"B": stolen}},
    )
    answer = api.get(key_path(mine), caller=HOST_SESSION)
    assert answer.status >= 500 and answer.body["code"] == "DependencyFailure"
    assert "privateKeyPem" not in answer.body and victim_key not in json.dumps(answer.body)
    # The attempt is on the record: a swapped ciphertext is worth an investigation.
    assert [r["result"] for r in key_reads(aws, mine)] == ["FAILED"]


def _scan(aws: Aws, table: str) -> Iterator[dict[str, Any]]:
    yield from aws.table_items(table)


def _values(value: Any) -> Iterator[str | bytes]:
    """Every string and binary inside a DynamoDB attribute value, however deeply nested."""
    if isinstance(value, dict):
        for kind, inner in value.items():
            if kind in ("S", "N", "B"):
                yield inner
            elif kind in ("SS", "NS", "BS", "L"):
                for element in inner:
                    yield from _values(element if kind == "L" else {kind[0]: element})
            elif kind == "M":
                for element in inner.values():
                    yield from _values(element)
    elif isinstance(value, list):
        for element in value:
            yield from _values(element)


def test_no_private_key_is_stored_in_the_clear(
    api: ApiClient,
    aws: Aws,
    hierarchy: Hierarchy,
    container: Container,
    pki: LocalPki,  # noqa: F811
) -> None:
    issuer = hierarchy.issuing["id"]
    ids = [
        api.post("/certificates", leaf_body(issuer, name="ec")).body["id"],
        api.post("/certificates", leaf_body(issuer, name="rsa", keyAlgorithm="RSA2048")).body["id"],
    ]
    imported = api.post(
        "/certificates",
        import_body(pki.leaf.pem, pki.root.pem, pki.leaf.key_pem),
        headers={"Idempotency-Key": "import-1"},
    )
    assert imported.status == 201 and "PRIVATE KEY" not in json.dumps(imported.body)
    ids.append(imported.body["id"])
    assert api.post(f"/certificates/{ids[0]}/versions", headers={"Idempotency-Key": "renew-1"}).status == 201
    keys: list[tuple[str, int, bytes]] = []
    for cert_id in ids:
        associate(api, cert_id, HOST_ROLE, aws)
        for version in api.get(f"/certificates/{cert_id}/versions").body["items"]:
            number = version["versionNumber"]
            read = api.get(key_path(cert_id, f"versionNumber={number}"), caller=HOST_SESSION)
            assert read.status == 200
            keys.append((cert_id, number, _key_der(read)))
    assert len(keys) == 4
    imported_der = pki.leaf.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert imported_der in [der for _, _, der in keys]

    stored: list[str | bytes] = []
    for table in (aws.settings.table_name, aws.settings.idempotency_table_name):
        for item in _scan(aws, table):
            stored.extend(_values(list(item.values())))
    texts = [v for v in stored if isinstance(v, str)]
    blobs = [bytes(v) for v in stored if not isinstance(v, str)]
    assert blobs, "the sealed keys are stored as binary attributes"
    assert not [t for t in texts if "PRIVATE KEY" in t]
    for cert_id, number, der in keys:
        body_b64 = base64.b64encode(der).decode()
        assert not [t for t in texts if body_b64[:48] in t or der.hex() in t]
        assert not [b for b in blobs if der in b]
        sealed = container.store.get_sealed_key(cert_id, number)
        assert sealed is not None and sealed != der and der not in sealed
