"""ACME orders a finalize left processing (it died) on the fakes: past FINALIZE_BOUND the next read decides them,
valid with the certificate the finalize published or invalid (serverInternal) with the `replaces` claim released,
and a finalize that finishes while a read decides its order wins."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from certwright.acme.ari import cert_id
from certwright.acme.resources import FINALIZE_BOUND
from cryptography import x509

from tests.acme.client import AcmeClient, b64, csr_der
from tests.acme.conftest import Acme, problem
from tests.acme.test_server_flow import issue
from tests.conftest import Clock
from tests.crash.crashes import ProcessKilled

NAMES = ["www.example.com"]


def _ready(acme: Acme, client: AcmeClient, names: list[str], **extra: str) -> tuple[str, dict[str, Any]]:
    """A new order, its challenges validated: its URL and its (ready) document."""
    created = client.new_order(names, **extra)
    assert created.status == 201, created.body
    url = str(created.header("Location"))
    for authz_url in created.json()["authorizations"]:
        http = next(c for c in client.get(authz_url).json()["challenges"] if c["type"] == "http-01")
        client.post(http["url"], {})
    acme.validate_all()
    ready = client.get(url).json()
    assert ready["status"] == "ready", ready
    return url, ready


def _finalize(client: AcmeClient, ready: dict[str, Any], names: list[str]) -> Any:
    der, _ = csr_der(names)
    return client.post(ready["finalize"], {"csr": b64(der)})


def _killed(*_: object, **__: object) -> None:
    raise ProcessKilled("the finalize's invocation stopped here")


def _finalize_dies_issuing(
    acme: Acme, client: AcmeClient, ready: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finalize `ready` with the process killed as issuance starts: the order is left processing, nothing issued."""
    with monkeypatch.context() as patch:
        patch.setattr(acme.container.issuance, "create_version", _killed)
        with pytest.raises(ProcessKilled):
            _finalize(client, ready, NAMES)


def _replaced(acme: Acme, client: AcmeClient) -> tuple[str, str]:
    """A certificate issued to the client's account: its Certwright id and its renewalInfo CertID."""
    leaf = x509.load_pem_x509_certificates(str(issue(acme, client, NAMES)["pem"]).encode())[0]
    return next(iter(acme.world.acme.links.values())), cert_id(leaf)


