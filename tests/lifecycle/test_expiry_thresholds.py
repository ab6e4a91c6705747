"""Expiry alert thresholds are configurable per certificate (default 30 and 7 days); a threshold already behind
is told at the next sweep (the nearest one only), and the CURRENT version's expiry once, as CertificateExpired."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from certwright import bootstrap
from certwright.domain.sweep import (
    DEFAULT_THRESHOLDS,
    ExpiredAlert,
    ExpiryAlert,
    SweepState,
    decide,
    next_check,
)
from certwright.events import CertificateExpired, CertificateExpiring

from tests.alerts.vendor import vendor_import
from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body
from tests.lifecycle.table_stream import TableStream

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged


def _expiring(stream: TableStream) -> list[dict[str, Any]]:
    events = [e for r in stream.read() for e in r.events()]
    return [e.to_detail() for e in events if e.detail_type == "CertificateExpiring"]


def test_a_certificate_alerts_at_its_own_thresholds(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock, aws: Aws
) -> None:
    created = api.post(
        "/certificates",
        leaf_body(hierarchy.issuing["id"], validityDuration="PT1H", expiryAlertThresholds=["PT30M", "PT5M"]),
    )
    assert created.status == 201, created.body
    assert created.body["expiryAlertThresholds"] == ["PT1800S", "PT300S"]
    stream = TableStream(aws)
    stream.skip()

    clock.advance(minutes=20)
    assert container.sweep.run()["examined"] == 0, "nothing crossed yet"
    clock.advance(minutes=11)
    container.sweep.run()
    assert [e["threshold"] for e in _expiring(stream)] == ["PT1800S"]
    clock.advance(minutes=25)
    container.sweep.run()
    assert [e["threshold"] for e in _expiring(stream)] == ["PT300S"]


def test_thresholds_can_be_changed_later(api: ApiClient, hierarchy: Hierarchy) -> None:
    created = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    assert created["expiryAlertThresholds"] == ["P30D", "P7D"]
    updated = api.call("PATCH", f"/certificates/{created['id']}", {"expiryAlertThresholds": ["P14D", "P1D"]})
    assert updated.status == 200, updated.body
    assert updated.body["expiryAlertThresholds"] == ["P14D", "P1D"]


@pytest.mark.parametrize(
    "thresholds",
    [[], ["P1M"], ["PT30S"], ["P500D"], ["P7D", "P7D"], ["P1D", "P2D", "P3D", "P4D", "P5D", "P6D"], ["soon"]],
)
def test_bad_thresholds_are_refused_and_nothing_is_written(
    api: ApiClient, hierarchy: Hierarchy, aws: Aws, thresholds: list[str]
) -> None:
    before = len(aws.table_items())
    answer = api.post("/certificates", leaf_body(hierarchy.issuing["id"], expiryAlertThresholds=thresholds))
    assert answer.status == 400, answer.body
    assert len(aws.table_items()) == before


# == a threshold already behind, and expiry: the decision with an injected clock =================================

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Told:
    at: datetime
    what: str  # a threshold announced, or EXPIRED


def sweeps(
    not_after: datetime, sweep_times: list[datetime], *, created: datetime = NOW, **kw: Any
) -> tuple[list[Told], SweepState, datetime | None]:
    """What the sweep tells, visiting at `sweep_times` only when the certificate is due, as the index does."""
    arguments: dict[str, Any] = {
        "renews_itself": False,
        "next_renewal_at": None,
        "current_version": 1,
        "not_after": not_after,
        "thresholds": DEFAULT_THRESHOLDS,
    } | kw
    state = SweepState()
    due = next_check(now=created, state=state, **arguments)
    told: list[Told] = []
    for moment in sweep_times:
        if due is None or due > moment:
            continue
        decision = decide(now=moment, state=state, **arguments)
        told += [Told(moment, a.threshold) for a in decision.alerts if a.announced]
        told += [Told(moment, "EXPIRED")] if decision.expired else []
        state = replace(
            state,
            expiry_alerts=(*state.expiry_alerts, *decision.alerts),
            expired_alert=decision.expired or state.expired_alert,
        )
        due = next_check(now=moment, state=state, **arguments)
    return told, state, due


def every_ten_minutes(start: datetime, until: datetime) -> list[datetime]:
    count = int((until - start) / timedelta(minutes=10)) + 1
    return [start + timedelta(minutes=10 * i) for i in range(count)]


def test_created_with_two_days_left_alerts_seven_days_at_once_then_expired_at_expiry() -> None:
    not_after = NOW + timedelta(days=2)
    assert (
        next_check(
            now=NOW,
            renews_itself=False,
            next_renewal_at=None,
            current_version=1,
            not_after=not_after,
            state=SweepState(),
        )
        == NOW
    ), "due at once: both thresholds are already behind"
    told, state, due = sweeps(not_after, every_ten_minutes(NOW, not_after + timedelta(days=2)))
    assert told == [Told(NOW, "P7D"), Told(not_after + timedelta(minutes=10), "EXPIRED")]
    assert [(a.threshold, a.announced) for a in state.expiry_alerts] == [("P30D", False), ("P7D", True)]
    assert state.expired_alert == ExpiredAlert(1, not_after.isoformat())
    assert due is None, "nothing more to say about this version"


def test_created_with_twenty_days_left_alerts_thirty_days_at_once_and_seven_days_when_crossed() -> None:
    not_after = NOW + timedelta(days=20)
    told, _, _ = sweeps(not_after, every_ten_minutes(NOW, not_after + timedelta(hours=1)))
    assert [(t.at, t.what) for t in told] == [
        (NOW, "P30D"),
        (not_after - timedelta(days=7), "P7D"),
        (not_after + timedelta(minutes=10), "EXPIRED"),
    ]


def test_a_sweep_that_first_comes_after_expiry_says_expired_only() -> None:
    not_after = NOW + timedelta(hours=1)
    told, state, due = sweeps(not_after, [NOW + timedelta(days=3), NOW + timedelta(days=4)])
    assert told == [Told(NOW + timedelta(days=3), "EXPIRED")], "no 'expires within 7 days' for what has expired"
    assert all(not a.announced for a in state.expiry_alerts) and due is None


def test_expiry_is_the_first_second_past_not_after() -> None:
    not_after = NOW + timedelta(days=1)
    sent = SweepState(expiry_alerts=(ExpiryAlert("P30D", 1, "", False), ExpiryAlert("P7D", 1, "")))
    kw: dict[str, Any] = {"renews_itself": False, "next_renewal_at": None, "current_version": 1, "state": sent}
    assert decide(now=not_after, not_after=not_after, **kw).expired is None, "valid through notAfter itself"
    assert decide(now=not_after + timedelta(seconds=1), not_after=not_after, **kw).expired is not None
    assert next_check(now=NOW, not_after=not_after, **kw) == not_after + timedelta(seconds=1)
    # Once per CURRENT version: version 2 expiring is told again.
    told_once = replace(sent, expired_alert=ExpiredAlert(1, not_after.isoformat()))
    late = not_after + timedelta(days=1)
    assert decide(now=late, not_after=not_after, **{**kw, "state": told_once}).expired is None
    assert decide(now=late, not_after=not_after, **{**kw, "state": told_once, "current_version": 2}).expired == (
        ExpiredAlert(2, not_after.isoformat())
    )


def test_a_certificate_that_renews_itself_is_told_it_expired_when_its_renewal_never_happened() -> None:
    not_after = NOW + timedelta(days=2)
    due = NOW + timedelta(days=1)
    kw: dict[str, Any] = {"renews_itself": True, "next_renewal_at": due}
    told, _, _ = sweeps(not_after, every_ten_minutes(NOW, not_after + timedelta(hours=1)), **kw)
    # Nothing while its renewal is not due; then the nearest threshold, then expiry.
    assert [(t.at, t.what) for t in told] == [(due, "P7D"), (not_after + timedelta(minutes=10), "EXPIRED")]


def test_thresholds_changed_to_one_already_behind_alert_it_once_unless_a_nearer_one_was_told() -> None:
    not_after = NOW + timedelta(days=10)
    kw: dict[str, Any] = {"renews_itself": False, "next_renewal_at": None, "current_version": 1}
    told = decide(now=NOW, not_after=not_after, state=SweepState(), thresholds=(timedelta(days=5),), **kw)
    assert told.alerts == ()
    # Changed to P14D: 10 days left, so it is behind, and nothing nearer was told: told at once.
    fourteen = (timedelta(days=14), timedelta(days=1))
    assert next_check(now=NOW, not_after=not_after, state=SweepState(), thresholds=fourteen, **kw) == NOW
    alerts = decide(now=NOW, not_after=not_after, state=SweepState(), thresholds=fourteen, **kw).alerts
    assert [(a.threshold, a.announced) for a in alerts] == [("P14D", True)]
    # P7D told at 7 days left; changed to P9D afterwards: recorded, not told (the person already knows more).
    at_seven = SweepState(expiry_alerts=(ExpiryAlert("P7D", 1, not_after.isoformat()),))
    nine = (timedelta(days=9), timedelta(days=1))
    later = not_after - timedelta(days=6)
    alerts = decide(now=later, not_after=not_after, state=at_seven, thresholds=nine, **kw).alerts
    assert [(a.threshold, a.announced) for a in alerts] == [("P9D", False)]


# == the same through the API, the sweep service and the outbox (moto, a hand-moved clock) ========================


def _told(stream: TableStream) -> list[tuple[str, str]]:
    """(event type, threshold or version) of every expiry event the outbox makes of the table changes so far."""
    events = [e for r in stream.read() for e in r.events()]
    return [
        (e.detail_type, e.threshold if isinstance(e, CertificateExpiring) else str(e.version_number))
        for e in events
        if isinstance(e, CertificateExpiring | CertificateExpired)
    ]


def test_an_imported_certificate_with_two_days_left_alerts_at_once_then_expires_visibly(
    api: ApiClient, container: bootstrap.Container, clock: Clock, aws: Aws
) -> None:
    not_after = (clock() + timedelta(days=2)).replace(microsecond=0)
    created = api.post("/certificates", vendor_import(not_after))
    assert created.status == 201, created.body
    cert_id = created.body["id"]
    assert (created.body["expired"], created.body["currentVersion"]["expired"]) == (False, False)
    assert container.certificates.get(cert_id).next_check_at == clock(), "due at the next sweep"
    stream = TableStream(aws)
    stream.skip()

    clock.advance(minutes=1)
    report = container.sweep.run()
    assert (report["examined"], report["alerts"], report["expired"]) == (1, 1, 0)
    assert _told(stream) == [("CertificateExpiring", "P7D")], "the nearest threshold only, once"
    assert container.sweep.run()["examined"] == 0

    clock.now = not_after
    assert container.sweep.run()["examined"] == 0, "valid through notAfter itself"
    assert api.get(f"/certificates/{cert_id}").body["expired"] is False
    clock.advance(seconds=1)
    report = container.sweep.run()
    assert (report["examined"], report["alerts"], report["expired"]) == (1, 0, 1)
    (expired,) = [e for r in stream.read() for e in r.events()]
    assert isinstance(expired, CertificateExpired)
    assert (expired.resource_id, expired.certificate_name, expired.version_number) == (cert_id, "vendor", 1)
    assert (expired.not_after, expired.renews_itself) == (not_after.isoformat(), False)
    clock.advance(days=3)
    assert container.sweep.run()["examined"] == 0, "told once"

    shown = api.get(f"/certificates/{cert_id}").body
    assert (shown["lifecycleState"], shown["expired"]) == ("ACTIVE", True)
    assert (shown["currentVersion"]["stages"], shown["currentVersion"]["expired"]) == (["CURRENT", "LATEST"], True)
    assert api.get(f"/certificates/{cert_id}/versions/1").body["expired"] is True
    assert [v["expired"] for v in api.get(f"/certificates/{cert_id}/versions").body["items"]] == [True]


def test_an_issued_certificate_with_twenty_days_left_alerts_thirty_days_at_once_and_seven_days_later(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock, aws: Aws
) -> None:
    created = api.post("/certificates", leaf_body(hierarchy.issuing["id"], validityDuration="P20D"))
    assert created.status == 201, created.body
    not_after = datetime.fromisoformat(created.body["currentVersion"]["validity"]["notAfter"])
    stream = TableStream(aws)
    stream.skip()

    clock.advance(seconds=10)
    assert container.sweep.run()["alerts"] == 1
    assert _told(stream) == [("CertificateExpiring", "P30D")]
    clock.now = not_after - timedelta(days=7, seconds=1)
    assert container.sweep.run()["examined"] == 0
    clock.advance(seconds=1)
    assert container.sweep.run()["alerts"] == 1
    assert _told(stream) == [("CertificateExpiring", "P7D")]
    clock.now = not_after + timedelta(seconds=1)
    assert container.sweep.run()["expired"] == 1
    assert _told(stream) == [("CertificateExpired", "1")]


def test_changing_the_thresholds_recomputes_the_next_check(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock, aws: Aws
) -> None:
    created = api.post("/certificates", leaf_body(hierarchy.issuing["id"], validityDuration="P60D")).body
    not_after = datetime.fromisoformat(created["currentVersion"]["validity"]["notAfter"])
    assert container.certificates.get(created["id"]).next_check_at == not_after - timedelta(days=30)
    patched = api.call("PATCH", f"/certificates/{created['id']}", {"expiryAlertThresholds": ["P45D", "P1D"]})
    assert patched.status == 200, patched.body
    assert container.certificates.get(created["id"]).next_check_at == not_after - timedelta(days=45)

    stream = TableStream(aws)
    stream.skip()
    clock.now = not_after - timedelta(days=45)
    assert container.sweep.run()["alerts"] == 1
    assert _told(stream) == [("CertificateExpiring", "P45D")]
    # A threshold already behind when it is set is told at the next sweep.
    clock.now = not_after - timedelta(days=20)
    api.call("PATCH", f"/certificates/{created['id']}", {"expiryAlertThresholds": ["P21D", "P1D"]})
    assert container.certificates.get(created["id"]).next_check_at == clock()
    clock.advance(minutes=1)
    assert container.sweep.run()["alerts"] == 1
    assert _told(stream) == [("CertificateExpiring", "P21D")]
