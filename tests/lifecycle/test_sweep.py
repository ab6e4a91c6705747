"""The renewal sweep: the pure decision (thresholds, overdue, backoff) and the service on moto with a hand-moved clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from certwright import bootstrap
from certwright.domain.stages import Stage
from certwright.domain.sweep import (
    FIRST_BACKOFF,
    MAX_BACKOFF,
    OVERDUE_AFTER,
    ExpiredAlert,
    ExpiryAlert,
    SweepState,
    after_failure,
    after_success,
    decide,
    next_check,
    threshold_label,
)
from certwright.events import CertificateExpiring, DomainEvent, RenewalFailed, RenewalOverdue
from certwright.services.context import Runtime
from certwright.services.sweep import RenewalSweep
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body
from tests.lifecycle.faults import Fault, Faults, json_error
from tests.lifecycle.handlers import LambdaContext, load_function
from tests.lifecycle.table_stream import TableStream

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FAST_RULE = {"renewalInterval": "PT20M", "advanceRenewalPeriod": "PT5M"}


# == the decision, pure ===========================================================================================


NOTHING_YET = SweepState()


def judge(now: datetime, *, not_after: datetime, state: SweepState = NOTHING_YET, **kw: Any) -> Any:
    arguments: dict[str, Any] = {
        "now": now,
        "renews_itself": False,
        "next_renewal_at": None,
        "current_version": 1,
        "not_after": not_after,
        "state": state,
    }
    arguments.update(kw)
    return decide(**arguments)


def remember(state: SweepState, alerts: tuple[ExpiryAlert, ...]) -> SweepState:
    return replace(state, expiry_alerts=(*state.expiry_alerts, *alerts))


def test_each_threshold_is_alerted_once_as_it_is_crossed() -> None:
    expiry = NOW + timedelta(days=60)
    assert judge(expiry - timedelta(days=31), not_after=expiry).alerts == ()

    thirty = judge(expiry - timedelta(days=30), not_after=expiry).alerts
    assert [(a.threshold, a.version_number, a.announced) for a in thirty] == [("P30D", 1, True)]
    state = remember(SweepState(), thirty)
    assert judge(expiry - timedelta(days=20), not_after=expiry, state=state).alerts == ()

    seven = judge(expiry - timedelta(days=7), not_after=expiry, state=state).alerts
    assert [(a.threshold, a.announced) for a in seven] == [("P7D", True)]
    state = remember(state, seven)
    assert judge(expiry - timedelta(days=1), not_after=expiry, state=state).alerts == ()


def test_thresholds_crossed_together_are_all_recorded_but_only_the_most_urgent_is_announced() -> None:
    expiry = NOW + timedelta(days=5)
    alerts = judge(NOW, not_after=expiry).alerts
    assert [(a.threshold, a.announced) for a in alerts] == [("P30D", False), ("P7D", True)]
    assert judge(NOW, not_after=expiry, state=remember(SweepState(), alerts)).alerts == ()


def test_alerts_are_per_version_and_past_expiry_only_the_expiry_is_announced() -> None:
    expiry = NOW + timedelta(days=5)
    sent = remember(SweepState(), judge(NOW, not_after=expiry).alerts)
    again = judge(NOW, not_after=expiry, state=sent, current_version=2).alerts
    assert [(a.threshold, a.version_number) for a in again] == [("P30D", 2), ("P7D", 2)]
    late = judge(expiry + timedelta(days=3), not_after=expiry)
    assert [(a.threshold, a.announced) for a in late.alerts] == [("P30D", False), ("P7D", False)]
    assert late.expired == ExpiredAlert(1, expiry.isoformat())


def test_a_certificate_that_renews_itself_alerts_only_once_its_renewal_is_due() -> None:
    expiry = NOW + timedelta(days=5)
    due = NOW + timedelta(days=1)
    early = judge(NOW, not_after=expiry, renews_itself=True, next_renewal_at=due)
    assert (early.renew, early.alerts) == (False, ())
    late = judge(due, not_after=expiry, renews_itself=True, next_renewal_at=due)
    assert late.renew is True
    assert [a.threshold for a in late.alerts if a.announced] == ["P7D"]


def test_overdue_is_raised_fifteen_minutes_after_the_due_time_once_per_due_time() -> None:
    expiry, due = NOW + timedelta(days=60), NOW
    kw: dict[str, Any] = {"not_after": expiry, "renews_itself": True, "next_renewal_at": due}
    assert judge(due + OVERDUE_AFTER - timedelta(seconds=1), **kw).overdue_for is None
    assert judge(due + OVERDUE_AFTER, **kw).overdue_for == due.isoformat()
    alerted = SweepState(overdue_alerted_for=due.isoformat())
    assert judge(due + timedelta(hours=2), state=alerted, **kw).overdue_for is None
    later = due + timedelta(days=1)
    assert judge(later + OVERDUE_AFTER, state=alerted, **{**kw, "next_renewal_at": later}).overdue_for == (
        later.isoformat()
    )
    assert judge(due + timedelta(hours=1), not_after=expiry).overdue_for is None, "only for self-renewing ones"


def test_failures_back_off_doubling_from_one_minute_up_to_an_hour() -> None:
    state, waits = SweepState(), []
    for _ in range(9):
        state = after_failure(state, NOW, "ServiceUnavailable: KMS Sign")
        assert state.retry_at is not None
        waits.append(state.retry_at - NOW)
    minutes = [int(w.total_seconds() // 60) for w in waits]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert waits[0] == FIRST_BACKOFF
    assert max(waits) == MAX_BACKOFF
    assert (state.renewal_failures, state.last_error) == (9, "ServiceUnavailable: KMS Sign")
    assert after_failure(SweepState(), NOW, "x" * 2000).last_error == "x" * 500

    kw: dict[str, Any] = {"not_after": NOW + timedelta(days=60), "renews_itself": True, "next_renewal_at": NOW}
    failed = after_failure(SweepState(), NOW, "boom")
    assert judge(NOW + timedelta(seconds=59), state=failed, **kw).renew is False
    assert judge(NOW + FIRST_BACKOFF, state=failed, **kw).renew is True
    cleared = after_success(failed)
    assert (cleared.renewal_failures, cleared.last_error, cleared.retry_at) == (0, None, None)


def test_a_pending_renewal_awaiting_promotion_is_not_renewed_again() -> None:
    kw: dict[str, Any] = {"not_after": NOW + timedelta(days=5), "renews_itself": True, "next_renewal_at": NOW}
    waiting = judge(NOW + OVERDUE_AFTER, awaiting_promotion=True, **kw)
    assert waiting.renew is False
    assert waiting.overdue_for == NOW.isoformat(), "a person still has to act: the switch stays armed"
    assert [a.threshold for a in waiting.alerts if a.announced] == ["P7D"]


def test_next_check_is_the_earliest_future_moment_anything_can_change() -> None:
    expiry = NOW + timedelta(days=60)
    due = NOW + timedelta(hours=1)

    def check(state: SweepState = NOTHING_YET, **kw: Any) -> datetime | None:
        arguments: dict[str, Any] = {
            "now": NOW,
            "renews_itself": True,
            "next_renewal_at": due,
            "current_version": 1,
            "not_after": expiry,
            "state": state,
        }
        return next_check(**{**arguments, **kw})

    assert check() == due
    assert check(state=SweepState(retry_at=due + timedelta(minutes=2))) == due + timedelta(minutes=2)
    # Past the due time (renewal failing), the next thing is the overdue switch.
    assert check(now=due + timedelta(minutes=1), state=SweepState(retry_at=due)) == due + OVERDUE_AFTER
    # Not renewing itself: the next threshold crossing.
    assert check(renews_itself=False, next_renewal_at=None) == expiry - timedelta(days=30)
    sent = SweepState(expiry_alerts=(ExpiryAlert("P30D", 1, expiry.isoformat()),))
    assert check(renews_itself=False, next_renewal_at=None, state=sent) == expiry - timedelta(days=7)
    everything_sent = remember(sent, (ExpiryAlert("P7D", 1, expiry.isoformat()),))
    # Every threshold behind it: the first second past notAfter, when CertificateExpired is due.
    assert check(renews_itself=False, next_renewal_at=None, state=everything_sent) == expiry + timedelta(seconds=1)
    said_expired = replace(everything_sent, expired_alert=ExpiredAlert(1, expiry.isoformat()))
    assert check(renews_itself=False, next_renewal_at=None, state=said_expired) is None
    assert check(renews_itself=False, next_renewal_at=None, not_after=None) is None
    assert threshold_label(timedelta(hours=12)) == "PT43200S"


# == the service, against moto ====================================================================================


def fast_certificate(api: ApiClient, hierarchy: Hierarchy, **overrides: Any) -> dict[str, Any]:
    body = leaf_body(hierarchy.issuing["id"], validityDuration="PT30M", renewalRule=FAST_RULE)
    body.update(overrides)
    answer = api.post("/certificates", body)
    assert answer.status == 201, answer.body
    return dict(answer.body)


def stages_of(container: bootstrap.Container, certificate_id: str) -> list[tuple[int, frozenset[Stage]]]:
    return [(v.version_number, v.stages) for v in container.certificates.versions(certificate_id)]


def assert_one_current_and_dense(container: bootstrap.Container, certificate_id: str) -> None:
    versions = container.certificates.versions(certificate_id)
    assert [v.version_number for v in versions] == list(range(1, len(versions) + 1)), "dense version numbers"
    assert sum(Stage.CURRENT in v.stages for v in versions) == 1, "exactly one CURRENT"
    assert len({v.serial_number for v in versions}) == len(versions)


def alert_events(stream: TableStream) -> list[DomainEvent]:
    kinds = (CertificateExpiring, RenewalFailed, RenewalOverdue)
    return [event for record in stream.read() for event in record.events() if isinstance(event, kinds)]


def test_a_certificate_is_renewed_once_its_renewal_is_due_and_not_before(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock, stream: TableStream
) -> None:
    cert = fast_certificate(api, hierarchy)
    issued = clock()
    clock.advance(minutes=19, seconds=59)
    report = container.sweep.run()
    assert (report["examined"], report["renewed"]) == (0, 0)
    assert stages_of(container, cert["id"]) == [(1, {Stage.CURRENT, Stage.LATEST})]

    clock.advance(seconds=1)
    stream.skip()
    report = container.sweep.run()
    assert (report["examined"], report["renewed"], report["failed"], report["more"]) == (1, 1, 0, False)
    assert stages_of(container, cert["id"]) == [(1, {Stage.PREVIOUS}), (2, {Stage.CURRENT, Stage.LATEST})]
    assert_one_current_and_dense(container, cert["id"])
    renewed = container.certificates.get(cert["id"])
    assert renewed.current_version_number == 2
    assert renewed.next_renewal_at == issued + timedelta(minutes=40)
    assert renewed.next_check_at == renewed.next_renewal_at
    assert (renewed.sweep.lease_owner, renewed.sweep.renewal_failures) == (None, 0)
    assert alert_events(stream) == [], "a renewal on time raises no alert"

    assert container.sweep.run()["examined"] == 0, "nothing is due until the next renewal"


def test_the_sweep_reads_what_is_due_not_what_is_stored(
    api: ApiClient,
    hierarchy: Hierarchy,
    container: bootstrap.Container,
    clock: Clock,
    aws: Aws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sweep's inventory reindex page walks up to its batch of stored resources by design (services/reindex.py,
    # bounded by that batch, tests/contract/test_reindex.py); what is measured here is the renewal work.
    monkeypatch.setattr(container.sweep, "_reindex", None)

    def reads_of_one_sweep() -> dict[str, int]:
        before = dict(aws.calls.calls)
        report = container.sweep.run()
        assert (report["examined"], report["renewed"]) == (1, 1)
        return {
            op: aws.calls[op] - before.get(op, 0)
            for op in ("dynamodb.Query", "dynamodb.GetItem", "dynamodb.Scan", "dynamodb.BatchGetItem")
        }

    first = fast_certificate(api, hierarchy, name="first")
    # Fillers have more time left than any threshold: nothing about them is due.
    for index in range(2):
        api.post("/certificates", leaf_body(hierarchy.issuing["id"], name=f"filler-{index}", validityDuration="P60D"))
    clock.advance(minutes=20)
    few = reads_of_one_sweep()
    # Out of the way, so the second measurement renews a certificate with the same history (one version).
    assert api.post(f"/certificates/{first['id']}/actions/schedule-deletion", {}).status == 200

    fast_certificate(api, hierarchy, name="second")
    for index in range(2, 29):
        api.post("/certificates", leaf_body(hierarchy.issuing["id"], name=f"filler-{index}", validityDuration="P60D"))
    assert len(container.store.list_certificates(100, None).items) == 31
    clock.advance(minutes=20)
    many = reads_of_one_sweep()

    assert many == few, "1 due among 30 costs what 1 due among 3 costs"
    assert many["dynamodb.Scan"] == 0
    assert many["dynamodb.Query"] + many["dynamodb.GetItem"] <= 12

    before = dict(aws.calls.calls)
    assert container.sweep.run()["examined"] == 0
    idle = {op: aws.calls[op] - before.get(op, 0) for op in ("dynamodb.Query", "dynamodb.GetItem")}
    # Nothing due: one index query for renewals and one for the repair pass (half-done creates), nothing else.
    assert idle == {"dynamodb.Query": 2, "dynamodb.GetItem": 0}


def second_sweep(container: bootstrap.Container, clock: Clock, owner: str) -> RenewalSweep:
    return RenewalSweep(container.store, container.issuance, Runtime(clock=clock), owner=owner)


def test_a_sweep_arriving_while_another_holds_the_lease_skips(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock, faults: Faults
) -> None:
    cert = fast_certificate(api, hierarchy)
    first, second = second_sweep(container, clock, "sweep-a"), second_sweep(container, clock, "sweep-b")
    clock.advance(minutes=20)
    reports: list[dict[str, Any]] = []
    # While the first sweep is signing (lease held), the second one runs from start to end.
    faults.arm(Fault("Sign", times=1, meanwhile=lambda: reports.append(second.run())))
    report = first.run()
    assert len(reports) == 1
    assert (reports[0]["examined"], reports[0]["skipped"], reports[0]["renewed"]) == (1, 1, 0)
    assert (report["renewed"], report["skipped"]) == (1, 0)
    assert stages_of(container, cert["id"]) == [(1, {Stage.PREVIOUS}), (2, {Stage.CURRENT, Stage.LATEST})]
    assert container.certificates.get(cert["id"]).sweep.lease_owner is None, "the lease is released"


def test_a_sweep_whose_claim_loses_the_race_skips(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock, faults: Faults
) -> None:
    cert = fast_certificate(api, hierarchy)
    first, second = second_sweep(container, clock, "sweep-a"), second_sweep(container, clock, "sweep-b")
    clock.advance(minutes=20)
    reports: list[dict[str, Any]] = []
    # Both have read the due list; the second claims, renews and finishes before the first's claim is written.
    faults.arm(
        Fault("PutItem", times=1, when=lambda body: "sweep-a" in body, meanwhile=lambda: reports.append(second.run()))
    )
    report = first.run()
    assert (reports[0]["renewed"], report["renewed"], report["skipped"]) == (1, 0, 1)
    assert stages_of(container, cert["id"]) == [(1, {Stage.PREVIOUS}), (2, {Stage.CURRENT, Stage.LATEST})]
    assert_one_current_and_dense(container, cert["id"])


def test_work_per_run_is_bounded_and_the_rest_stays_due(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock
) -> None:
    ids = [fast_certificate(api, hierarchy, name=f"fast-{i}")["id"] for i in range(5)]
    clock.advance(minutes=20)
    # The production batch is 25; two per run over five due certificates is the same situation, smaller.
    bounded = RenewalSweep(container.store, container.issuance, Runtime(clock=clock), batch=2, owner="bounded")
    runs = []
    for _ in range(5):  # bounded: three runs are needed
        runs.append(bounded.run())
        if not runs[-1]["more"]:
            break
    assert [(r["renewed"], r["more"]) for r in runs] == [(2, True), (2, True), (1, False)]
    for certificate_id in ids:
        assert [n for n, _ in stages_of(container, certificate_id)] == [1, 2], "each renewed exactly once"


def test_the_handler_stops_when_the_invocation_runs_out_of_time(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock
) -> None:
    cert = fast_certificate(api, hierarchy)
    clock.advance(minutes=20)
    handler = load_function("renewal_sweep").lambda_handler
    scheduled = {"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    hurried = handler(scheduled, LambdaContext(function_name="renewal-sweep", remaining_ms=10_000))
    assert (hurried["examined"], hurried["renewed"], hurried["more"]) == (0, 0, True)
    assert [n for n, _ in stages_of(container, cert["id"])] == [1]
    relaxed = handler(scheduled, LambdaContext(function_name="renewal-sweep"))
    assert (relaxed["examined"], relaxed["renewed"], relaxed["more"]) == (1, 1, False)


def test_kms_throttled_mid_renewal_fails_that_version_backs_off_then_renews(
    api: ApiClient,
    hierarchy: Hierarchy,
    container: bootstrap.Container,
    clock: Clock,
    faults: Faults,
    stream: TableStream,
) -> None:
    cert = fast_certificate(api, hierarchy)
    clock.advance(minutes=20)
    failed_at = clock()
    stream.skip()
    throttle = faults.arm(Fault("Sign", json_error("ThrottlingException", "Rate exceeded")))
    report = container.sweep.run()
    assert (report["renewed"], report["failed"]) == (0, 1)
    assert throttle.hits == 6, "botocore retried the throttled Sign (one try, five retries)"
    faults.disarm()

    assert stages_of(container, cert["id"]) == [(1, {Stage.CURRENT, Stage.LATEST}), (2, {Stage.FAILED})]
    stored = container.certificates.get(cert["id"])
    assert stored.current_version_number == 1, "no new CURRENT"
    assert stored.sweep.renewal_failures == 1
    assert stored.sweep.retry_at == failed_at + timedelta(minutes=1)
    assert stored.sweep.last_error is not None and "Throttling" in stored.sweep.last_error
    assert stored.next_check_at == stored.sweep.retry_at
    failures = alert_events(stream)
    # Its renewal is due and did not happen, and it has less than 7 days left: the nearest threshold is told too.
    assert [(type(e), getattr(e, "attempt", getattr(e, "threshold", None))) for e in failures] == [
        (CertificateExpiring, "P7D"),
        (RenewalFailed, 1),
    ]

    clock.advance(seconds=59)
    assert container.sweep.run()["examined"] == 0, "backing off"
    clock.advance(seconds=1)
    report = container.sweep.run()
    assert (report["renewed"], report["failed"]) == (1, 0)
    assert stages_of(container, cert["id"]) == [
        (1, {Stage.PREVIOUS}),
        (2, {Stage.FAILED}),
        (3, {Stage.CURRENT, Stage.LATEST}),
    ]
    assert_one_current_and_dense(container, cert["id"])
    recovered = container.certificates.get(cert["id"])
    assert (recovered.sweep.renewal_failures, recovered.sweep.retry_at) == (0, None)


def test_a_renewal_that_keeps_failing_raises_the_overdue_switch_once(
    api: ApiClient,
    hierarchy: Hierarchy,
    container: bootstrap.Container,
    clock: Clock,
    faults: Faults,
    stream: TableStream,
) -> None:
    cert = fast_certificate(api, hierarchy, validityDuration="PT2H")
    due = container.certificates.get(cert["id"]).next_renewal_at
    assert due is not None
    faults.arm(Fault("Sign", json_error("ThrottlingException")))
    stream.skip()
    clock.advance(minutes=20)
    for _ in range(6):  # bounded: failures back off, the switch trips at due + 15 min
        container.sweep.run()
        clock.advance(minutes=4)
    overdue = [e for e in alert_events(stream) if isinstance(e, RenewalOverdue)]
    assert [(e.resource_id, e.due_at) for e in overdue] == [(cert["id"], due.isoformat())]
    assert container.certificates.get(cert["id"]).current_version_number == 1


def test_a_late_but_successful_renewal_is_not_overdue(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock, stream: TableStream
) -> None:
    cert = fast_certificate(api, hierarchy, validityDuration="PT2H")
    stream.skip()
    clock.advance(minutes=40)  # the sweep did not run for 20 minutes after the due time
    report = container.sweep.run()
    assert (report["renewed"], report["overdue"]) == (1, 0)
    assert container.certificates.get(cert["id"]).sweep.overdue_alerted_for is None
    assert alert_events(stream) == []


def test_a_pending_renewal_waits_for_its_promotion(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock
) -> None:
    cert = fast_certificate(api, hierarchy, renewalRule={**FAST_RULE, "stage": "PENDING"})
    clock.advance(minutes=20)
    assert container.sweep.run()["renewed"] == 1
    for _ in range(4):  # bounded: past the overdue switch and beyond
        clock.advance(minutes=4)
        assert container.sweep.run()["renewed"] == 0
    assert stages_of(container, cert["id"]) == [(1, {Stage.CURRENT}), (2, {Stage.PENDING, Stage.LATEST})]

    assert api.post(f"/certificates/{cert['id']}/versions/2/actions/promote", {}).status == 200
    promoted = container.certificates.get(cert["id"])
    assert promoted.next_renewal_at is not None and promoted.next_renewal_at > clock()
    clock.now = promoted.next_renewal_at
    assert container.sweep.run()["renewed"] == 1
    assert [n for n, _ in stages_of(container, cert["id"])] == [1, 2, 3]
    assert_one_current_and_dense(container, cert["id"])


def csr_pem(common_name: str = "www.example.com") -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


def test_a_csr_managed_certificate_is_alerted_at_once_then_at_seven_days_and_never_renewed(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock, stream: TableStream
) -> None:
    body = {
        "name": "external",
        "configType": "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
        "issuerCertificateAuthorityId": hierarchy.issuing["id"],
        "profile": "TLS_SERVER",
        "validityDuration": "P10D",
        "csrPem": csr_pem(),
        # A rule does not make the service renew what it holds no key for.
        "renewalRule": {"renewalInterval": "P1D", "advanceRenewalPeriod": "P2D"},
    }
    answer = api.post("/certificates", body)
    assert answer.status == 201, answer.body
    cert = answer.body
    not_after = datetime.fromisoformat(cert["currentVersion"]["validity"]["notAfter"])
    stream.skip()

    clock.advance(days=2)
    report = container.sweep.run()
    assert (report["examined"], report["renewed"], report["alerts"]) == (1, 0, 1), "born inside P30D: told at once"
    (thirty,) = alert_events(stream)
    assert isinstance(thirty, CertificateExpiring) and thirty.threshold == "P30D"
    assert container.sweep.run()["examined"] == 0, "nothing more to say yet, nothing to renew"
    clock.now = not_after - timedelta(days=7)
    report = container.sweep.run()
    assert (report["examined"], report["renewed"], report["alerts"]) == (1, 0, 1)
    stored = container.certificates.get(cert["id"])
    assert [(a.threshold, a.announced) for a in stored.sweep.expiry_alerts] == [("P30D", True), ("P7D", True)]
    (expiring,) = alert_events(stream)
    assert isinstance(expiring, CertificateExpiring)
    assert (expiring.threshold, expiring.version_number, expiring.renews_itself) == ("P7D", 1, False)
    assert stored.next_check_at == not_after + timedelta(seconds=1), "every threshold is behind it: expiry is next"

    clock.advance(days=6)
    assert container.sweep.run()["examined"] == 0
    assert [n for n, _ in stages_of(container, cert["id"])] == [1], "never renewed"
    assert alert_events(stream) == []


def test_each_threshold_of_a_certificate_without_a_rule_comes_due_in_the_index_at_its_moment(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock
) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"], validityDuration="P60D")).body
    not_after = datetime.fromisoformat(cert["currentVersion"]["validity"]["notAfter"])
    for days, label in ((30, "P30D"), (7, "P7D")):
        clock.now = not_after - timedelta(days=days, seconds=1)
        assert all(c.id != cert["id"] for c in container.store.due_for_sweep(clock(), 25))
        clock.advance(seconds=1)
        assert [c.id for c in container.store.due_for_sweep(clock(), 25)] == [cert["id"]]
        assert container.sweep.run()["alerts"] == 1
        assert container.certificates.get(cert["id"]).sweep.expiry_alerts[-1].threshold == label
