"""AssociationStore and SweepQueue contract: counted associations, one per target, ACM copies, due lists."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate
from certwright.errors import ConflictError, InvalidInputError

from tests.contract import builders as b
from tests.contract.conftest import Ports

OTHER_LISTENER = b.LISTENER.replace("0123456789abcdef/0123456789abcdef", "fedcba9876543210/fedcba9876543210")


def _certificate(ports: Ports, cert_id: str = "cert-1", **changes: object) -> Certificate:
    c = ports.store.begin_version(b.certificate(cert_id, **changes), b.version(cert_id), None, is_new_certificate=True)
    return ports.store.complete_version(
        replace(c, current_version_number=1, latest_version_number=1),
        b.version(cert_id, stages=b.PUBLISHED),
        {},
        None,
        b.audit(cert_id),
    )


def test_an_association_is_counted_on_its_certificate_and_uncounted_when_removed(ports: Ports) -> None:
    store = ports.store
    _certificate(ports)
    added = store.add_association(b.association(), b.audit("assoc-1"))
    assert added.row_version == 1 and store.get_association("assoc-1") == added
    counted = store.get_certificate("cert-1")
    assert counted is not None and counted.association_count == 1
    assert store.associations_of("cert-1") == [added]
    store.remove_association(added, b.audit("assoc-1", "Delete"))
    assert store.get_association("assoc-1") is None
    assert store.get_certificate("cert-1").association_count == 0  # type: ignore[union-attr]
    with pytest.raises(ConflictError):  # already gone
        store.remove_association(added, b.audit("assoc-1"))


def test_one_association_per_certificate_and_target(ports: Ports) -> None:
    store = ports.store
    _certificate(ports)
    store.add_association(b.association("assoc-1"), b.audit("assoc-1"))
    with pytest.raises(ConflictError) as err:
        store.add_association(b.association("assoc-2", n=1), b.audit("assoc-2"))
    assert err.value.code == "ConcurrentModification"
    assert store.get_association("assoc-2") is None
    store.add_association(b.association("assoc-3", n=2, target=OTHER_LISTENER), b.audit("assoc-3"))
    assert store.get_certificate("cert-1").association_count == 2  # type: ignore[union-attr]


def test_an_association_needs_an_active_certificate(ports: Ports) -> None:
    with pytest.raises(ConflictError):
        ports.store.add_association(b.association(), b.audit("assoc-1"))
    _certificate(ports, lifecycle_state=LifecycleState.PENDING_DELETION)
    with pytest.raises(ConflictError) as err:
        ports.store.add_association(b.association(), b.audit("assoc-1"))
    assert err.value.code == "CertificateNotActive"


def test_saving_an_association_is_version_guarded_and_may_schedule_a_retry(ports: Ports) -> None:
    store = ports.store
    _certificate(ports)
    added = store.add_association(b.association(), b.audit("assoc-1"))
    saved = store.save_association(replace(added, certificate_name="renamed"), retry_at=b.NOW + timedelta(minutes=1))
    assert saved.row_version == 2 and store.get_association("assoc-1") == saved
    with pytest.raises(ConflictError):
        store.save_association(replace(added, certificate_name="stale"))
    assert store.deployments_to_retry(b.NOW, 10) == []
    assert store.deployments_to_retry(b.NOW + timedelta(minutes=1), 10) == [saved]
    cleared = store.save_association(saved)
    assert store.deployments_to_retry(b.NOW + timedelta(days=1), 10) == []
    assert cleared.row_version == 3


def test_listing_associations_of_one_certificate_or_all(ports: Ports) -> None:
    store = ports.store
    _certificate(ports, "cert-1")
    _certificate(ports, "cert-2", n=1)
    store.add_association(b.association("a-1", "cert-1"), b.audit("a-1"))
    store.add_association(b.association("a-2", "cert-2", n=1), b.audit("a-2"))
    store.add_association(b.association("a-3", "cert-1", n=2, target=OTHER_LISTENER), b.audit("a-3"))
    assert [a.id for a in store.list_associations("cert-1", 10, None).items] == ["a-1", "a-3"]
    first = store.list_associations(None, 2, None)
    rest = store.list_associations(None, 2, first.next_token)
    assert [a.id for a in first.items + rest.items] == ["a-1", "a-2", "a-3"]
    with pytest.raises(InvalidInputError) as err:  # a token of the full listing, used on one certificate's
        store.list_associations("cert-1", 2, first.next_token)
    assert err.value.code == "InvalidPageToken"


def test_the_first_acm_copy_of_a_version_wins_and_copies_are_forgotten_by_arn(ports: Ports) -> None:
    store = ports.store
    assert store.acm_copy("cert-1", 1) is None
    assert store.record_acm_copy("cert-1", 1, "arn:first") == "arn:first"
    assert store.record_acm_copy("cert-1", 1, "arn:second") == "arn:first"
    store.record_acm_copy("cert-1", 2, "arn:two")
    assert store.acm_copies("cert-1") == {"arn:first", "arn:two"}
    store.forget_acm_copy("cert-1", "arn:first")
    store.forget_acm_copy("cert-1", "arn:unknown")
    assert store.acm_copies("cert-1") == {"arn:two"} and store.acm_copy("cert-1", 1) is None


def test_an_acm_import_mark_tells_a_later_attempt_an_earlier_one_died(ports: Ports) -> None:
    store = ports.store
    assert store.begin_acm_import("cert-1", 1) is False
    assert store.begin_acm_import("cert-1", 1) is True
    store.end_acm_import("cert-1", 1)
    store.end_acm_import("cert-1", 1)  # none is no error
    assert store.begin_acm_import("cert-1", 1) is False


def test_the_sweep_queue_holds_active_certificates_whose_check_has_come(ports: Ports) -> None:
    store = ports.store
    due = _certificate(ports, "cert-1", next_check_at=b.NOW)
    _certificate(ports, "cert-2", n=1, next_check_at=b.NOW + timedelta(hours=1))
    _certificate(ports, "cert-3", n=2)
    assert [c.id for c in store.due_for_sweep(b.NOW, 10)] == ["cert-1"]
    assert [c.id for c in store.due_for_sweep(b.NOW + timedelta(hours=1), 10)] == ["cert-1", "cert-2"]
    assert len(store.due_for_sweep(b.NOW + timedelta(hours=1), 1)) == 1
    later = store.save_sweep(replace(due, next_check_at=b.NOW + timedelta(days=1)))
    assert later.row_version == due.row_version + 1
    assert [c.id for c in store.due_for_sweep(b.NOW + timedelta(hours=1), 10)] == ["cert-2"]
    with pytest.raises(ConflictError):
        store.save_sweep(due)
    store.save_sweep(replace(later, lifecycle_state=LifecycleState.DELETED))
    assert [c.id for c in store.due_for_sweep(b.NOW + timedelta(days=2), 10)] == ["cert-2"]


def test_probed_associations_are_listed_in_id_order_from_a_given_id(ports: Ports) -> None:
    from certwright.domain.association import Endpoint

    _certificate(ports)
    for n, target in enumerate((b.LISTENER, OTHER_LISTENER, b.LISTENER.replace("web", "api"))):
        probed = replace(b.association(f"assoc-{'bdf'[n]}", n=n, target=target), endpoint=Endpoint("10.0.0.7", 443))
        ports.store.add_association(probed, b.audit(probed.id))
    first = ports.store.probed_associations(2, None)
    assert first.items == ["assoc-b", "assoc-d"] and first.next_token
    assert ports.store.probed_associations(2, first.next_token).items == ["assoc-f"]
    assert ports.store.probed_associations(10, None, from_id="assoc-c").items == ["assoc-d", "assoc-f"]
    assert ports.store.probed_associations(10, None, from_id="assoc-g").items == []
