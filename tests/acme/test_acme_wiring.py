"""ACME through the real wiring: the local runtime's HTTP gateway (the /acme/* routes unauthenticated, the EAB
keys behind the API), moto's stream records and bus events handed by the router to stream_publisher and the
real acme_validator handler (accept-all checker, refused anywhere but the local runtime), the CRL publisher.

A client written from RFC 8555 (tests/acme/client.py) registers with EAB, orders, answers http-01, finalizes,
downloads a chain that `openssl verify` accepts against the root; renews (a new version of the same Certwright
certificate); revokes (the serial reaches the CRL in S3). Bad inputs answer problem documents and write nothing.
The table's TTL (on `ttl`) is set on nonces and abandoned orders, never on issued orders or accounts.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from infra.runtime import local_runtime
from tests.acme.client import AcmeClient, b64, csr_der, http_send, jws
from tests.conftest import root_ca_body, sub_ca_body
from tests.wiring.conftest import Wiring


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """Overrides tests/conftest.py's: the runtime sets the process environment (endpoint, credentials)."""


@pytest.fixture(scope="module")
def wiring() -> Iterator[Wiring]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CERTWRIGHT_ACME_CHECKER", "accept-all")
        with local_runtime(start_router=False, sweep_seconds=0, parameters={"CrlBatchSeconds": "0"}) as rt:
            yield Wiring(rt)


def _problem(reply: Any) -> str:
    assert reply.header("Content-Type") == "application/problem+json", (reply.status, reply.body)
    assert reply.header("Replay-Nonce")
    return str(reply.json()["type"]).removeprefix("urn:ietf:params:acme:error:")


def _authorize(w: Wiring, client: AcmeClient, order: dict[str, Any]) -> None:
    for authz_url in order["authorizations"]:
        authz = client.get(authz_url).json()
        http = next(c for c in authz["challenges"] if c["type"] == "http-01")
        assert client.post(http["url"], {}).status == 200
    deadline = time.monotonic() + 120
    for authz_url in order["authorizations"]:
        while client.get(authz_url).json()["status"] != "valid":
            assert time.monotonic() < deadline, "the validator never decided"
            w.settle()


def _issue(w: Wiring, client: AcmeClient, names: list[str], **extra: str) -> tuple[str, str]:
    created = client.new_order(names, **extra)
    assert created.status == 201, created.body
    order_url = str(created.header("Location"))
    _authorize(w, client, created.json())
    ready = client.get(order_url).json()
    assert ready["status"] == "ready", ready
    der, _ = csr_der(names)
    finalized = client.post(ready["finalize"], {"csr": b64(der)})
    assert finalized.status == 200, finalized.body
    chain = client.get(finalized.json()["certificate"])
    assert chain.status == 200 and chain.header("Content-Type") == "application/pem-certificate-chain"
    return order_url, chain.body.decode()


