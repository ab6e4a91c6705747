"""Renewal rules and when a version is due for renewal; a pure function of the version's validity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from certwright.domain.durations import Duration
from certwright.errors import InvalidInputError

MIN_RENEWAL_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class RenewalRule:
    """Renew every `renewal_interval` after notBefore, and never later than `advance_renewal_period` before notAfter."""

    renewal_interval: Duration
    advance_renewal_period: Duration

    @classmethod
    def from_dict(cls, raw: dict[str, str], validity: Duration) -> RenewalRule:
        interval = Duration.parse(raw.get("renewalInterval", ""), field="renewalRule.renewalInterval")
        advance = Duration.parse(raw.get("advanceRenewalPeriod", ""), field="renewalRule.advanceRenewalPeriod")
        origin = datetime(2000, 1, 1)
        span = validity.after(origin) - origin
        if interval.after(origin) - origin < MIN_RENEWAL_INTERVAL:
            raise InvalidInputError("renewalRule.renewalInterval must be at least one minute")
        if advance.after(origin) - origin >= span:
            raise InvalidInputError(
                f"renewalRule.advanceRenewalPeriod {advance} must be shorter than the validity {validity}"
            )
        return cls(interval, advance)

    def as_dict(self) -> dict[str, str]:
        return {
            "renewalInterval": self.renewal_interval.text,
            "advanceRenewalPeriod": self.advance_renewal_period.text,
        }

    def next_renewal(self, not_before: datetime, not_after: datetime) -> datetime:
        return min(self.renewal_interval.after(not_before), self.advance_renewal_period.before(not_after))
