"""AcmeStore contract: nonces good once until they expire, one account per key (also across a key change),
EAB keys with their sealed HMAC key and revocation, orders moved only from the state read, authorizations, links;
the `ttl` (table TTL) only on nonces and on orders and authorizations that can no longer issue."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from certwright.acme import retention
from certwright.acme.resources import Account, Authorization, Challenge, EabKey, Order, Status
from certwright.adapters.dynamodb_models import Row as TableRow
from certwright.errors import ConflictError
from certwright.ports.acme import CHANGE_ATTEMPTS
from certwright.ports.acme_challenges import ChallengeType

from tests.contract import builders as b
from tests.contract.conftest import Ports
from tests.fakes import FakeAcmeStore

PRINCIPAL = "arn:aws:iam::123456789012:role/acme-user"
CH = ChallengeType.HTTP_01


def account(account_id: str = "acct-1", thumb: str = "thumb-1") -> Account:
    jwk = {"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ"}
    return Account(account_id, jwk, thumb, PRINCIPAL, "eab-1", b.NOW, contact=("mailto:a@example.com",))


def test_a_nonce_is_good_once_and_not_after_it_expires(ports: Ports) -> None:
    store = ports.acme
    store.add_nonce("n1", b.NOW + timedelta(hours=1))
    store.add_nonce("n2", b.NOW + timedelta(seconds=5))
    assert store.consume_nonce("n1", b.NOW)
    assert not store.consume_nonce("n1", b.NOW)
    assert not store.consume_nonce("n2", b.NOW + timedelta(seconds=6))
    assert not store.consume_nonce("never", b.NOW)


def test_eab_keys_keep_their_sealed_key_are_listed_without_it_and_revoked(ports: Ports) -> None:
    store = ports.acme
    key = EabKey("eab-1", PRINCIPAL, b.NOW, b"sealed-bytes", ca_id="ca-1")
    store.add_eab_key(key)
    store.add_eab_key(EabKey("eab-2", PRINCIPAL, b.NOW + timedelta(seconds=1), b"other"))
    store.add_eab_key(EabKey("eab-3", "arn:aws:iam::123456789012:role/someone-else", b.NOW, b"x"))
    assert store.get_eab_key("eab-1") == key
    with pytest.raises(ConflictError):
        store.add_eab_key(key)
    listed = store.eab_keys_of(PRINCIPAL)
    assert [k.key_id for k in listed] == ["eab-1", "eab-2"]
    assert all(k.sealed_hmac == b"" for k in listed)
    store.revoke_eab_key("eab-1")
    assert store.get_eab_key("eab-1") == replace(key, revoked=True)
    assert store.eab_keys_of(PRINCIPAL)[0].revoked
    assert store.get_eab_key("eab-none") is None


def test_one_account_per_key_also_across_a_key_change(ports: Ports) -> None:
    store = ports.acme
    store.create_account(account())
    with pytest.raises(ConflictError):
        store.create_account(account("acct-2", "thumb-1"))
    assert store.account_by_thumbprint("thumb-1") == account()
    store.create_account(account("acct-2", "thumb-2"))
    moved = replace(account(), thumbprint="thumb-3")
    store.save_account(moved, previous_thumbprint="thumb-1")
    assert store.account_by_thumbprint("thumb-1") is None
    assert store.account_by_thumbprint("thumb-3") == moved
    with pytest.raises(ConflictError):
        store.save_account(replace(moved, thumbprint="thumb-2"), previous_thumbprint="thumb-3")
    assert store.account_by_thumbprint("thumb-3") == moved
    deactivated = replace(moved, status=Status.DEACTIVATED)
    store.save_account(deactivated)
    assert store.get_account("acct-1") == deactivated


def test_orders_move_only_from_the_state_read_and_are_listed_by_account(ports: Ports) -> None:
    store = ports.acme
    order = Order("order-1", "acct-1", "ca-1", ("a.example.com",), ("authz-1",), b.NOW + timedelta(days=7), b.NOW)
    store.put_order(order)
    with pytest.raises(ConflictError):
        store.put_order(order)
    store.put_order(replace(order, id="order-2"))
    assert store.orders_of("acct-1") == ["order-1", "order-2"]
    ready = replace(order, status=Status.READY)
    store.update_order(ready, Status.PENDING)
    with pytest.raises(ConflictError):
        store.update_order(replace(order, status=Status.INVALID), Status.PENDING)
    store.update_order(ready.processing(b.NOW), Status.READY)
    issued = ready.processing(b.NOW).issued("cert-1", 2)
    store.update_order(issued, Status.PROCESSING)
    assert store.get_order("order-1") == issued


def test_authorizations_and_certificate_links(ports: Ports) -> None:
    store = ports.acme
    z = Authorization(
        "authz-1",
        "acct-1",
        "a.example.com",
        b.NOW + timedelta(days=7),
        (Challenge(ChallengeType.HTTP_01, "t1"), Challenge(ChallengeType.DNS_01, "t2")),
    )
    store.put_authorization(z)
    processing = replace(z.challenges[0], status=Status.PROCESSING, deadline=b.NOW + timedelta(minutes=10))
    store.put_authorization(z.with_challenge(processing))
    done = replace(processing, status=Status.VALID, validated=b.NOW, attempts=1)
    store.put_authorization(z.with_challenge(done))
    assert store.get_authorization("authz-1") == z.with_challenge(done)
    assert store.get_authorization("authz-1").status is Status.VALID  # type: ignore[union-attr]
    names = ("a.example.com", "b.example.com")
    assert store.certificate_for("acct-1", names) is None
    store.link_certificate("acct-1", names, "cert-1")
    assert store.certificate_for("acct-1", names) == "cert-1"
    assert store.certificate_for("acct-2", names) is None


_KEYS = {"nonce": ("ACMENONCE#{}", "N"), "order": ("ACMEORDER#{}", "O"), "authz": ("ACMEAUTHZ#{}", "Z")}


def drop_at(ports: Ports, row: str) -> int | None:
    """The row's `ttl` (when the table's TTL may delete it): the fake's record, or the attribute DynamoDB holds."""
    if isinstance(ports.acme, FakeAcmeStore):
        return ports.acme.drop_at(row)
    name, _, ident = row.partition(":")
    if name == "orders":
        pk, sk = f"ACMEORDERS#{ident.split('/')[0]}", ident.split("/")[1]
    else:
        pk, sk = _KEYS[name][0].format(ident), _KEYS[name][1]
    stored = TableRow.get(pk, sk, consistent_read=True)
    return None if stored.ttl is None else int(stored.ttl)


