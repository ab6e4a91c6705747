"""ISO-8601 durations: what parses, what is refused, and calendar-aware arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from certwright.domain.durations import Duration
from certwright.errors import InvalidInputError


@pytest.mark.parametrize(
    ("text", "months", "exact"),
    [
        ("P90D", 0, timedelta(days=90)),
        ("PT30M", 0, timedelta(minutes=30)),
        ("P1Y2M", 14, timedelta(0)),
        ("P2W", 0, timedelta(weeks=2)),
        ("PT1H30M", 0, timedelta(hours=1, minutes=30)),
        ("P1DT12H", 0, timedelta(days=1, hours=12)),
        ("PT45S", 0, timedelta(seconds=45)),
        ("P100Y", 1200, timedelta(0)),
    ],
)
def test_parses_calendar_and_exact_parts(text: str, months: int, exact: timedelta) -> None:
    duration = Duration.parse(text)
    assert duration.months == months
    assert duration.exact == exact
    assert str(duration) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "P",
        "PT",
        "P0D",
        "PT0S",
        "P0Y0M0DT0H0M0S",
        "90D",
        "P1.5D",
        "P1,5D",
        "P-1D",
        "p90d",
        "P1DT",
        "PT1D",
        "P1M1Y",
        " P90D",
        "P90D ",
        "P90D\n",
        "P\u0663D",  # ARABIC-INDIC DIGIT THREE: only ASCII digits are digits here
        "P" + "1" * 40 + "D",
        "PT" + "1" * 39 + "S",
        "P101Y",
        "P1201M",
        "P36600D",
        "P100Y1D",
        "P99Y12MT1S",
    ],
)
def test_refuses_malformed_zero_and_overlong_durations(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Duration.parse(text, field="validityDuration")
    assert caught.value.code == "InvalidParameter"
    assert "validityDuration" in caught.value.message


@pytest.mark.parametrize("value", [None, 90, ["P90D"]])
def test_refuses_values_that_are_not_text(value: object) -> None:
    with pytest.raises(InvalidInputError):
        Duration.parse(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "text", "end"),
    [
        (datetime(2023, 1, 31, 12, tzinfo=UTC), "P1M", datetime(2023, 2, 28, 12, tzinfo=UTC)),
        (datetime(2024, 1, 31, 12, tzinfo=UTC), "P1M", datetime(2024, 2, 29, 12, tzinfo=UTC)),
        (datetime(2024, 2, 29, tzinfo=UTC), "P1Y", datetime(2025, 2, 28, tzinfo=UTC)),
        (datetime(2024, 3, 31, tzinfo=UTC), "P1M", datetime(2024, 4, 30, tzinfo=UTC)),
        (datetime(2023, 11, 30, tzinfo=UTC), "P3M", datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2023, 1, 31, tzinfo=UTC), "P1MT1H", datetime(2023, 2, 28, 1, tzinfo=UTC)),
        (datetime(2023, 12, 31, 23, 30, tzinfo=UTC), "PT45M", datetime(2024, 1, 1, 0, 15, tzinfo=UTC)),
        (datetime(2023, 1, 1, tzinfo=UTC), "P2W", datetime(2023, 1, 15, tzinfo=UTC)),
    ],
)
def test_after_adds_months_on_the_calendar(start: datetime, text: str, end: datetime) -> None:
    assert Duration.parse(text).after(start) == end


@pytest.mark.parametrize(
    ("end", "text", "start"),
    [
        (datetime(2023, 3, 31, tzinfo=UTC), "P1M", datetime(2023, 2, 28, tzinfo=UTC)),
        (datetime(2024, 3, 31, tzinfo=UTC), "P1M", datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2024, 1, 15, tzinfo=UTC), "P1Y2M", datetime(2022, 11, 15, tzinfo=UTC)),
        (datetime(2024, 1, 1, 0, 15, tzinfo=UTC), "PT45M", datetime(2023, 12, 31, 23, 30, tzinfo=UTC)),
        (datetime(2024, 3, 31, 1, tzinfo=UTC), "P1MT1H", datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_before_subtracts_months_on_the_calendar(end: datetime, text: str, start: datetime) -> None:
    assert Duration.parse(text).before(end) == start


@pytest.mark.parametrize("text", ["P90D", "PT30M", "P2W", "PT1H30M", "P3DT4H5M6S"])
def test_before_undoes_after_for_exact_durations(text: str) -> None:
    moment = datetime(2024, 5, 17, 8, 9, 10, tzinfo=UTC)
    duration = Duration.parse(text)
    assert duration.before(duration.after(moment)) == moment
    assert duration.after(moment) - moment == duration.exact
