"""The sweep's chain of checks and its scheduler ask the same rules: what decide() does at a moment, next_check()
said would be due then, and nothing it leaves unsaid is due earlier (pure: domain/sweep.py, no AWS)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from certwright.domain.sweep import (
    CHECKS,
    OVERDUE_AFTER,
    Decision,
    ExpiredAlert,
    ExpiryAlert,
    SweepState,
    decide,
    next_check,
    threshold_label,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OFFSETS = [timedelta(0), *(timedelta(minutes=m) for m in (-90, -20, -1, 1, 20, 90, 60 * 24 * 10, -60 * 24 * 10))]
THRESHOLDS = (timedelta(days=30), timedelta(days=7), timedelta(hours=1), timedelta(minutes=5))


def acts(decision: Decision) -> bool:
    return decision.renew or bool(decision.alerts) or decision.overdue_for is not None or decision.expired is not None


def random_case(rng: random.Random) -> dict[str, object]:
    renews_itself = rng.random() < 0.6
    next_renewal_at = None if rng.random() < 0.2 else NOW + rng.choice(OFFSETS)
    not_after = None if rng.random() < 0.1 else NOW + rng.choice(OFFSETS) + timedelta(seconds=rng.choice((0, 30)))
    version = rng.choice((0, 1, 2))
    thresholds = tuple(sorted(rng.sample(THRESHOLDS, rng.randint(1, len(THRESHOLDS))), reverse=True))
    sent = tuple(
        ExpiryAlert(threshold_label(t), rng.choice((1, 2)), (not_after or NOW).isoformat())
        for t in THRESHOLDS
        if rng.random() < 0.3
    )
    state = SweepState(
        expiry_alerts=sent,
        retry_at=NOW + rng.choice(OFFSETS) if rng.random() < 0.3 else None,
        overdue_alerted_for=next_renewal_at.isoformat() if next_renewal_at and rng.random() < 0.3 else None,
        expired_alert=ExpiredAlert(rng.choice((1, 2)), (not_after or NOW).isoformat()) if rng.random() < 0.3 else None,
    )
    return {
        "renews_itself": renews_itself,
        "next_renewal_at": next_renewal_at,
        "current_version": version,
        "not_after": not_after,
        "state": state,
        "thresholds": thresholds,
    }


CASES = [random_case(random.Random(seed)) for seed in range(600)]


def test_the_checks_act_at_the_moment_next_check_names() -> None:
    silent = []
    for case in CASES:
        moment = next_check(now=NOW, **case)  # type: ignore[arg-type]
        if moment is not None and not acts(decide(now=moment, **case)):  # type: ignore[arg-type]
            silent.append((moment, case))
    assert silent == []


def test_no_alert_is_due_before_the_moment_next_check_names() -> None:
    early = []
    for case in CASES:
        moment = next_check(now=NOW, **case)  # type: ignore[arg-type]
        decision = decide(now=NOW, **case)  # type: ignore[arg-type]
        if (moment is None or moment > NOW) and (decision.alerts or decision.expired):
            early.append((moment, case))
    assert early == []


def test_the_random_cases_cover_every_kind_of_moment() -> None:
    """The property tests above mean something only if the cases reach every rule."""
    decisions = [decide(now=next_check(now=NOW, **c) or NOW, **c) for c in CASES]  # type: ignore[arg-type]
    assert any(d.renew for d in decisions)
    assert any(d.alerts for d in decisions)
    assert any(d.overdue_for for d in decisions)
    assert any(d.expired for d in decisions)


def test_a_self_renewing_certificate_without_a_renewal_time_is_not_scheduled_for_alerts_it_never_raises() -> None:
    """Before: next_check() scheduled the threshold crossing (then `now`, every sweep) while decide() held the
    alert back until a renewal that has no time; now both ask threshold_due_at()."""
    case = {
        "renews_itself": True,
        "next_renewal_at": None,
        "current_version": 1,
        "not_after": NOW + timedelta(days=3),
        "state": SweepState(),
        "thresholds": (timedelta(days=7),),
    }
    assert decide(now=NOW, **case).alerts == ()  # type: ignore[arg-type]
    assert next_check(now=NOW, **case) == NOW + timedelta(days=3, seconds=1)  # type: ignore[arg-type]


def test_the_chain_is_the_named_checks_in_order() -> None:
    assert [check.__name__ for check in CHECKS] == [
        "check_renewal",
        "check_expiry_thresholds",
        "check_overdue",
        "check_expired",
    ]


def test_each_check_adds_only_its_part() -> None:
    state = SweepState()
    nr = NOW - OVERDUE_AFTER - timedelta(minutes=1)
    decision = decide(
        now=NOW,
        renews_itself=True,
        next_renewal_at=nr,
        current_version=1,
        not_after=NOW - timedelta(seconds=5),
        state=state,
        thresholds=(timedelta(days=7),),
    )
    assert decision.renew
    assert decision.overdue_for == nr.isoformat()
    assert decision.expired == ExpiredAlert(1, (NOW - timedelta(seconds=5)).isoformat())
    # Crossed, recorded, but not announced: the version has already expired and CertificateExpired says so.
    assert [(a.threshold, a.announced) for a in decision.alerts] == [("P7D", False)]
