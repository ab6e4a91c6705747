"""ACME rules on the fakes: EAB and account states, the account's principal under the policies, key rollover,
revocation by the certificate's key, challenge validation with retries and a deadline, ARI after a revocation.
Each refusal is a problem document and leaves the ACME store as it was."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from certwright.acme.ari import cert_id
from certwright.acme.resources import Status
from certwright.errors import TransientError
from certwright.ports.acme_challenges import ChallengeResult
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from infra.api_events import LOCAL_ADMIN
from tests.acme.client import AcmeClient, b64, csr_der, jwk_of, jws
from tests.acme.conftest import BASE, Acme, edge_send, problem
from tests.acme.test_server_flow import issue
from tests.conftest import Clock
from tests.fakes import FakeAcmeStore, FakeChallengeChecker

STRANGER = "arn:aws:iam::123456789012:role/stranger"


def _state(store: FakeAcmeStore) -> dict[str, object]:
    """Everything but the nonces (spent by every request, refused or not)."""
    return copy.deepcopy({k: v for k, v in vars(store).items() if k != "nonces"})


def test_new_account_needs_eab_and_answers_an_existing_key_with_its_account(acme: Acme) -> None:
    client = acme.client()
    before = _state(acme.world.acme)
    assert problem(client.new_account(None)) == "externalAccountRequired"
    assert problem(client.new_account(None, onlyReturnExisting=True)) == "accountDoesNotExist"
    key_id, hmac_key = acme.eab()
    assert problem(client.new_account((key_id, b64(b"wrong" * 7)))) == "unauthorized"
    assert problem(client.new_account(("eab-unknown", hmac_key))) == "unauthorized"
    other_ca = acme.eab(ca_id=next(ca for ca in acme.world.memory.authorities if ca != acme.ca_id))
    assert problem(client.new_account(other_ca)) == "unauthorized"
    acme.container.eab_keys.revoke(key_id, "arn:aws:iam::123456789012:user/certwright-local-admin")
    assert problem(client.new_account((key_id, hmac_key))) == "unauthorized"
    assert {k: v for k, v in _state(acme.world.acme).items() if k != "eab"} == {
        k: v for k, v in before.items() if k != "eab"
    }
    created = client.new_account(acme.eab())
    assert created.status == 201 and created.header("Location")
    again = acme.client(key=client.key).new_account(None, onlyReturnExisting=True)
    assert (again.status, again.header("Location")) == (200, created.header("Location"))


def test_an_account_acts_as_its_principal(acme: Acme) -> None:
    stranger = acme.client()
    assert stranger.new_account(acme.eab(STRANGER)).status == 201
    before = _state(acme.world.acme)
    assert problem(stranger.new_order(["www.example.com"])) == "unauthorized"
    assert _state(acme.world.acme) == before
    # The owner's account gets a certificate; the stranger may not revoke it.
    owner = acme.registered()
    result = issue(acme, owner, ["www.example.com"])
    leaf = x509.load_pem_x509_certificates(str(result["pem"]).encode())[0]
    der = b64(leaf.public_bytes(serialization.Encoding.DER))
    assert problem(stranger.post(stranger.directory["revokeCert"], {"certificate": der})) == "unauthorized"
    assert not acme.world.memory.revoked


def test_names_outside_the_constraints_and_identifier_types(acme: Acme) -> None:
    client = acme.registered()
    before = _state(acme.world.acme)
    assert problem(client.new_order(["www.elsewhere.org"])) == "rejectedIdentifier"
    assert problem(client.new_order(["-bad-.example.com"])) == "rejectedIdentifier"
    bad_type = client.post(client.directory["newOrder"], {"identifiers": [{"type": "ip", "value": "10.0.0.1"}]})
    assert problem(bad_type) == "unsupportedIdentifier"
    assert problem(client.new_order(["www.example.com"], notAfter="2030-01-01T00:00:00Z")) == "malformed"
    assert _state(acme.world.acme) == before
    wildcard = client.new_order(["*.example.com"])
    assert wildcard.status == 201
    authz = client.get(wildcard.json()["authorizations"][0]).json()
    assert authz["wildcard"] is True and [c["type"] for c in authz["challenges"]] == ["dns-01"]


def test_deactivated_accounts_and_replayed_or_expired_nonces(acme: Acme, clock: Clock) -> None:
    client = acme.registered()
    nonce = client.nonce()
    clock.advance(hours=2)
    client._nonce = nonce
    expired = client.new_order(["www.example.com"])
    assert problem(expired) == "badNonce" and expired.header("Replay-Nonce") != nonce
    assert client.post(str(client.kid), {"status": "deactivated"}).json()["status"] == "deactivated"
    assert problem(client.new_order(["www.example.com"])) == "unauthorized"


def test_key_rollover(acme: Acme) -> None:
    client = acme.registered()
    new_key = ec.generate_private_key(ec.SECP384R1())
    url = client.directory["keyChange"]
    inner = jws(new_key, {"account": client.kid, "oldKey": client.jwk}, {"url": url, "jwk": jwk_of(new_key)})
    assert client.post(url, inner).status == 200
    old_key = client.key
    client.key = new_key
    assert client.new_order(["www.example.com"]).status == 201
    assert acme.client(key=new_key).new_account(None, onlyReturnExisting=True).header("Location") == client.kid
    stale = acme.client(key=old_key)
    assert problem(stale.new_account(None, onlyReturnExisting=True)) == "accountDoesNotExist"


def test_finalize_refuses_other_names_and_keeps_the_order_ready(acme: Acme) -> None:
    client = acme.registered()
    order = client.new_order(["www.example.com"]).json()
    der, _ = csr_der(["www.example.com"])
    assert problem(client.post(order["finalize"], {"csr": b64(der)})) == "orderNotReady"
    for authz_url in order["authorizations"]:
        http = next(c for c in client.get(authz_url).json()["challenges"] if c["type"] == "http-01")
        client.post(http["url"], {})
    acme.validate_all()
    other, _ = csr_der(["www.example.com", "api.example.com"])
    assert problem(client.post(order["finalize"], {"csr": b64(other)})) == "badCSR"
    assert problem(client.post(order["finalize"], {"csr": "not-a-csr"})) in ("badCSR", "malformed")
    assert not acme.world.memory.certificates or all(
        c.issuer_ca_id != acme.ca_id for c in acme.world.memory.certificates.values()
    )
    (stored,) = acme.world.acme.orders.values()
    assert stored.status.value == "ready"


def test_revocation_by_the_certificates_own_key(acme: Acme, clock: Clock) -> None:
    client = acme.registered()
    names = ["www.example.com"]
    order = client.new_order(names).json()
    for authz_url in order["authorizations"]:
        dns = next(c for c in client.get(authz_url).json()["challenges"] if c["type"] == "dns-01")
        client.post(dns["url"], {})
    acme.validate_all()
    der, leaf_key = csr_der(names)
    done = client.post(order["finalize"], {"csr": b64(der)}).json()
    leaf = x509.load_pem_x509_certificates(client.get(done["certificate"]).body)[0]
    certificate = b64(leaf.public_bytes(serialization.Encoding.DER))
    stranger_key = AcmeClient(acme.directory_url, client.send)
    stranger_key.kid = None
    refused = stranger_key.post(client.directory["revokeCert"], {"certificate": certificate})
    assert problem(refused) == "unauthorized"
    assert problem(client.post(client.directory["revokeCert"], {"certificate": certificate, "reason": 6})) == (
        "badRevocationReason"
    )
    by_key = AcmeClient(acme.directory_url, client.send, key=leaf_key)
    assert (
        by_key.post(client.directory["revokeCert"], {"certificate": certificate, "reason": 1}, use_jwk=True).status
        == 200
    )
    (entry,) = acme.world.memory.revoked.values()
    assert entry.reason.value == "KEY_COMPROMISE"
    # ARI: a revoked certificate should be replaced at once.
    window = client.send("GET", f"{client.directory['renewalInfo']}/{cert_id(leaf)}", None, {})
    assert window.status == 200 and window.header("Retry-After")
    end = datetime.fromisoformat(window.json()["suggestedWindow"]["end"].replace("Z", "+00:00"))
    assert end < clock()


def test_validation_retries_then_decides_and_fails_at_the_deadline(acme: Acme, clock: Clock) -> None:
    client = acme.registered()
    checker = acme.world.checker
    created = client.new_order(["www.example.com", "api.example.com"])
    order, order_url = created.json(), str(created.header("Location"))
    urls = order["authorizations"]
    flaky, failing = (client.get(u).json() for u in urls)
    checker.answers[("http-01", flaky["identifier"]["value"])] = [TransientError("timeout"), ChallengeResult(True)]
    checker.answers[("http-01", failing["identifier"]["value"])] = ChallengeResult(False, "incorrectResponse", "wrong")
    for authz in (flaky, failing):
        http = next(c for c in authz["challenges"] if c["type"] == "http-01")
        client.post(http["url"], {})
    acme.validate_all()
    assert acme.world.slept == [1.0]  # one backoff before the second attempt
    assert client.get(urls[0]).json()["status"] == "valid"
    failed = client.get(urls[1]).json()
    assert failed["status"] == "invalid"
    (challenge,) = [c for c in failed["challenges"] if c["type"] == "http-01"]
    assert challenge["error"]["type"] == "urn:ietf:params:acme:error:incorrectResponse"
    assert client.get(order_url).json()["status"] == "invalid"

    # A checker that never decides: the invocation gives up (the bus retries), and past the deadline it fails.
    late = client.new_order(["late.example.com"]).json()
    authz = client.get(late["authorizations"][0]).json()
    checker.answers[("dns-01", "late.example.com")] = TransientError("resolver down")
    dns = next(c for c in authz["challenges"] if c["type"] == "dns-01")
    client.post(dns["url"], {})
    z_id = late["authorizations"][0].rsplit("/", 1)[1]
    try:
        acme.container.acme_validator.validate(z_id, "dns-01")
    except TransientError:
        pass
    else:
        raise AssertionError("an undecided check must raise TransientError for the bus to retry")
    clock.advance(minutes=11)
    assert acme.container.acme_validator.validate(z_id, "dns-01").status == "invalid"
    assert client.get(late["authorizations"][0]).json()["status"] == "invalid"


def test_a_challenge_whose_validator_gave_up_fails_when_read_after_its_deadline(acme: Acme, clock: Clock) -> None:
    client = acme.registered()
    created = client.new_order(["stuck.example.com"])
    authz_url = created.json()["authorizations"][0]
    http = next(c for c in client.get(authz_url).json()["challenges"] if c["type"] == "http-01")
    client.post(http["url"], {})  # processing; no validator ever decides it (its retries ran out)
    clock.advance(minutes=10)
    assert client.get(authz_url).json()["status"] == "pending"
    clock.advance(minutes=2)
    failed = client.get(authz_url).json()
    assert failed["status"] == "invalid"
    assert client.get(str(created.header("Location"))).json()["status"] == "invalid"


def test_an_account_bound_through_a_ca_bound_eab_key_stays_on_that_ca(acme: Acme) -> None:
    """The account id is the kid's last segment: the same account named under another CA's directory is refused."""
    bound = acme.client()
    created = bound.new_account(acme.eab(ca_id=acme.ca_id))
    assert created.status == 201, created.body
    account_id = str(created.header("Location")).rsplit("/", 1)[-1]
    other_ca = next(ca for ca in acme.world.memory.authorities if ca != acme.ca_id)
    elsewhere = AcmeClient(
        f"{BASE}/acme/{other_ca}/directory",
        edge_send(acme.container),
        key=bound.key,
        kid=f"{BASE}/acme/{other_ca}/account/{account_id}",
    )
    before = _state(acme.world.acme)
    assert problem(elsewhere.new_order(["www.example.com"])) == "unauthorized"
    assert _state(acme.world.acme) == before
    assert bound.new_order(["www.example.com"]).status == 201  # at its own CA it still works


def test_eab_keys_created_and_revoked_are_audited_without_their_secret(acme: Acme) -> None:
    key_id, hmac_key = acme.eab()
    acme.container.eab_keys.revoke(key_id, LOCAL_ADMIN)
    records = acme.container.store.list_for(key_id, 10)
    assert sorted(r.action for r in records) == ["CreateAcmeEabKey", "RevokeAcmeEabKey"]
    assert all(hmac_key not in repr(r) for r in records)


def test_a_deactivation_written_while_the_validator_writes_its_decision_stays(
    acme: Acme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account deactivates the authorization between the validator's last read and its write: the decision
    must not overwrite the deactivation (RFC 8555 §7.1.6: deactivated is final)."""
    client = acme.registered()
    authz_url = client.new_order(["race.example.com"]).json()["authorizations"][0]
    http = next(c for c in client.get(authz_url).json()["challenges"] if c["type"] == "http-01")
    client.post(http["url"], {})
    store, checker = acme.world.acme, acme.world.checker
    read = store.get_authorization
    checked: list[bool] = []

    def check(*args: Any) -> Any:
        checked.append(True)  # from now on the validator only writes its decision
        return FakeChallengeChecker.check(checker, *args)

    def racing_read(authorization_id: str) -> Any:
        found = read(authorization_id)
        if checked and found is not None and found.status is Status.PENDING:
            store.put_authorization(replace(found, status=Status.DEACTIVATED))  # the account's deactivation
        return found

    monkeypatch.setattr(checker, "check", check)
    monkeypatch.setattr(store, "get_authorization", racing_read)
    acme.validate_all()
    assert checked
    assert client.get(authz_url).json()["status"] == "deactivated"


def test_an_admin_revokes_another_principals_eab_key_and_nobody_else_can(acme: Acme) -> None:
    """Offboarding: the stack's admin revokes a key someone else holds; to a third principal it does not exist."""
    from tests.conftest import ApiClient

    api = ApiClient()
    alice, bob = "arn:aws:iam::123456789012:role/alice", "arn:aws:iam::123456789012:role/bob"
    key_id = api.post("/acme/eab-keys", {}, caller=alice).body["keyId"]
    refused = api.call("DELETE", f"/acme/eab-keys/{key_id}", caller=bob)
    assert (refused.status, refused.body["code"]) == (404, "NotFound")
    assert not acme.world.acme.eab[key_id].revoked
    revoked = api.call("DELETE", f"/acme/eab-keys/{key_id}")  # the local admin
    assert (revoked.status, revoked.body["revoked"]) == (200, True)
    audit = [r for r in acme.world.memory.audit if r.resource_id == key_id]
    assert [(r.action, r.result) for r in audit][-1] == ("RevokeAcmeEabKey", "SUCCEEDED")
    assert audit[-1].details.get("principal") == "arn:aws:iam::123456789012:role/alice"
