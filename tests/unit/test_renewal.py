"""Renewal rules: what a valid rule is, and when a version falls due."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import pytest
from certwright.domain.durations import Duration
from certwright.domain.renewal import RenewalRule
from certwright.errors import InvalidInputError

NOT_BEFORE = datetime(2024, 1, 10, 12, tzinfo=UTC)


def rule(interval: str, advance: str, validity: str = "P90D") -> RenewalRule:
    return RenewalRule.from_dict(
        {"renewalInterval": interval, "advanceRenewalPeriod": advance}, Duration.parse(validity)
    )


def test_a_valid_rule_keeps_its_durations_and_round_trips() -> None:
    parsed = rule("P60D", "P7D")
    assert parsed.renewal_interval == Duration.parse("P60D")
    assert parsed.advance_renewal_period == Duration.parse("P7D")
    assert parsed.as_dict() == {"renewalInterval": "P60D", "advanceRenewalPeriod": "P7D", "stage": "CURRENT"}
    assert RenewalRule.from_dict(parsed.as_dict(), Duration.parse("P90D")) == parsed


def test_a_rule_may_stage_renewals_as_pending_and_nothing_else() -> None:
    pending = RenewalRule.from_dict(
        {"renewalInterval": "P60D", "advanceRenewalPeriod": "P7D", "stage": "PENDING"}, Duration.parse("P90D")
    )
    assert pending.stage == "PENDING"
    with pytest.raises(InvalidInputError):
        RenewalRule.from_dict(
            {"renewalInterval": "P60D", "advanceRenewalPeriod": "P7D", "stage": "LATEST"}, Duration.parse("P90D")
        )


@pytest.mark.parametrize(
    ("raw", "validity", "field"),
    [
        ({"advanceRenewalPeriod": "P7D"}, "P90D", "renewalInterval"),
        ({"renewalInterval": "P60D"}, "P90D", "advanceRenewalPeriod"),
        ({"renewalInterval": "60 days", "advanceRenewalPeriod": "P7D"}, "P90D", "renewalInterval"),
        ({"renewalInterval": "P60D", "advanceRenewalPeriod": "P0D"}, "P90D", "advanceRenewalPeriod"),
        ({"renewalInterval": "PT59S", "advanceRenewalPeriod": "P7D"}, "P90D", "renewalInterval"),
        ({"renewalInterval": "P60D", "advanceRenewalPeriod": "P90D"}, "P90D", "advanceRenewalPeriod"),
        ({"renewalInterval": "P60D", "advanceRenewalPeriod": "P3M"}, "P90D", "advanceRenewalPeriod"),
        ({"renewalInterval": "PT10M", "advanceRenewalPeriod": "PT1H"}, "PT30M", "advanceRenewalPeriod"),
        # P1M can be as short as 28 days (from February), so a 30-day advance could precede notBefore.
        ({"renewalInterval": "P20D", "advanceRenewalPeriod": "P30D"}, "P1M", "advanceRenewalPeriod"),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(raw: dict[str, str], validity: str, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        RenewalRule.from_dict(raw, Duration.parse(validity))
    assert f"renewalRule.{field}" in caught.value.message


def test_the_shortest_interval_is_one_minute() -> None:
    assert rule("PT1M", "PT5M", "PT30M").renewal_interval == Duration.parse("PT1M")


def test_an_advance_at_least_a_minute_short_of_the_validity_is_allowed() -> None:
    assert rule("P60D", "P89DT23H59M").advance_renewal_period.exact == timedelta(days=90) - timedelta(minutes=1)
    assert rule("P10D", "P27D", "P1M").advance_renewal_period == Duration.parse("P27D")


def test_an_advance_that_would_make_a_new_version_due_at_once_is_refused() -> None:
    # Validity is inclusive, so notAfter - P89DT23H59M59S is notBefore itself: every renewal would renew again.
    with pytest.raises(InvalidInputError):
        rule("P60D", "P89DT23H59M59S")


def test_renewal_is_due_after_the_interval_when_that_comes_first() -> None:
    not_after = NOT_BEFORE + timedelta(days=90) - timedelta(seconds=1)
    assert rule("P60D", "P7D").next_renewal(NOT_BEFORE, not_after) == NOT_BEFORE + timedelta(days=60)


def test_renewal_is_due_the_advance_period_before_expiry_when_that_comes_first() -> None:
    not_after = NOT_BEFORE + timedelta(days=90) - timedelta(seconds=1)
    assert rule("P80D", "P30D").next_renewal(NOT_BEFORE, not_after) == not_after - timedelta(days=30)


def test_calendar_durations_are_applied_on_the_calendar() -> None:
    not_before = datetime(2024, 1, 31, tzinfo=UTC)
    not_after = datetime(2025, 1, 30, 23, 59, 59, tzinfo=UTC)
    assert rule("P1M", "P1D", "P1Y").next_renewal(not_before, not_after) == datetime(2024, 2, 29, tzinfo=UTC)
    assert rule("P11M", "P1M", "P1Y").next_renewal(not_before, not_after) == datetime(
        2024, 12, 30, 23, 59, 59, tzinfo=UTC
    )


STARTS = [
    datetime(year, month, day, tzinfo=UTC)
    for year in (2023, 2024)
    for month in (1, 2, 3, 12)
    for day in (1, 28, 29, 31)
    if day <= calendar.monthrange(year, month)[1]
]


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize(("validity", "advance"), [("P1M", "P27D"), ("P1M", "P1M"), ("P3M", "P2M"), ("P1Y", "P11M")])
def test_an_accepted_rule_is_never_due_at_issuance(start: datetime, validity: str, advance: str) -> None:
    """Across month lengths, an accepted rule never makes a version due at (or before) its notBefore."""
    try:
        accepted = rule("P1Y", advance, validity)
    except InvalidInputError:
        assert (validity, advance) == ("P1M", "P1M")
        return
    not_after = Duration.parse(validity).after(start) - timedelta(seconds=1)
    due = accepted.next_renewal(start, not_after)
    assert start < due <= not_after