def test_nonces_and_abandoned_orders_and_authorizations_carry_a_ttl_and_nothing_issued_does(ports: Ports) -> None:
    store = ports.acme
    expires = b.NOW + timedelta(hours=1)
    store.add_nonce("n-ttl", expires)
    assert drop_at(ports, "nonce:n-ttl") == int((expires + retention.NONCE_MARGIN).timestamp())
    # The TTL is lazy (up to days): an expired nonce is refused while its row is still there.
    assert not store.consume_nonce("n-ttl", expires)

    order = Order("order-t", "acct-1", "ca-1", ("a.example.com",), ("authz-t",), b.NOW + timedelta(days=7), b.NOW)
    abandoned = int((order.expires + retention.ABANDONED_RETENTION).timestamp())
    store.put_order(order)
    assert drop_at(ports, "order:order-t") == drop_at(ports, "orders:acct-1/order-t") == abandoned
    z = Authorization("authz-t", "acct-1", "a.example.com", b.NOW + timedelta(days=7), (Challenge(CH, "t"),))
    store.put_authorization(z)
    assert drop_at(ports, "authz:authz-t") == int((z.expires + retention.ABANDONED_RETENTION).timestamp())

    valid = replace(z.challenges[0], status=Status.VALID, validated=b.NOW, attempts=1)
    store.put_authorization(z.with_challenge(valid))
    assert drop_at(ports, "authz:authz-t") is None, "a valid authorization stays"
    ready = replace(order, status=Status.READY)
    store.update_order(ready, Status.PENDING)
    assert drop_at(ports, "order:order-t") == abandoned, "a ready order is still abandoned if never finalized"
    store.update_order(ready.processing(b.NOW), Status.READY)
    assert drop_at(ports, "order:order-t") is None and drop_at(ports, "orders:acct-1/order-t") is None
    store.update_order(ready.processing(b.NOW).issued("cert-1", 1), Status.PROCESSING)
    assert drop_at(ports, "order:order-t") is None and drop_at(ports, "orders:acct-1/order-t") is None
    assert store.orders_of("acct-1") == ["order-t"]

    failed = Order("order-f", "acct-1", "ca-1", ("b.example.com",), (), b.NOW + timedelta(days=7), b.NOW)
    store.put_order(failed)
    store.update_order(failed.failed({"type": "urn:ietf:params:acme:error:badCSR"}), Status.PENDING)
    assert drop_at(ports, "order:order-f") == int((failed.expires + retention.ABANDONED_RETENTION).timestamp())


def _pending_authorization() -> Authorization:
    return Authorization(
        "authz-1", "acct-1", "a.example.com", b.NOW + timedelta(days=7), (Challenge(ChallengeType.HTTP_01, "t1"),)
    )