def _openssl_verify(tmp: Path, root_pem: str, chain_pem: str) -> None:
    certs = x509.load_pem_x509_certificates(chain_pem.encode())
    (tmp / "root.pem").write_text(root_pem)
    (tmp / "leaf.pem").write_bytes(certs[0].public_bytes(serialization.Encoding.PEM))
    (tmp / "chain.pem").write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs[1:]))
    done = subprocess.run(
        ["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "leaf.pem"],
        cwd=tmp,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_eab_order_http01_finalize_renew_revoke(wiring: Wiring, tmp_path: Path) -> None:
    w = wiring
    root = w.post("/certificate-authorities", root_ca_body())
    issuing = w.post(
        "/certificate-authorities",
        sub_ca_body(root["id"], rules={"nameConstraint": {"permittedDnsSubtrees": ["acme.example"]}}),
    )
    w.settle()
    eab = w.post("/acme/eab-keys", {"certificateAuthorityId": issuing["id"]})
    assert set(eab) >= {"keyId", "hmacKey"}
    status, listed = w.call("GET", "/acme/eab-keys")
    assert status == 200 and "hmacKey" not in listed["items"][0]

    client = AcmeClient(f"{w.rt.api_url}/acme/{issuing['id']}/directory", http_send)
    assert client.directory["meta"]["externalAccountRequired"] is True
    assert _problem(client.new_account(None)) == "externalAccountRequired"
    account = client.new_account((eab["keyId"], eab["hmacKey"]))
    assert account.status == 201, account.body

    _, first = _issue(w, client, ["www.acme.example", "api.acme.example"])
    _openssl_verify(
        tmp_path, w.call("GET", f"/certificate-authorities/{root['id']}/bundle")[1]["certificatePem"], first
    )
    leaf = x509.load_pem_x509_certificates(first.encode())[0]
    status, found = w.call("GET", f"/certificates?serialNumber={format(leaf.serial_number, 'x')}")
    assert status == 200, found
    (certificate,) = found["items"]
    assert certificate["configType"] == "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA"

    # Renewal, as an ARI client asks for it (RFC 9773 `replaces`): the same names again are a new version of the
    # same certificate, and the first certificate is replaced once only.
    from certwright.acme.ari import cert_id

    _, second = _issue(w, client, ["api.acme.example", "www.acme.example"], replaces=cert_id(leaf))
    twice = client.new_order(["www.acme.example"], replaces=cert_id(leaf))
    assert (twice.status, _problem(twice)) == (409, "alreadyReplaced"), twice.body
    renewed = x509.load_pem_x509_certificates(second.encode())[0]
    status, again = w.call("GET", f"/certificates/{certificate['id']}")
    assert status == 200 and again["currentVersion"]["versionNumber"] == 2, again
    assert again["currentVersion"]["serialNumber"].replace(":", "").lower().lstrip("0") == format(
        renewed.serial_number, "x"
    )

    # ARI: the superseded first certificate should be renewed now; the current one later.
    old_window = client.send("GET", client.directory["renewalInfo"] + "/" + cert_id(leaf), None, {})
    new_window = client.send("GET", client.directory["renewalInfo"] + "/" + cert_id(renewed), None, {})
    assert old_window.status == new_window.status == 200
    assert old_window.json()["suggestedWindow"]["end"] < new_window.json()["suggestedWindow"]["start"]

    # Revocation by the account: the serial reaches the CRL.
    der = renewed.public_bytes(serialization.Encoding.DER)
    revoked = client.post(client.directory["revokeCert"], {"certificate": b64(der), "reason": 4})
    assert revoked.status == 200, revoked.body
    bucket = w.rt.deployment.resources["PkiBucket"].ref
    s3 = w.session.client("s3")
    deadline = time.monotonic() + 120
    while True:
        w.settle()
        try:
            crl = x509.load_der_x509_crl(s3.get_object(Bucket=bucket, Key=f"crl/{issuing['id']}/0.crl")["Body"].read())
            if crl.get_revoked_certificate_by_serial_number(renewed.serial_number) is not None:
                break
        except s3.exceptions.NoSuchKey:
            pass
        assert time.monotonic() < deadline, "the revoked serial never reached the CRL"
        time.sleep(0.5)

    # The account's orders list (RFC 8555 §7.1.2.1) names its two orders (the refused replacement made none).
    orders = client.get(account.json()["orders"])
    assert orders.status == 200, orders.body
    assert len(orders.json()["orders"]) == 2, orders.body
    # keyCompromise (reason 1) also marks the key compromised: the revocation's whole transaction is allowed.
    compromised = client.post(
        client.directory["revokeCert"], {"certificate": b64(leaf.public_bytes(serialization.Encoding.DER)), "reason": 1}
    )
    assert compromised.status == 200, compromised.body


def test_bad_inputs_are_problem_documents_with_no_side_effect(wiring: Wiring) -> None:
    w = wiring
    root = w.post("/certificate-authorities", root_ca_body(name="bad-root"))
    issuing = w.post(
        "/certificate-authorities",
        sub_ca_body(root["id"], name="bad-issuing", rules={"nameConstraint": {"permittedDnsSubtrees": ["ok.example"]}}),
    )
    eab = w.post("/acme/eab-keys", {})
    client = AcmeClient(f"{w.rt.api_url}/acme/{issuing['id']}/directory", http_send)
    assert client.new_account((eab["keyId"], eab["hmacKey"])).status == 201
    dynamodb = w.session.client("dynamodb")

    def nonce_free_rows() -> int:
        items = dynamodb.scan(TableName=w.table, ProjectionExpression="pk")["Items"]
        return sum(1 for i in items if not i["pk"]["S"].startswith("ACMENONCE#"))

    url = client.directory["newOrder"]
    good = {"identifiers": [{"type": "dns", "value": "a.ok.example"}]}
    # A replayed nonce: badNonce, with a fresh Replay-Nonce to retry with.
    body = jws(client.key, good, {"nonce": client.nonce(), "url": url, "kid": client.kid})
    assert client.raw_post(url, body).status == 201
    refusals = {
        "badNonce": lambda: client.raw_post(url, body),
        # Names outside the CA's name constraints, checked up front.
        "rejectedIdentifier": lambda: client.new_order(["www.elsewhere.example"]),
        # A url that is not the one the request went to.
        "unauthorized": lambda: client.post(url, good, header={"url": url + "x"}),
        # An unknown account.
        "accountDoesNotExist": lambda: client.post(url, good, header={"kid": f"{client.kid}0"}),
        # An algorithm Certwright refuses ("none").
        "badSignatureAlgorithm": lambda: client.post(url, good, header={"alg": "none"}),
        # Not JOSE.
        "malformed": lambda: client.raw_post(url, body, content_type="application/json"),
    }
    for expected, send in refusals.items():
        before = nonce_free_rows()
        reply = send()
        assert (_problem(reply), reply.header("Replay-Nonce") is not None) == (expected, True), reply.body
        assert nonce_free_rows() == before, f"{expected} wrote something"

    # A finalize before the order is ready; a CSR for other names once it is.
    order = client.new_order(["c.ok.example"])
    assert order.status == 201
    before = nonce_free_rows()
    der, _ = csr_der(["c.ok.example"])
    assert _problem(client.post(order.json()["finalize"], {"csr": b64(der)})) == "orderNotReady"
    assert nonce_free_rows() == before
    _authorize(w, client, order.json())
    other, _ = csr_der(["d.ok.example"])
    before = nonce_free_rows()
    assert _problem(client.post(order.json()["finalize"], {"csr": b64(other)})) == "badCSR"
    assert nonce_free_rows() == before
    assert client.get(str(order.header("Location"))).json()["status"] == "ready"

    # A revoked EAB key: the accounts bound through it stop working.
    status, _ = w.call("DELETE", f"/acme/eab-keys/{eab['keyId']}")
    assert status == 200
    assert _problem(client.new_order(["e.ok.example"])) == "unauthorized"


def test_the_table_ttl_drops_nonces_and_abandoned_orders_never_issued_ones(wiring: Wiring) -> None:
    w = wiring
    dynamodb = w.session.client("dynamodb")
    assert dynamodb.describe_time_to_live(TableName=w.table)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "ttl",
    }

    def item(pk: str, sk: str) -> dict[str, Any]:
        return dict(
            dynamodb.get_item(TableName=w.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)["Item"]
        )

    def ttl(pk: str, sk: str) -> int | None:
        found = item(pk, sk).get("ttl")
        return None if found is None else int(found["N"])

    root = w.post("/certificate-authorities", root_ca_body(name="ttl-root"))
    issuing = w.post(
        "/certificate-authorities",
        sub_ca_body(
            root["id"], name="ttl-issuing", rules={"nameConstraint": {"permittedDnsSubtrees": ["ttl.example"]}}
        ),
    )
    w.settle()
    eab = w.post("/acme/eab-keys", {})
    client = AcmeClient(f"{w.rt.api_url}/acme/{issuing['id']}/directory", http_send)
    assert client.new_account((eab["keyId"], eab["hmacKey"])).status == 201
    account_id = str(client.kid).rsplit("/", 1)[-1]
    assert ttl(f"ACMEACCT#{account_id}", "A") is None, "an account stays"

    nonce = client.nonce()
    row = item(f"ACMENONCE#{nonce}", "N")
    assert int(row["ttl"]["N"]) == int(row["expires_at"]["N"]) + 86400, "a day after the nonce expires"

    pending = client.new_order(["pending.ttl.example"])
    assert pending.status == 201, pending.body
    order_id = str(pending.header("Location")).rsplit("/", 1)[-1]
    expires = datetime.fromisoformat(pending.json()["expires"].replace("Z", "+00:00"))
    abandoned = int((expires + timedelta(days=30)).timestamp())
    assert ttl(f"ACMEORDER#{order_id}", "O") == ttl(f"ACMEORDERS#{account_id}", order_id) == abandoned
    authz_id = pending.json()["authorizations"][0].rsplit("/", 1)[-1]
    assert ttl(f"ACMEAUTHZ#{authz_id}", "Z") is not None

    order_url, _ = _issue(w, client, ["issued.ttl.example"])
    issued = client.get(order_url).json()
    assert issued["status"] == "valid"
    assert ttl(f"ACMEORDER#{order_url.rsplit('/', 1)[-1]}", "O") is None, "an issued order stays"
    assert ttl(f"ACMEORDERS#{account_id}", order_url.rsplit("/", 1)[-1]) is None
    assert all(ttl(f"ACMEAUTHZ#{a.rsplit('/', 1)[-1]}", "Z") is None for a in issued["authorizations"])
