"""AuthorityStore contract: the same cases on the fake and on DynamoDB."""

from __future__ import annotations

from dataclasses import replace

import pytest
from certwright.domain.authority import LifecycleState
from certwright.errors import ConflictError, DependencyError, InvalidInputError
from certwright.ports import SerialClaim

from tests.contract import builders as b
from tests.contract.conftest import Ports


def _active(ports: Ports, ca_id: str = "ca-1", n: int = 0, **changes: object):  # type: ignore[no-untyped-def]
    store = ports.store
    ca = store.begin_authority(b.authority(ca_id, n=n, **changes), SerialClaim("self", f"{ca_id}-serial"))
    done = replace(ca, lifecycle_state=LifecycleState.ACTIVE, current_version=b.ca_version())
    return store.complete_authority(done, b.audit(ca_id, "CreateCertificateAuthority"))


def test_begin_then_complete_bumps_the_row_version_and_reads_back(ports: Ports) -> None:
    store = ports.store
    begun = store.begin_authority(b.authority(), SerialClaim("self", "01"))
    assert begun.row_version == 1
    assert store.get_authority("ca-1") == begun
    active = store.complete_authority(
        replace(begun, lifecycle_state=LifecycleState.ACTIVE, current_version=b.ca_version()), b.audit("ca-1")
    )
    assert active.row_version == 2
    assert store.get_authority("ca-1") == active
    assert store.list_authority_versions("ca-1") == [b.ca_version()]
    assert [r.action for r in store.list_for("ca-1", 10)] == ["Test"]


def test_a_stale_row_version_conflicts_and_changes_nothing(ports: Ports) -> None:
    store = ports.store
    active = _active(ports)
    store.save_authority(replace(active, name="renamed"))
    with pytest.raises(ConflictError) as err:
        store.save_authority(replace(active, name="stale"))
    assert err.value.code == "ConcurrentModification"
    stored = store.get_authority("ca-1")
    assert stored is not None and stored.name == "renamed" and stored.row_version == active.row_version + 1


def test_an_existing_authority_cannot_be_begun_twice(ports: Ports) -> None:
    ports.store.begin_authority(b.authority(), SerialClaim("self", "01"))
    with pytest.raises(ConflictError) as err:
        ports.store.begin_authority(b.authority(), SerialClaim("self", "02"))
    assert err.value.code == "ConcurrentModification"


def test_a_serial_is_claimed_once_and_a_claimed_serial_fails_the_whole_begin(ports: Ports) -> None:
    store = ports.store
    store.claim_serial(SerialClaim("ca-1", "abc"))
    with pytest.raises(ConflictError):
        store.claim_serial(SerialClaim("ca-1", "abc"))
    store.claim_serial(SerialClaim("ca-2", "abc"))  # another issuer's serial space
    with pytest.raises(ConflictError):
        store.begin_authority(b.authority("ca-9"), SerialClaim("ca-1", "abc"))
    assert store.get_authority("ca-9") is None


def test_complete_without_a_version_is_a_dependency_error(ports: Ports) -> None:
    begun = ports.store.begin_authority(b.authority(), SerialClaim("self", "01"))
    with pytest.raises(DependencyError):
        ports.store.complete_authority(begun, b.audit("ca-1"))


def test_a_new_version_demotes_the_older_ones(ports: Ports) -> None:
    store = ports.store
    ca = _active(ports)
    ca = store.add_authority_version(replace(ca, current_version=b.ca_version(2, "ca02")), b.audit("ca-1"))
    ca = store.add_authority_version(replace(ca, current_version=b.ca_version(3, "ca03")), b.audit("ca-1"))
    stages = [(v.version_number, v.stages) for v in store.list_authority_versions("ca-1")]
    assert stages == [(1, ("DEPRECATED",)), (2, ("PREVIOUS",)), (3, ("CURRENT", "LATEST"))]
    with pytest.raises(ConflictError):
        store.add_authority_version(replace(ca, row_version=1, current_version=b.ca_version(4)), b.audit("ca-1"))


def test_listing_pages_oldest_first_and_refuses_foreign_tokens(ports: Ports) -> None:
    for i in range(5):
        _active(ports, f"ca-{i}", n=i)
    seen, token = [], None
    while True:
        page = ports.store.list_authorities(2, token)
        seen += [ca.id for ca in page.items]
        token = page.next_token
        if token is None:
            break
    assert seen == [f"ca-{i}" for i in range(5)]
    first = ports.store.list_authorities(2, None)
    assert first.next_token is not None
    with pytest.raises(InvalidInputError) as err:
        ports.store.list_certificates(2, first.next_token)
    assert err.value.code == "InvalidPageToken"
    with pytest.raises(InvalidInputError):
        ports.store.list_authorities(2, "not a token")


def test_children_are_the_certificates_and_subordinates_an_authority_issued(ports: Ports) -> None:
    _active(ports, "root")
    _active(ports, "sub", n=1, issuer_id="root")
    _active(ports, "other", n=2)
    certificate = b.certificate("cert-1", n=3, issuer="root")
    ports.store.begin_version(certificate, b.version(), None, is_new_certificate=True)
    assert sorted(c.id for c in ports.store.children_of("root")) == ["cert-1", "sub"]
    assert list(ports.store.children_of("other")) == []


def test_saving_versions_writes_the_ca_the_versions_and_the_audit_at_once(ports: Ports) -> None:
    store = ports.store
    active = _active(ports)
    pending = replace(b.ca_version(2, "ca02"), stages=("PENDING", "LATEST"))
    first = replace(b.ca_version(), stages=("CURRENT",))
    saved = store.save_authority_versions(
        replace(active, description="pending"),
        [first, pending],
        b.audit("ca-1", "CreateCertificateAuthorityVersion", n=1),
    )
    assert saved.row_version == active.row_version + 1
    assert store.get_authority("ca-1") == saved
    assert store.list_authority_versions("ca-1") == [first, pending]
    assert next(r.action for r in store.audit_page("ca-1", 10, None).items) == "CreateCertificateAuthorityVersion"
    with pytest.raises(ConflictError) as err:
        store.save_authority_versions(active, [replace(pending, stages=("CURRENT", "LATEST"))], b.audit("ca-1"))
    assert err.value.code == "ConcurrentModification"
    assert store.list_authority_versions("ca-1") == [first, pending]
