"""Renewal rules and when a version is due for renewal; a pure function of the version's validity."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from certwright.domain.durations import Duration
from certwright.errors import InvalidInputError

MIN_RENEWAL_INTERVAL = timedelta(minutes=1)

# Calendar durations vary in length (P1M is 28 to 31 days); rules are checked at the extremes, found by
# starting on the first and the last days of every month of a common and a leap year.
_ORIGINS = tuple(
    datetime(year, month, day)
    for year in (2023, 2024)
    for month in range(1, 13)
    for day in (1, 28, 29, 30, 31)
    if day <= calendar.monthrange(year, month)[1]
)


def _shortest(duration: Duration) -> timedelta:
    return min(duration.after(start) - start for start in (_ORIGINS if duration.months else _ORIGINS[:1]))


def _longest_before(duration: Duration) -> timedelta:
    return max(end - duration.before(end) for end in (_ORIGINS if duration.months else _ORIGINS[:1]))


@dataclass(frozen=True)
class RenewalRule:
    """Renew every `renewal_interval` after notBefore, and never later than `advance_renewal_period` before notAfter."""

    renewal_interval: Duration
    advance_renewal_period: Duration
    # The stage a renewed version gets: CURRENT deploys it at once; PENDING waits for a promote.
    stage: str = "CURRENT"

    @classmethod
    def from_dict(cls, raw: dict[str, str], validity: Duration) -> RenewalRule:
        return cls.parse(
            raw.get("renewalInterval", ""), raw.get("advanceRenewalPeriod", ""), raw.get("stage"), validity
        )

    @classmethod
    def parse(
        cls, renewal_interval: str, advance_renewal_period: str, stage: str | None, validity: Duration
    ) -> RenewalRule:
        """The rule from its ISO-8601 texts, checked against the validity it renews."""
        interval = Duration.parse(renewal_interval, field="renewalRule.renewalInterval")
        advance = Duration.parse(advance_renewal_period, field="renewalRule.advanceRenewalPeriod")
        if _shortest(interval) < MIN_RENEWAL_INTERVAL:
            raise InvalidInputError("renewalRule.renewalInterval must be at least one minute")
        # Otherwise a version could fall due as soon as it is issued, and every renewal would renew again.
        if _longest_before(advance) + MIN_RENEWAL_INTERVAL > _shortest(validity):
            raise InvalidInputError(
                f"renewalRule.advanceRenewalPeriod {advance} must be at least one minute shorter than the "
                f"validity {validity}"
            )
        stage = stage or "CURRENT"
        if stage not in ("CURRENT", "PENDING"):
            raise InvalidInputError("renewalRule.stage must be CURRENT or PENDING")
        return cls(interval, advance, stage)

    def as_dict(self) -> dict[str, str]:
        return {
            "renewalInterval": self.renewal_interval.text,
            "advanceRenewalPeriod": self.advance_renewal_period.text,
            "stage": self.stage,
        }

    def next_renewal(self, not_before: datetime, not_after: datetime) -> datetime:
        return min(self.renewal_interval.after(not_before), self.advance_renewal_period.before(not_after))