def test_a_change_that_loses_a_race_is_applied_again_to_what_the_other_writer_wrote(ports: Ports) -> None:
    """The validator's decision and a deactivation written in between: the deactivation stays (no lost write)."""
    store = ports.acme
    z = _pending_authorization()
    store.put_authorization(z)
    done = replace(z.challenges[0], status=Status.VALID, validated=b.NOW, attempts=1)
    seen: list[Status] = []

    def decide(latest: Authorization) -> Authorization:
        seen.append(latest.status)
        if len(seen) == 1:  # the account deactivates it between this read and this write
            store.change_authorization(z.id, lambda other: replace(other, status=Status.DEACTIVATED))
        return latest.with_challenge(done)

    assert store.change_authorization(z.id, decide) == replace(z, status=Status.DEACTIVATED)
    assert seen == [Status.PENDING, Status.DEACTIVATED]
    assert store.get_authorization(z.id) == replace(z, status=Status.DEACTIVATED)
    assert store.change_authorization("authz-none", decide) is None


def test_a_change_that_keeps_losing_gives_up_with_a_conflict(ports: Ports) -> None:
    store = ports.acme
    z = _pending_authorization()
    store.put_authorization(z)
    tries: list[int] = []

    def always_raced(latest: Authorization) -> Authorization:
        tries.append(1)
        store.put_authorization(replace(latest, expires=latest.expires + timedelta(seconds=1)))
        return replace(latest, status=Status.DEACTIVATED)

    with pytest.raises(ConflictError):
        store.change_authorization(z.id, always_raced)
    assert len(tries) == CHANGE_ATTEMPTS
    stored = store.get_authorization(z.id)
    assert stored is not None and stored.status is Status.PENDING


def test_a_certificate_is_replaced_by_one_order_and_a_released_claim_frees_it(ports: Ports) -> None:
    store = ports.acme
    assert store.replacement_of("aki.serial") is None
    assert store.claim_replacement("aki.serial", "order-1") is None
    assert store.claim_replacement("aki.serial", "order-1") is None  # again: still its own
    assert store.claim_replacement("aki.serial", "order-2") == "order-1"
    assert store.replacement_of("aki.serial") == "order-1"
    store.release_replacement("aki.serial", "order-2")  # not the holder: nothing changes
    assert store.replacement_of("aki.serial") == "order-1"
    store.release_replacement("aki.serial", "order-1")
    assert store.replacement_of("aki.serial") is None
    assert store.claim_replacement("aki.serial", "order-2") is None


def test_an_order_changes_only_if_unwritten_since_it_was_read_and_keeps_when_its_finalize_began(ports: Ports) -> None:
    """The decision on a stuck order (AcmeServer._settled) and a finalize writing the order in between: the
    change is applied again to what the finalize wrote, so the finalize's write stays."""
    store = ports.acme
    order = Order("order-c", "acct-1", "ca-1", ("a.example.com",), ("authz-c",), b.NOW + timedelta(days=7), b.NOW)
    store.put_order(order)
    ready = replace(order, status=Status.READY)
    store.update_order(ready, Status.PENDING)
    processing = ready.processing(b.NOW + timedelta(microseconds=123456))
    store.update_order(processing, Status.READY)
    assert store.get_order("order-c") == processing, "when its finalize began, to the microsecond"
    failed = processing.failed({"type": "urn:ietf:params:acme:error:serverInternal"})
    seen: list[Status] = []

    def decide(latest: Order) -> Order:
        seen.append(latest.status)
        if len(seen) == 1:  # the finalize finishes between this read and this write
            store.update_order(processing.issued("cert-1", 1), Status.PROCESSING)
        same = latest.status is Status.PROCESSING and latest.processing_since == processing.processing_since
        return failed if same else latest

    assert store.change_order("order-c", decide) == processing.issued("cert-1", 1)
    assert seen == [Status.PROCESSING, Status.VALID]
    assert store.get_order("order-c") == processing.issued("cert-1", 1)
    assert drop_at(ports, "order:order-c") is None, "an issued order stays"
    assert store.change_order("order-none", decide) is None

    # Unraced, the change is written (with the ttl of an order that can no longer issue, on its reference too).
    other = replace(processing, id="order-d")
    store.put_order(other)
    assert store.change_order("order-d", lambda latest: replace(failed, id="order-d")) == replace(failed, id="order-d")
    assert store.get_order("order-d") == replace(failed, id="order-d")
    abandoned = int((order.expires + retention.ABANDONED_RETENTION).timestamp())
    assert drop_at(ports, "order:order-d") == drop_at(ports, "orders:acct-1/order-d") == abandoned


def test_an_order_change_that_keeps_losing_gives_up_with_a_conflict(ports: Ports) -> None:
    store = ports.acme
    order = Order("order-r", "acct-1", "ca-1", ("a.example.com",), (), b.NOW + timedelta(days=7), b.NOW)
    store.put_order(order)
    tries: list[int] = []

    def always_raced(latest: Order) -> Order:
        tries.append(1)
        store.update_order(replace(latest, expires=latest.expires + timedelta(seconds=1)), Status.PENDING)
        return replace(latest, status=Status.INVALID)

    with pytest.raises(ConflictError):
        store.change_order("order-r", always_raced)
    assert len(tries) == CHANGE_ATTEMPTS
    stored = store.get_order("order-r")
    assert stored is not None and stored.status is Status.PENDING
