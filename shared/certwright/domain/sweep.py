"""What the renewal sweep should do with one certificate now, and when it must look again; pure.

A chain of small checks with an injected `now`: renew when due, alert once per expiry threshold (a threshold
already behind when a version becomes CURRENT is alerted at the next sweep, the nearest one only), say once when
the CURRENT version has expired, raise the dead-man's switch when a renewal is overdue, and back off after failures.
"""

from __future__ import annotations

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
    """`awaiting_promotion`: the renewal rule makes new versions PENDING, and the last one still waits for a person;
    renewing again would only supersede it (its alerts and the overdue switch still apply)."""
    renew = bool(renews_itself and next_renewal_at is not None and next_renewal_at <= now and not awaiting_promotion)
    if renew and state.retry_at is not None and state.retry_at > now:
        renew = False  # backing off after a failure
    # A certificate that renews itself is only worth an expiry alert once its renewal is due and has not happened.
    renewal_pending = not renews_itself or (next_renewal_at is not None and next_renewal_at <= now)
    alerts = _due_alerts(now, current_version, not_after, state, thresholds) if renewal_pending else ()
    overdue_for = None
    if renews_itself and next_renewal_at is not None and now >= next_renewal_at + OVERDUE_AFTER:
        due = next_renewal_at.isoformat()
        if state.overdue_alerted_for != due:
            overdue_for = due
    return Decision(renew, alerts, overdue_for, _expired(now, current_version, not_after, state))


def _due_alerts(
    now: datetime, version: int, not_after: datetime | None, state: SweepState, thresholds: tuple[timedelta, ...]
) -> tuple[ExpiryAlert, ...]:
    """Every threshold crossed and not yet recorded for `version` is recorded; one is announced: the nearest, unless
    it has already expired (CertificateExpired says so) or a threshold at least as near was announced before (the
    thresholds were changed since)."""
    if not_after is None:
        return ()
    sent = {(a.threshold, a.version_number) for a in state.expiry_alerts}
    crossed = [
        t
        for t in sorted(thresholds, reverse=True)
        if now >= not_after - t and (threshold_label(t), version) not in sent
    ]
    if not crossed:
        return ()
    announced_before = [
        span
        for a in state.expiry_alerts
        if a.version_number == version and a.announced and (span := _label_span(a.threshold)) is not None
    ]
    announce = not has_expired(not_after, now) and all(crossed[-1] < span for span in announced_before)
    return tuple(
        ExpiryAlert(threshold_label(t), version, not_after.isoformat(), announced=announce and t == crossed[-1])
        for t in crossed
    )


def _label_span(label: str) -> timedelta | None:
    try:
        return Duration.parse(label).exact
    except CertwrightError:
        return None


def _expired(now: datetime, version: int, not_after: datetime | None, state: SweepState) -> ExpiredAlert | None:
    """CertificateExpired once per CURRENT version, whether or not it renews itself (then its renewal failed)."""
    if not_after is None or not version or not has_expired(not_after, now):
        return None
    if state.expired_alert is not None and state.expired_alert.version_number == version:
        return None
    return ExpiredAlert(version, not_after.isoformat())


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
    candidates: list[datetime] = []
    if renews_itself and next_renewal_at is not None:
        candidates.append(max(next_renewal_at, state.retry_at or next_renewal_at))
        if state.overdue_alerted_for != next_renewal_at.isoformat():
            candidates.append(next_renewal_at + OVERDUE_AFTER)
    alerts: list[datetime] = []
    if not_after is not None:
        sent = {(a.threshold, a.version_number) for a in state.expiry_alerts}
        for threshold in thresholds:
            if (threshold_label(threshold), current_version) not in sent:
                crossing = not_after - threshold
                if renews_itself and next_renewal_at is not None:
                    crossing = max(crossing, next_renewal_at)  # alerts wait for the renewal to be due
                alerts.append(crossing)
        if current_version and (state.expired_alert is None or state.expired_alert.version_number != current_version):
            alerts.append(_expiry_check_at(not_after))
    due = [c for c in candidates if c > now] + [max(c, now) for c in alerts]
    return min(due) if due else None
