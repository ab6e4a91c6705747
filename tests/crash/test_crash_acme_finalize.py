"""An ACME finalize of a replacing order (RFC 9773 `replaces`) killed at every AWS call, and the read that decides
it once FINALIZE_BOUND has passed, killed at every call too: afterwards the order is valid with a published
certificate (and holds the claim), or invalid and holds no claim that counts (a new replacing order is accepted),
or still ready (killed before it became processing: finalizing it again works). I1-I7 hold after every case.
Through the ACME edge on the real container over the embedded AWS.

What a killed request leaves stored is the effect of its first k calls, for every k: killed before call 0, or after
call k - 1 (killed before call k leaves the same, nothing is stored in between), so those are the cases."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from certwright import bootstrap
from certwright.acme.ari import cert_id
from certwright.acme.resources import FINALIZE_BOUND
from cryptography import x509

from infra.api_events import LOCAL_ADMIN
from tests.acme.client import AcmeClient, b64, csr_der
from tests.acme.conftest import BASE, edge_send
from tests.conftest import Aws, Clock, Hierarchy
from tests.crash.crashes import CrashHook, When, killed_at
from tests.crash.invariants import assert_invariants
from tests.fakes import FakeChallengeChecker

pytestmark = pytest.mark.fresh(reason="the crash hook hooks the session before the container's clients are made")

NAMES = ["www.example.com"]
PAST_THE_BOUND = FINALIZE_BOUND + timedelta(seconds=1)


@dataclass
class Acme:
    container: bootstrap.Container
    client: AcmeClient
    leaf: x509.Certificate | None = None  # the newest published version: what the next order replaces

    def ready(self) -> tuple[str, dict[str, Any]]:
        extra = {} if self.leaf is None else {"replaces": cert_id(self.leaf)}
        created = self.client.new_order(NAMES, **extra)
        assert created.status == 201, created.body
        for authz_url in created.json()["authorizations"]:
            http = next(c for c in self.client.get(authz_url).json()["challenges"] if c["type"] == "http-01")
            assert self.client.post(http["url"], {}).status == 200
            self.container.acme_validator.validate(authz_url.rsplit("/", 1)[1], "http-01")
        url = str(created.header("Location"))
        ready = self.client.get(url).json()
        assert ready["status"] == "ready", ready
        return url, ready

    def finalize(self, ready: dict[str, Any]) -> Any:
        der, _ = csr_der(NAMES)
        return self.client.post(ready["finalize"], {"csr": b64(der)})

    def issued(self, order: dict[str, Any]) -> None:
        chain = self.client.get(order["certificate"])
        assert chain.status == 200, chain.body
        self.leaf = x509.load_pem_x509_certificates(chain.body)[0]


def cases(calls: list[str]) -> list[tuple[int, When]]:
    """Every prefix of the calls a request makes: none (before call 0), then up to and including each call."""
    return [(0, When.BEFORE), *((index, When.AFTER) for index in range(len(calls)))]


def claim_of(aws: Aws, leaf: x509.Certificate) -> str | None:
    item = aws.dynamodb.get_item(
        TableName=aws.settings.table_name, Key={"pk": {"S": f"ACMEREPLACED#{cert_id(leaf)}"}, "sk": {"S": "R"}}
    ).get("Item")
    return None if item is None else str(json.loads(item["data"]["S"])["orderId"])


@pytest.fixture
def acme(
    crash: CrashHook, container: bootstrap.Container, hierarchy: Hierarchy, monkeypatch: pytest.MonkeyPatch
) -> Acme:
    """An account with a certificate for NAMES (the issuer warm: every later finalize makes the same calls)."""
    monkeypatch.setattr(container.acme_validator, "_checker", FakeChallengeChecker())  # every challenge holds
    created = container.eab_keys.create(LOCAL_ADMIN, None)
    client = AcmeClient(f"{BASE}/acme/{hierarchy.issuing['id']}/directory", edge_send(container))
    assert client.new_account((created.key.key_id, created.hmac_key)).status == 201
    acme = Acme(container, client)
    for _ in range(2):  # a certificate, then a replacement: the shape of every finalize below
        _, ready = acme.ready()
        finalized = acme.finalize(ready)
        assert finalized.status == 200, finalized.body
        acme.issued(finalized.json())
    return acme


def check(acme: Acme, aws: Aws, url: str, where: str, *, released: bool = True) -> None:
    """The order as its next read (past the bound) decides it: valid with a published certificate and the claim,
    invalid with no claim (`released`; else at most its own, which counts as free), or ready (finalized again).
    Then the certificate can be replaced (the next case's newOrder names it)."""
    assert acme.leaf is not None
    replaced, order_id = acme.leaf, url.rsplit("/", 1)[1]
    order = acme.client.get(url).json()
    if order["status"] == "ready":
        assert claim_of(aws, replaced) in (None, order_id), where
        finalized = acme.finalize(order)
        assert finalized.status == 200, (where, finalized.body)
        order = finalized.json()
    assert order["status"] in ("valid", "invalid"), (where, order)
    if order["status"] == "valid":
        assert claim_of(aws, replaced) is not None, f"{where}: a valid replacement holds its claim"
        acme.issued(order)
    else:
        assert order["error"]["type"] == "urn:ietf:params:acme:error:serverInternal", (where, order)
        allowed = (None,) if released else (None, order_id)
        assert claim_of(aws, replaced) in allowed, f"{where}: an invalid order holds a claim"
    assert_invariants(aws, repaired=False, context=where)


def first_issued(crash: CrashHook, acme: Acme) -> list[str]:
    """Issue the certificate the cases replace, recording the AWS calls of its clean finalize."""
    _, ready = acme.ready()
    finalized, calls = crash.record(lambda: acme.finalize(ready))
    assert finalized.status == 200, finalized.body
    acme.issued(finalized.json())
    return calls


def test_a_replacing_finalize_killed_at_any_call_is_decided_by_the_next_read(
    crash: CrashHook, aws: Aws, clock: Clock, acme: Acme
) -> None:
    calls = first_issued(crash, acme)
    outcomes: set[str] = set()
    for index, when in cases(calls):
        url, ready = acme.ready()
        where = killed_at(crash, index, when, lambda r=ready: acme.finalize(r))
        clock.advance(seconds=PAST_THE_BOUND.total_seconds())
        outcomes.add(acme.client.get(url).json()["status"])
        check(acme, aws, url, where)
    assert outcomes == {"ready", "valid", "invalid"}, f"not every outcome was met (this proves less): {outcomes}"


def test_the_read_that_decides_a_stuck_order_killed_at_any_call_is_decided_by_the_next(
    crash: CrashHook, aws: Aws, clock: Clock, acme: Acme
) -> None:
    calls = first_issued(crash, acme)
    signs = calls.index("kms.Sign")

    def stuck() -> str:
        """An order whose finalize was killed as KMS was about to sign (nothing published), now past the bound."""
        url, ready = acme.ready()
        killed_at(crash, signs, When.BEFORE, lambda: acme.finalize(ready))
        clock.advance(seconds=PAST_THE_BOUND.total_seconds())
        return url

    url = stuck()
    decided, reads = crash.record(lambda: acme.client.get(url))
    assert decided.json()["status"] == "invalid", decided.body
    check(acme, aws, url, "a clean read")
    for index, when in cases(reads):
        url = stuck()
        where = "read " + killed_at(crash, index, when, lambda u=url: acme.client.get(u))
        check(acme, aws, url, where, released=False)
