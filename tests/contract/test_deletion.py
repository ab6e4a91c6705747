"""DeletionQueue and InFlightVersions contract: what is due, version schedules, key destruction, repair entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate
from certwright.domain.deletion import DueCaVersion
from certwright.domain.repair import repair_due
from certwright.domain.stages import Stage
from certwright.errors import ConflictError, NotFoundError
from certwright.ports import SerialClaim

from tests.contract import builders as b
from tests.contract.conftest import Ports

PREVIOUS = frozenset({Stage.PREVIOUS})


def _two_versions(ports: Ports) -> Certificate:
    store = ports.store
    c = store.begin_version(b.certificate(), b.version(), None, is_new_certificate=True)
    c = store.complete_version(
        replace(c, current_version_number=1), b.version(stages=b.PUBLISHED), {}, b"k1", b.audit("cert-1")
    )
    c = store.begin_version(replace(c, latest_version_number=2), b.version(number=2), None, is_new_certificate=False)
    return store.complete_version(
        replace(c, current_version_number=2),
        b.version(number=2, stages=b.PUBLISHED),
        {1: PREVIOUS},
        b"k2",
        b.audit("cert-1"),
    )


def test_pending_authorities_certificates_and_versions_are_due_at_their_time(ports: Ports) -> None:
    store = ports.store
    ca = store.begin_authority(b.authority(), SerialClaim("self", "01"))
    store.save_authority(
        replace(ca, lifecycle_state=LifecycleState.PENDING_DELETION, deletion_time=b.NOW + timedelta(days=3))
    )
    c = _two_versions(ports)
    store.save_certificate(
        replace(c, lifecycle_state=LifecycleState.PENDING_DELETION, deletion_time=b.NOW + timedelta(days=2)),
        b.audit("cert-1"),
    )
    old = store.get_version("cert-1", 1)
    assert old is not None
    scheduled = store.schedule_version_deletion(old, b.NOW + timedelta(days=1), b.audit("cert-1"))
    assert scheduled.deletion_time == b.NOW + timedelta(days=1) and store.get_version("cert-1", 1) == scheduled
    assert store.due_for_deletion(b.NOW, 10) == []
    due = store.due_for_deletion(b.NOW + timedelta(days=3), 10)
    assert [type(d).__name__ for d in due] == ["CertificateVersion", "Certificate", "CertificateAuthority"]
    assert len(store.due_for_deletion(b.NOW + timedelta(days=3), 2)) == 2


def test_a_version_schedule_is_guarded_by_the_version_read(ports: Ports) -> None:
    store = ports.store
    _two_versions(ports)
    old = store.get_version("cert-1", 1)
    assert old is not None
    scheduled = store.schedule_version_deletion(old, b.NOW + timedelta(days=1), b.audit("cert-1"))
    with pytest.raises(ConflictError):
        store.cancel_version_deletion(old, b.audit("cert-1"))  # read before it was scheduled
    cancelled = store.cancel_version_deletion(scheduled, b.audit("cert-1"))
    assert cancelled.deletion_time is None and store.due_for_deletion(b.NOW + timedelta(days=9), 10) == []
    with pytest.raises(NotFoundError):
        store.schedule_version_deletion(b.version(number=9), b.NOW, b.audit("cert-1"))


def test_destroying_a_version_key_removes_it_once(ports: Ports) -> None:
    store = ports.store
    _two_versions(ports)
    old = store.get_version("cert-1", 1)
    assert old is not None
    store.schedule_version_deletion(old, b.NOW, b.audit("cert-1"))
    assert store.destroy_version_key("cert-1", 1, b.NOW) is True
    gone = store.get_version("cert-1", 1)
    assert gone is not None and not gone.has_private_key and gone.deleted_at == b.NOW
    assert store.get_sealed_key("cert-1", 1) is None and store.get_sealed_key("cert-1", 2) == b"k2"
    assert store.due_for_deletion(b.NOW + timedelta(days=1), 10) == []
    assert store.destroy_version_key("cert-1", 1, b.NOW + timedelta(days=1)) is True
    assert store.get_version("cert-1", 1).deleted_at == b.NOW  # type: ignore[union-attr]
    assert store.destroy_version_key("cert-1", 9, b.NOW) is False


def test_reserved_versions_are_in_flight_until_published_failed_or_forgotten(ports: Ports) -> None:
    store, repair = ports.store, ports.repair
    c = store.begin_version(b.certificate(), b.version(), None, is_new_certificate=True)
    due = repair_due(b.NOW)
    assert repair.in_flight(due - timedelta(seconds=1), 10) == []
    assert repair.in_flight(due, 10) == [b.version()]
    store.complete_version(
        replace(c, current_version_number=1), b.version(stages=b.PUBLISHED), {}, None, b.audit("cert-1")
    )
    assert repair.in_flight(due, 10) == []
    c2 = store.begin_version(b.certificate("cert-2"), b.version("cert-2"), None, is_new_certificate=True)
    store.fail_version(c2, 1, "died")
    assert repair.in_flight(due, 10) == []
    store.begin_version(b.certificate("cert-3"), b.version("cert-3"), None, is_new_certificate=True)
    repair.forget_in_flight("cert-3", 1)
    repair.forget_in_flight("cert-9", 1)
    assert repair.in_flight(due, 10) == []


def test_a_ca_version_scheduled_for_deletion_is_due_until_marked_deleted(ports: Ports) -> None:
    store = ports.store
    ca = store.begin_authority(b.authority(), SerialClaim("self", "01"))
    ca = store.complete_authority(
        replace(ca, lifecycle_state=LifecycleState.ACTIVE, current_version=b.ca_version()), b.audit("ca-1")
    )
    old = replace(b.ca_version(), stages=("DEPRECATED",), deletion_time=b.NOW + timedelta(days=1))
    ca = store.save_authority_versions(ca, [old], b.audit("ca-1"))
    assert store.list_authority_versions("ca-1") == [old]
    assert store.due_for_deletion(b.NOW, 10) == []
    assert store.due_for_deletion(b.NOW + timedelta(days=1), 10) == [DueCaVersion("ca-1", old)]

    cancelled = replace(old, deletion_time=None)
    ca = store.save_authority_versions(ca, [cancelled], b.audit("ca-1"))
    assert store.due_for_deletion(b.NOW + timedelta(days=9), 10) == []
    ca = store.save_authority_versions(ca, [old], b.audit("ca-1"))
    deleted = replace(old, deleted_at=b.NOW + timedelta(days=1))
    store.save_authority_versions(ca, [deleted], b.audit("ca-1"))
    assert store.list_authority_versions("ca-1") == [deleted]
    assert store.due_for_deletion(b.NOW + timedelta(days=9), 10) == []
