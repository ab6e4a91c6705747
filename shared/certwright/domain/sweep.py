"""What the renewal sweep should do with one certificate now, and when it must look again; pure.

A chain of named checks (CHECKS) over the Facts of one certificate at an injected `now`: renew when due, alert once per expiry threshold (a threshold
already behind when a version becomes CURRENT is alerted at the next sweep, the nearest one only), say once when
the CURRENT version has expired, raise the dead-man's switch when a renewal is overdue, and back off after failures.
Each rule exists once, as a "when is it due" function (threshold_due_at, expiry_due_at, renewal_due_at,
overdue_due_at): the checks ask it whether the moment has come, next_check() asks it for the moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from certwright.domain.durations import Duration
from certwright.errors import CertwrightError, InvalidInputError

DEFAULT_THRESHOLDS = (timedelta(days=30), timedelta(days=7))
OVERDUE_AFTER = timedelta(minutes=15)
MAX_BACKOFF = timedelta(hours=1)
FIRST_BACKOFF = timedelta(minutes=1)


@dataclass(frozen=True)
class ExpiryAlert:
    threshold: str
    version_number: int
    not_after: str
    # Thresholds crossed together are all marked sent, but only the most urgent one is announced.
    announced: bool = True

    def as_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "versionNumber": self.version_number,
            "notAfter": self.not_after,
            "announced": self.announced,
        }


@dataclass(frozen=True)
class ExpiredAlert:
    """CertificateExpired was raised for CURRENT version `version_number`, which expired after `not_after`."""

    version_number: int
    not_after: str

    def as_dict(self) -> dict[str, object]:
        return {"versionNumber": self.version_number, "notAfter": self.not_after}


@dataclass(frozen=True)
class SweepState:
    """Bookkeeping the sweep keeps on each certificate; changes to it become alert events through the outbox."""

    expiry_alerts: tuple[ExpiryAlert, ...] = ()
    renewal_failures: int = 0
    last_error: str | None = None
    retry_at: datetime | None = None
    overdue_alerted_for: str | None = None
    expired_alert: ExpiredAlert | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None


@dataclass(frozen=True)
class Decision:
    renew: bool
    alerts: tuple[ExpiryAlert, ...]
    overdue_for: str | None
    expired: ExpiredAlert | None = None
    next_check_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


MAX_THRESHOLDS = 5


def parse_thresholds(raw: list[str], *, field: str = "expiryAlertThresholds") -> tuple[timedelta, ...]:
    """Expiry alert thresholds as ISO-8601 durations of days, hours, minutes (no months: they vary in length)."""
    if not 1 <= len(raw) <= MAX_THRESHOLDS:
        raise InvalidInputError(f"{field} takes 1 to {MAX_THRESHOLDS} durations")
    thresholds = []
    for text in raw:
        duration = Duration.parse(text, field=field)
        if duration.months or not timedelta(minutes=1) <= duration.exact <= timedelta(days=400):
            raise InvalidInputError(f"{field}: {text} must be between PT1M and P400D, in days, hours or minutes")
        thresholds.append(duration.exact)
    if len(set(thresholds)) != len(thresholds):
        raise InvalidInputError(f"{field} repeats a duration")
    return tuple(sorted(thresholds, reverse=True))


def threshold_label(threshold: timedelta) -> str:
    return f"P{threshold.days}D" if threshold.days and not threshold.seconds else f"PT{int(threshold.total_seconds())}S"


def has_expired(not_after: datetime, now: datetime) -> bool:
    """X.509 validity includes notAfter itself: a certificate has expired once that second is behind it."""
    return now > not_after


def _expiry_check_at(not_after: datetime) -> datetime:
    # The first moment has_expired() is true at the certificate's one-second resolution.
    return not_after + timedelta(seconds=1)


@dataclass(frozen=True)
class Facts:
    """What the sweep knows about one certificate at `now`: every check below reads these and nothing else."""

    now: datetime
    renews_itself: bool
    next_renewal_at: datetime | None
    current_version: int
    not_after: datetime | None
    state: SweepState
    thresholds: tuple[timedelta, ...] = DEFAULT_THRESHOLDS
    # The renewal rule makes new versions PENDING and the last one still waits for a person: renewing again
    # would only supersede it (its alerts and the overdue switch still apply).
    awaiting_promotion: bool = False


# --- the one copy of each rule (decide() asks "is it due now?", next_check() asks "when is it due?") -----------


def threshold_due_at(facts: Facts, threshold: timedelta) -> datetime | None:
    """When expiry threshold `threshold` of the CURRENT version is due to be told (None: never, or not yet known).

    It is crossed at notAfter - threshold; a certificate that renews itself is only worth the alert once its
    renewal is due and has not happened, so its thresholds wait for its renewal time. Once recorded for this
    version (in the sweep state), a threshold is never due again.
    """
    if facts.not_after is None or (threshold_label(threshold), facts.current_version) in _sent(facts.state):
        return None
    crossing = facts.not_after - threshold
    if not facts.renews_itself:
        return crossing
    if facts.next_renewal_at is None:
        return None
    return max(crossing, facts.next_renewal_at)


def expiry_due_at(facts: Facts) -> datetime | None:
    """When CertificateExpired is due for the CURRENT version: once, the first second past its notAfter."""
    if facts.not_after is None or not facts.current_version:
        return None
    told = facts.state.expired_alert
    if told is not None and told.version_number == facts.current_version:
        return None
    return _expiry_check_at(facts.not_after)


def renewal_due_at(facts: Facts) -> datetime | None:
    """When the certificate is renewed: its renewal time, or later while backing off after a failure."""
    if not facts.renews_itself or facts.next_renewal_at is None:
        return None
    return max(facts.next_renewal_at, facts.state.retry_at or facts.next_renewal_at)


def overdue_due_at(facts: Facts) -> datetime | None:
    """When RenewalOverdue is due (the dead-man's switch): OVERDUE_AFTER past the renewal time, once per time."""
    if not facts.renews_itself or facts.next_renewal_at is None:
        return None
    if facts.state.overdue_alerted_for == facts.next_renewal_at.isoformat():
        return None
    return facts.next_renewal_at + OVERDUE_AFTER


def _sent(state: SweepState) -> set[tuple[str, int]]:
    return {(a.threshold, a.version_number) for a in state.expiry_alerts}


# --- the chain of checks: each looks at the facts and adds its part to the decision ----------------------------


def check_renewal(facts: Facts, decision: Decision) -> Decision:
    """Renew when due, unless backing off after a failure or waiting for a person to promote the last renewal."""
    due = renewal_due_at(facts)
    renew = due is not None and due <= facts.now and not facts.awaiting_promotion
    return replace(decision, renew=renew)


def check_expiry_thresholds(facts: Facts, decision: Decision) -> Decision:
    """Every threshold due and not yet recorded for the CURRENT version is recorded; one is announced: the nearest,
    unless the version has already expired (CertificateExpired says so) or a threshold at least as near was
    announced before (the thresholds were changed since)."""
    crossed = [
        t
        for t in sorted(facts.thresholds, reverse=True)
        if (due := threshold_due_at(facts, t)) is not None and facts.now >= due
    ]
    if not crossed or facts.not_after is None:
        return decision
    version, not_after = facts.current_version, facts.not_after
    announced_before = [
        span
        for a in facts.state.expiry_alerts
        if a.version_number == version and a.announced and (span := _label_span(a.threshold)) is not None
    ]
    announce = not has_expired(not_after, facts.now) and all(crossed[-1] < span for span in announced_before)
    alerts = tuple(
        ExpiryAlert(threshold_label(t), version, not_after.isoformat(), announced=announce and t == crossed[-1])
        for t in crossed
    )
    return replace(decision, alerts=alerts)


def check_overdue(facts: Facts, decision: Decision) -> Decision:
    """The dead-man's switch: a renewal OVERDUE_AFTER past due and not yet reported for that renewal time."""
    due = overdue_due_at(facts)
    if due is None or facts.now < due or facts.next_renewal_at is None:
        return decision
    return replace(decision, overdue_for=facts.next_renewal_at.isoformat())


def check_expired(facts: Facts, decision: Decision) -> Decision:
    """CertificateExpired once per CURRENT version, whether or not it renews itself (then its renewal failed)."""
    if expiry_due_at(facts) is None or facts.not_after is None or not has_expired(facts.not_after, facts.now):
        return decision
    return replace(decision, expired=ExpiredAlert(facts.current_version, facts.not_after.isoformat()))


Check = Callable[[Facts, Decision], Decision]
CHECKS: tuple[Check, ...] = (check_renewal, check_expiry_thresholds, check_overdue, check_expired)


def decide(
    *,
    now: datetime,
    renews_itself: bool,
    next_renewal_at: datetime | None,
    current_version: int,
    not_after: datetime | None,
    state: SweepState,
    thresholds: tuple[timedelta, ...] = DEFAULT_THRESHOLDS,
    awaiting_promotion: bool = False,
) -> Decision:
    """What to do with one certificate now: the CHECKS applied in order (see Facts for `awaiting_promotion`)."""
    facts = Facts(
        now, renews_itself, next_renewal_at, current_version, not_after, state, thresholds, awaiting_promotion
    )
    decision = Decision(renew=False, alerts=(), overdue_for=None)
    for check in CHECKS:
        decision = check(facts, decision)
    return decision


def _label_span(label: str) -> timedelta | None:
    try:
        return Duration.parse(label).exact
    except CertwrightError:
        return None


def after_failure(state: SweepState, now: datetime, error: str) -> SweepState:
    failures = state.renewal_failures + 1
    backoff = min(FIRST_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)
    return replace(state, renewal_failures=failures, last_error=error[:500], retry_at=now + backoff)


def after_success(state: SweepState) -> SweepState:
    return replace(state, renewal_failures=0, last_error=None, retry_at=None)


def next_check(
    *,
    now: datetime,
    renews_itself: bool,
    next_renewal_at: datetime | None,
    current_version: int,
    not_after: datetime | None,
    state: SweepState,
    thresholds: tuple[timedelta, ...] = DEFAULT_THRESHOLDS,
) -> datetime | None:
    """The earliest moment anything can change for this certificate: renewal, retry, overdue, or an alert.

    An alert whose moment is already behind (a threshold crossed before the version became CURRENT, thresholds
    changed to one already crossed, an expiry nobody announced yet) is due `now`: the next sweep raises it, and
    records it, so it is never due again."""
    facts = Facts(now, renews_itself, next_renewal_at, current_version, not_after, state, thresholds)
    renewal = [when for when in (renewal_due_at(facts), overdue_due_at(facts)) if when is not None]
    alerts = [when for t in thresholds if (when := threshold_due_at(facts, t)) is not None]
    if (expiry := expiry_due_at(facts)) is not None:
        alerts.append(expiry)
    due = [c for c in renewal if c > now] + [max(c, now) for c in alerts]
    return min(due) if due else None
