"""ACME orders left processing by a finalize that died, through the real wiring: the local runtime's ACME server
function killed at an AWS call (tests/crash/crashes.py: the gateway drops the connection, as API Gateway would),
once before KMS signs and once after the version is published; once FINALIZE_BOUND has passed, the next
POST-as-GET of each order decides it — invalid with its `replaces` claim released (a new replacing order
finalizes), or valid with the certificate the dead finalize published."""

from __future__ import annotations

import http.client
import urllib.error
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from certwright.acme import resources
from certwright.acme.ari import cert_id
from cryptography import x509

from infra.runtime import local_runtime
from tests.acme.client import AcmeClient, b64, csr_der, http_send
from tests.acme.test_acme_wiring import _authorize, _issue, _problem
from tests.conftest import root_ca_body, sub_ca_body
from tests.crash.crashes import CrashHook, When
from tests.wiring.conftest import Wiring


class Hooked(boto3.session.Session):
    """Every session made in this process (the ACME function's among them) carries the crash hook."""

    hook = CrashHook()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        Hooked.hook.install(self)


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """Overrides tests/conftest.py's: the runtime sets the process environment (endpoint, credentials)."""


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Wiring, CrashHook]]:
    monkeypatch.setattr(boto3.session, "Session", Hooked)
    monkeypatch.setenv("CERTWRIGHT_ACME_CHECKER", "accept-all")
    Hooked.hook = CrashHook()
    with local_runtime(start_router=False, sweep_seconds=0, parameters={"CrlBatchSeconds": "0"}) as rt:
        yield Wiring(rt), Hooked.hook


def _leaf(chain_pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificates(chain_pem.encode())[0]


def _ready(w: Wiring, client: AcmeClient, names: list[str], replaces: str) -> tuple[str, dict[str, Any]]:
    created = client.new_order(names, replaces=replaces)
    assert created.status == 201, created.body
    _authorize(w, client, created.json())
    url = str(created.header("Location"))
    ready = client.get(url).json()
    assert ready["status"] == "ready", ready
    return url, ready


def _killed_finalize(
    client: AcmeClient, hook: CrashHook, ready: dict[str, Any], names: list[str], at: int, when: When
) -> str:
    """Finalize with the ACME function killed at its AWS call `at`: the connection is dropped."""
    der, _ = csr_der(names)
    hook.arm(at, when)
    try:
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
            client.post(ready["finalize"], {"csr": b64(der)})
    finally:
        hook.disarm()
    assert hook.fired, "the finalize was not killed"
    return hook.fired


# The killed handler's thread ends with ProcessKilled, as intended (the gateway drops the connection).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_orders_whose_finalize_died_are_decided_by_their_next_read(
    wired: tuple[Wiring, CrashHook], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, hook = wired
    root = w.post("/certificate-authorities", root_ca_body(name="stuck-root"))
    issuing = w.post("/certificate-authorities", sub_ca_body(root["id"], name="stuck-issuing"))
    w.settle()
    eab = w.post("/acme/eab-keys", {"certificateAuthorityId": issuing["id"]})
    client = AcmeClient(f"{w.rt.api_url}/acme/{issuing['id']}/directory", http_send)
    assert client.new_account((eab["keyId"], eab["hmacKey"])).status == 201
    a, b, c = ["a.stuck.example"], ["b.stuck.example"], ["c.stuck.example"]
    first_a, first_b = _leaf(_issue(w, client, a)[1]), _leaf(_issue(w, client, b)[1])

    # The AWS calls of a replacing finalize (the function is warm: its issuer is cached), to aim the crashes.
    _, warm = _issue(w, client, c)
    _, ready = _ready(w, client, c, cert_id(_leaf(warm)))
    der, _ = csr_der(c)
    answer, calls = hook.record(lambda: client.post(ready["finalize"], {"csr": b64(der)}))
    assert answer.status == 200, answer.body
    signed = calls.index("kms.Sign")
    published = calls.index("dynamodb.TransactWriteItems", signed)

    # A: killed before KMS signs (the version is reserved, never published). B: killed once it is published.
    url_a, ready_a = _ready(w, client, a, cert_id(first_a))
    assert "kms.Sign" in _killed_finalize(client, hook, ready_a, a, signed, When.BEFORE)
    url_b, ready_b = _ready(w, client, b, cert_id(first_b))
    assert "TransactWriteItems" in _killed_finalize(client, hook, ready_b, b, published, When.AFTER)
    assert client.get(url_a).json()["status"] == client.get(url_b).json()["status"] == "processing"
    taken = client.new_order(a, replaces=cert_id(first_a))
    assert (taken.status, _problem(taken)) == (409, "alreadyReplaced"), "the dead finalize still holds the claim"

    # The bound passes (the real clock would take FINALIZE_BOUND; the handlers run in this process).
    monkeypatch.setattr(resources, "FINALIZE_BOUND", timedelta(0))
    decided_a = client.get(url_a).json()
    assert decided_a["status"] == "invalid", decided_a
    assert decided_a["error"]["type"] == "urn:ietf:params:acme:error:serverInternal"
    _, again = _ready(w, client, a, cert_id(first_a))  # the claim is released: A can be replaced now
    der_a, _ = csr_der(a)
    renewed_a = client.post(again["finalize"], {"csr": b64(der_a)})
    assert renewed_a.status == 200 and renewed_a.json()["status"] == "valid", renewed_a.body
    leaf_a = _leaf(client.get(renewed_a.json()["certificate"]).body.decode())
    certificate_a = _certificate_of(w, first_a)
    assert certificate_a["currentVersion"]["versionNumber"] == 3, "v2 was the dead finalize's reservation"
    assert _serial(certificate_a) == format(leaf_a.serial_number, "x")

    decided_b = client.get(url_b).json()
    assert decided_b["status"] == "valid" and "error" not in decided_b, decided_b
    leaf_b = _leaf(client.get(decided_b["certificate"]).body.decode())
    certificate_b = _certificate_of(w, first_b)
    assert certificate_b["currentVersion"]["versionNumber"] == 2
    assert _serial(certificate_b) == format(leaf_b.serial_number, "x"), "the certificate the dead finalize issued"
    taken = client.new_order(b, replaces=cert_id(first_b))
    assert (taken.status, _problem(taken)) == (409, "alreadyReplaced"), "the valid order replaced it"


def _certificate_of(w: Wiring, leaf: x509.Certificate) -> dict[str, Any]:
    status, found = w.call("GET", f"/certificates?serialNumber={format(leaf.serial_number, 'x')}")
    assert status == 200, found
    (listed,) = found["items"]
    status, certificate = w.call("GET", f"/certificates/{listed['id']}")
    assert status == 200, certificate
    return dict(certificate)


def _serial(certificate: dict[str, Any]) -> str:
    return str(certificate["currentVersion"]["serialNumber"]).replace(":", "").lower().lstrip("0")
