"""CertificateStore contract: reservation, publication, failure, stages, sealed keys and reservations."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate
from certwright.domain.stages import Stage
from certwright.errors import ConflictError, InvalidInputError
from certwright.ports import Reservation, SerialClaim

from tests.contract import builders as b
from tests.contract.conftest import Ports


def _published(ports: Ports, cert_id: str = "cert-1", n: int = 0) -> Certificate:
    store = ports.store
    c = store.begin_version(
        b.certificate(cert_id, n=n), b.version(cert_id), SerialClaim("ca-1", f"{cert_id}-1"), is_new_certificate=True
    )
    published = replace(c, current_version_number=1, latest_version_number=1)
    return store.complete_version(
        published, b.version(cert_id, stages=b.PUBLISHED), {1: b.PUBLISHED}, b"sealed", b.audit(cert_id)
    )


def test_a_version_is_reserved_then_published_with_its_sealed_key(ports: Ports) -> None:
    store = ports.store
    reserved = store.begin_version(b.certificate(), b.version(), SerialClaim("ca-1", "5e1"), is_new_certificate=True)
    assert reserved.row_version == 1
    assert store.get_version("cert-1", 1) == b.version()
    assert store.get_sealed_key("cert-1", 1) is None
    done = _published_after(ports, reserved)
    assert done.row_version == 2 and store.get_certificate("cert-1") == done
    assert store.get_version("cert-1", 1) == b.version(stages=b.PUBLISHED)
    assert store.get_sealed_key("cert-1", 1) == b"sealed"
    with pytest.raises(ConflictError):  # published once
        store.complete_version(done, b.version(stages=b.PUBLISHED), {}, None, b.audit("cert-1"))


def _published_after(ports: Ports, reserved: Certificate) -> Certificate:
    published = replace(reserved, current_version_number=1, latest_version_number=1)
    return ports.store.complete_version(
        published, b.version(stages=b.PUBLISHED), {1: b.PUBLISHED}, b"sealed", b.audit("cert-1")
    )


def test_a_new_certificate_cannot_be_created_twice_nor_reuse_a_serial(ports: Ports) -> None:
    store = ports.store
    store.begin_version(b.certificate(), b.version(), SerialClaim("ca-1", "5e1"), is_new_certificate=True)
    with pytest.raises(ConflictError) as err:
        store.begin_version(b.certificate(), b.version(), None, is_new_certificate=True)
    assert err.value.code == "ConcurrentModification"
    with pytest.raises(ConflictError):
        store.begin_version(
            b.certificate("cert-2"), b.version("cert-2"), SerialClaim("ca-1", "5e1"), is_new_certificate=True
        )
    assert store.get_certificate("cert-2") is None
    assert store.get_version("cert-2", 1) is None


def test_a_stale_certificate_fails_the_reservation_of_a_version(ports: Ports) -> None:
    store = ports.store
    c = _published(ports)
    store.begin_version(replace(c, latest_version_number=2), b.version(number=2), None, is_new_certificate=False)
    with pytest.raises(ConflictError):
        store.begin_version(replace(c, latest_version_number=3), b.version(number=3), None, is_new_certificate=False)
    assert [v.version_number for v in store.list_versions("cert-1")] == [1, 2]


def test_a_reserved_version_fails_but_a_published_one_never_does(ports: Ports) -> None:
    store = ports.store
    c = _published(ports)
    c2 = store.begin_version(replace(c, latest_version_number=2), b.version(number=2), None, is_new_certificate=False)
    store.fail_version(c2, 2, "signing failed", audit=b.audit("cert-1", "Failed"))
    assert store.get_version("cert-1", 2).stages == frozenset({Stage.FAILED})  # type: ignore[union-attr]
    with pytest.raises(ConflictError):
        store.fail_version(c2, 1, "too late")
    store.fail_version(c2, 9, "unknown versions are no error")


def test_stages_move_between_versions_at_once(ports: Ports) -> None:
    store = ports.store
    c = _published(ports)
    c = store.begin_version(replace(c, latest_version_number=2), b.version(number=2), None, is_new_certificate=False)
    c = store.complete_version(
        c,
        b.version(number=2, stages=frozenset({Stage.PENDING, Stage.LATEST})),
        {1: frozenset({Stage.CURRENT})},
        None,
        b.audit("cert-1"),
    )
    c = store.change_stages(c, {1: frozenset({Stage.PREVIOUS}), 2: b.PUBLISHED}, b.audit("cert-1"))
    assert [v.stages for v in store.list_versions("cert-1")] == [frozenset({Stage.PREVIOUS}), b.PUBLISHED]
    with pytest.raises(ConflictError):
        store.change_stages(c, {7: b.PUBLISHED}, b.audit("cert-1"))


def test_saving_refuses_a_certificate_in_use_when_asked(ports: Ports) -> None:
    c = _published(ports)
    with pytest.raises(ConflictError) as err:
        ports.store.save_certificate(replace(c, association_count=1), b.audit("cert-1"), require_no_associations=True)
    assert err.value.code == "CertificateInUse"
    saved = ports.store.save_certificate(replace(c, description="x"), b.audit("cert-1"))
    assert saved.row_version == c.row_version + 1
    with pytest.raises(ConflictError):
        ports.store.save_certificate(replace(c, description="stale"), b.audit("cert-1"))


def test_a_reservation_is_written_with_its_version_and_read_back(ports: Ports) -> None:
    store = ports.store
    r = Reservation("tok", "cert-1", 1, b.NOW + timedelta(minutes=5))
    store.begin_version(b.certificate(), b.version(), None, is_new_certificate=True, reservation=r)
    assert store.get_reservation("tok") == replace(r, row_version=1)
    assert store.get_reservation("other") is None
    with pytest.raises(ConflictError):  # the same token reserved again without reading it
        store.begin_version(b.certificate("cert-2"), b.version("cert-2"), None, is_new_certificate=True, reservation=r)


def test_listing_certificates_pages_and_refuses_bad_tokens(ports: Ports) -> None:
    for i in range(3):
        _published(ports, f"cert-{i}", n=i)
    first = ports.store.list_certificates(2, None)
    rest = ports.store.list_certificates(2, first.next_token)
    assert [c.id for c in first.items + rest.items] == ["cert-0", "cert-1", "cert-2"]
    assert rest.next_token is None
    with pytest.raises(InvalidInputError):
        ports.store.list_associations(None, 2, first.next_token)


def test_a_claim_naming_its_issuers_row_version_holds_only_while_the_issuer_is_unchanged(ports: Ports) -> None:
    store = ports.store
    issuer = store.begin_authority(b.authority("ca-1"), SerialClaim("self", "ca-1-serial"))
    stale = SerialClaim("ca-1", "5e1", issuer.row_version)
    store.save_authority(replace(issuer, lifecycle_state=LifecycleState.ACTIVE))  # changed meanwhile

    with pytest.raises(ConflictError) as err:
        store.begin_version(b.certificate(), b.version(), stale, is_new_certificate=True)

    assert err.value.code == "IssuerChanged"
    assert store.get_certificate("cert-1") is None and store.get_version("cert-1", 1) is None
    current = SerialClaim("ca-1", "5e1", issuer.row_version + 1)
    assert store.begin_version(b.certificate(), b.version(), current, is_new_certificate=True).row_version == 1
    with pytest.raises(ConflictError) as again:  # the serial was claimed (no IssuerChanged claim was)
        store.begin_version(b.certificate("cert-2"), b.version("cert-2"), current, is_new_certificate=True)
    assert again.value.code == "ConcurrentModification"