def test_an_order_whose_finalize_died_before_issuing_is_invalid_and_frees_its_replacement(
    acme: Acme, clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = acme.registered()
    certificate_id, replaced = _replaced(acme, client)
    url, ready = _ready(acme, client, NAMES, replaces=replaced)
    _finalize_dies_issuing(acme, client, ready, monkeypatch)
    order_id = url.rsplit("/", 1)[1]
    assert acme.world.acme.replacement_of(replaced) == order_id, "the claim the finalize took is still held"

    clock.advance(seconds=FINALIZE_BOUND.total_seconds())
    decided = client.get(url).json()
    assert decided["status"] == "invalid", decided
    assert decided["error"]["type"] == "urn:ietf:params:acme:error:serverInternal"
    assert "did not complete" in decided["error"]["detail"]
    assert "certificate" not in decided
    assert acme.world.acme.replacement_of(replaced) is None, "released"
    assert [r.getMessage() for r in caplog.records if "finalize died" in r.getMessage()] == [
        "order decided after its finalize died"
    ]
    assert problem(_finalize(client, decided, NAMES)) == "orderNotReady", "invalid is final"

    # The certificate can be replaced again: a new order names it and finalizes, a new version of it.
    _, again = _ready(acme, client, NAMES, replaces=replaced)
    finalized = _finalize(client, again, NAMES)
    assert finalized.json()["status"] == "valid", finalized.body
    certificate = acme.container.certificates.get(certificate_id)
    assert certificate.current_version_number == 2


def test_an_order_not_yet_past_the_bound_stays_processing_and_keeps_its_claim(
    acme: Acme, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = acme.registered()
    _, replaced = _replaced(acme, client)
    url, ready = _ready(acme, client, NAMES, replaces=replaced)
    _, rival = _ready(acme, client, NAMES, replaces=replaced)
    _finalize_dies_issuing(acme, client, ready, monkeypatch)
    clock.advance(seconds=FINALIZE_BOUND.total_seconds() - 1)  # its finalize may still be running
    assert client.get(url).json()["status"] == "processing"
    taken = client.new_order(NAMES, replaces=replaced)
    assert (taken.status, problem(taken)) == (409, "alreadyReplaced")
    refused = _finalize(client, rival, NAMES)
    assert (refused.status, problem(refused)) == (409, "alreadyReplaced")
    assert acme.world.acme.replacement_of(replaced) == url.rsplit("/", 1)[1]

    clock.advance(seconds=1)  # now it is decided wherever it is met: here, by the rival's finalize
    assert _finalize(client, rival, NAMES).json()["status"] == "valid"
    assert client.get(url).json()["status"] == "invalid"


def test_an_order_whose_finalize_died_after_issuing_is_valid_with_that_certificate(
    acme: Acme, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = acme.registered()
    certificate_id, replaced = _replaced(acme, client)
    url, ready = _ready(acme, client, NAMES, replaces=replaced)
    store = acme.world.acme
    real_update = store.update_order

    def dies_before_valid(order: Any, expected: Any) -> None:
        if order.status.value == "valid":
            _killed()
        real_update(order, expected)

    with monkeypatch.context() as patch:
        patch.setattr(store, "update_order", dies_before_valid)
        with pytest.raises(ProcessKilled):
            _finalize(client, ready, NAMES)
    assert client.get(url).json()["status"] == "processing"
    certificate = acme.container.certificates.get(certificate_id)
    assert certificate.current_version_number == 2, "the renewal was published before the finalize died"

    clock.advance(minutes=FINALIZE_BOUND.total_seconds() / 60 + 1)
    decided = client.get(url).json()
    assert decided["status"] == "valid", decided
    assert "error" not in decided
    chain = client.get(decided["certificate"])
    assert chain.status == 200
    leaf = x509.load_pem_x509_certificates(chain.body)[0]
    version = acme.world.memory.versions[(certificate_id, 2)].version
    assert format(leaf.serial_number, "x") == version.serial_number
    # It replaced the certificate: the claim stays.
    assert store.replacement_of(replaced) == url.rsplit("/", 1)[1]
    assert problem(client.new_order(NAMES, replaces=replaced)) == "alreadyReplaced"


def test_a_new_certificate_whose_finalize_died_before_linking_it_is_the_accounts_next_renewal(
    acme: Acme, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = acme.registered()
    url, ready = _ready(acme, client, NAMES)
    with monkeypatch.context() as patch:
        patch.setattr(acme.world.acme, "link_certificate", _killed)
        with pytest.raises(ProcessKilled):
            _finalize(client, ready, NAMES)
    assert not acme.world.acme.links
    clock.advance(seconds=FINALIZE_BOUND.total_seconds())
    decided = client.get(url).json()
    assert decided["status"] == "valid", decided
    assert client.get(decided["certificate"]).status == 200
    (certificate_id,) = acme.world.acme.links.values()
    assert acme.world.acme.orders[url.rsplit("/", 1)[1]].certificate_id == certificate_id
    # The next order for the names renews that certificate (a new version), as after a finalize that finished.
    _, again = _ready(acme, client, NAMES)
    assert _finalize(client, again, NAMES).json()["status"] == "valid"
    assert acme.container.certificates.get(certificate_id).current_version_number == 2


def test_a_finalize_that_finishes_while_a_read_decides_its_order_wins(
    acme: Acme, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finalize is slow: past the bound a read finds nothing issued and would fail the order, but the finalize
    publishes and writes valid between that read and its write; the conditional write leaves the order valid."""
    client = acme.registered()
    certificate_id, replaced = _replaced(acme, client)
    url, ready = _ready(acme, client, NAMES, replaces=replaced)
    issuance, store = acme.container.issuance, acme.world.acme
    real_create_version, real_change_order = issuance.create_version, store.change_order
    issuing, finalized = threading.Event(), threading.Event()
    answers: list[Any] = []

    def slow_create_version(*args: Any, **kwargs: Any) -> Any:
        issuing.set()
        assert finalized.wait(30), "the read never let the finalize go on"
        return real_create_version(*args, **kwargs)

    def finalize_goes_on_first(order_id: str, change: Any) -> Any:
        finalized.set()  # the finalize issues and writes its order now, before this read writes
        finalizing.join(30)
        return real_change_order(order_id, change)

    monkeypatch.setattr(issuance, "create_version", slow_create_version)
    monkeypatch.setattr(store, "change_order", finalize_goes_on_first)
    finalizing = threading.Thread(target=lambda: answers.append(_finalize(client, ready, NAMES)))
    finalizing.start()
    assert issuing.wait(30)
    clock.advance(seconds=FINALIZE_BOUND.total_seconds())
    read = client.get(url).json()
    finalizing.join(30)
    assert not finalizing.is_alive()
    assert json.loads(answers[0].body)["status"] == "valid", answers[0].body
    assert read["status"] == "valid" and read["certificate"].endswith(url.rsplit("/", 1)[1]), read
    assert store.orders[url.rsplit("/", 1)[1]].version_number == 2
    assert store.replacement_of(replaced) == url.rsplit("/", 1)[1], "the claim of the order that replaced it stays"
    assert acme.container.certificates.get(certificate_id).current_version_number == 2


def test_a_read_that_dies_after_failing_the_order_leaves_no_claim_that_counts(
    acme: Acme, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = acme.registered()
    _, replaced = _replaced(acme, client)
    url, ready = _ready(acme, client, NAMES, replaces=replaced)
    _finalize_dies_issuing(acme, client, ready, monkeypatch)
    clock.advance(seconds=FINALIZE_BOUND.total_seconds() + timedelta(hours=1).total_seconds())
    with monkeypatch.context() as patch:
        patch.setattr(acme.world.acme, "release_replacement", _killed)
        with pytest.raises(ProcessKilled):
            client.get(url)
    assert acme.world.acme.orders[url.rsplit("/", 1)[1]].status.value == "invalid"
    assert acme.world.acme.replacement_of(replaced) is not None, "the row is still there..."
    _, again = _ready(acme, client, NAMES, replaces=replaced)  # ...but an invalid order's claim is free
    assert _finalize(client, again, NAMES).json()["status"] == "valid"
