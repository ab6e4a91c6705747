"""ISO-8601 durations (P10Y, P90D, PT30M): parsing, calendar-aware addition, and ordering."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from certwright.errors import InvalidInputError

# ASCII digits only, and fullmatch: `$` alone would accept a trailing newline.
_PATTERN = re.compile(
    r"P(?!$)(?:(?P<years>\d{1,4})Y)?(?:(?P<months>\d{1,5})M)?(?:(?P<weeks>\d{1,5})W)?(?:(?P<days>\d{1,6})D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d{1,7})H)?(?:(?P<minutes>\d{1,9})M)?(?:(?P<seconds>\d{1,10})S)?)?",
    re.ASCII,
)
# "Longer than 100 years" is measured from a fixed start, so P100Y1D and P36600D are refused too.
_ORIGIN = datetime(2000, 1, 1)
_MAX_MONTHS = 100 * 12
_MAX_EXACT = timedelta(days=36600)


@dataclass(frozen=True)
class Duration:
    """A duration with a calendar part (years, months) and an exact part (days .. seconds)."""

    text: str
    months: int
    exact: timedelta

    @classmethod
    def parse(cls, text: str, *, field: str = "duration") -> Duration:
        if not isinstance(text, str) or len(text) > 40:
            raise InvalidInputError(f"{field} must be an ISO-8601 duration such as P90D or PT30M")
        match = _PATTERN.fullmatch(text)
        if match is None:
            raise InvalidInputError(f"{field} {text!r} is not an ISO-8601 duration such as P90D or PT30M")
        parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
        months = parts["years"] * 12 + parts["months"]
        exact = timedelta(
            weeks=parts["weeks"],
            days=parts["days"],
            hours=parts["hours"],
            minutes=parts["minutes"],
            seconds=parts["seconds"],
        )
        if months == 0 and exact == timedelta(0):
            raise InvalidInputError(f"{field} must be longer than zero")
        if months > _MAX_MONTHS or exact > _MAX_EXACT or _too_long(months, exact):
            raise InvalidInputError(f"{field} {text!r} is longer than 100 years")
        return cls(text=text, months=months, exact=exact)

    def after(self, start: datetime) -> datetime:
        """start + this duration, adding months on the calendar (Jan 31 + P1M = Feb 28/29)."""
        shifted = _add_months(start, self.months) if self.months else start
        return shifted + self.exact

    def before(self, end: datetime) -> datetime:
        shifted = _add_months(end, -self.months) if self.months else end
        return shifted - self.exact

    def __str__(self) -> str:
        return self.text


def _too_long(months: int, exact: timedelta) -> bool:
    return _add_months(_ORIGIN, months) + exact > _add_months(_ORIGIN, _MAX_MONTHS)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)
