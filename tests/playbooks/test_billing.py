"""Billing periods (pure): in advance, on the anchor day, the remainder on the last invoice."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesline.playbooks.billing import add_months, invoice_schedule


def schedule(start, end, frequency="monthly", total="1200.00"):
    return invoice_schedule(
        start=start, end=end, frequency=frequency, total=Decimal(total), currency="EUR"
    )


def test_monthly_in_advance_on_the_start_date_and_the_same_day_after():
    periods = schedule(date(2026, 3, 15), date(2027, 3, 14))
    assert len(periods) == 12
    assert [p.issue_date for p in periods[:3]] == [
        date(2026, 3, 15),
        date(2026, 4, 15),
        date(2026, 5, 15),
    ]
    assert (periods[0].period_start, periods[0].period_end) == (
        date(2026, 3, 15),
        date(2026, 4, 14),
    )
    assert periods[-1].period_end == date(2027, 3, 14)
    assert {p.amount for p in periods} == {Decimal("100.00")}


def test_the_last_day_of_a_shorter_month_keeps_the_anchor_day():
    periods = schedule(date(2026, 1, 31), date(2026, 12, 31))
    assert [p.issue_date for p in periods[:4]] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert periods[0].period_end == date(2026, 2, 27)
    assert periods[1].period_end == date(2026, 3, 30)


def test_a_leap_year_has_february_29():
    periods = schedule(date(2028, 1, 31), date(2028, 5, 30))
    assert [p.issue_date for p in periods] == [
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]
    yearly = schedule(date(2028, 2, 29), date(2031, 2, 27), "annually", "3000")
    assert [p.issue_date for p in yearly] == [
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
    ]
    assert schedule(date(2028, 2, 29), date(2033, 3, 1), "annually")[4].issue_date == date(
        2032, 2, 29
    )


def test_the_rounding_remainder_goes_on_the_last_invoice():
    periods = schedule(date(2026, 1, 1), date(2026, 12, 31), total="1000.00")
    assert [p.amount for p in periods] == [Decimal("83.33")] * 11 + [Decimal("83.37")]
    quarterly = schedule(date(2026, 1, 1), date(2026, 9, 30), "quarterly", "100.00")
    assert [p.amount for p in quarterly] == [Decimal("33.33")] * 2 + [Decimal("33.34")]


def test_once_is_one_invoice_and_no_end_date_is_a_year():
    (only,) = schedule(date(2026, 5, 5), None, "once", "999.99")
    assert (only.issue_date, only.period_end, only.amount) == (
        date(2026, 5, 5),
        date(2027, 5, 4),
        Decimal("999.99"),
    )
    open_ended = schedule(date(2026, 5, 5), None, "quarterly")
    assert [p.issue_date for p in open_ended] == [
        date(2026, 5, 5),
        date(2026, 8, 5),
        date(2026, 11, 5),
        date(2027, 2, 5),
    ]


def test_the_end_date_never_starts_a_period():
    periods = schedule(date(2026, 1, 1), date(2027, 1, 1))
    assert len(periods) == 12
    assert periods[-1].period_end == date(2027, 1, 1)
    assert len(schedule(date(2026, 1, 1), date(2026, 1, 1))) == 1


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="frequency"):
        schedule(date(2026, 1, 1), None, "weekly")
    with pytest.raises(ValueError, match="before"):
        schedule(date(2026, 1, 2), date(2026, 1, 1))


# The same checks on as many examples as before; only the timing is not judged: on a loaded
# 2-core machine generating the inputs or running one example can be slow, which says nothing
# about the schedule.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    days=st.integers(min_value=0, max_value=3 * 366),
    frequency=st.sampled_from(["monthly", "quarterly", "annually", "once"]),
    cents=st.integers(min_value=0, max_value=10**12),
)
def test_properties(start, days, frequency, cents):
    end = start + timedelta(days=days)
    total = Decimal(cents) / 100
    periods = invoice_schedule(
        start=start, end=end, frequency=frequency, total=total, currency="NOK"
    )
    assert sum(p.amount for p in periods) == total
    assert periods[0].issue_date == start
    amounts = [p.amount for p in periods]
    assert len(set(amounts[:-1])) <= 1  # all equal but the last
    assert all(Decimal(0) <= amounts[-1] - a < Decimal("0.01") * len(periods) for a in amounts)
    issues = [p.issue_date for p in periods]
    assert issues == sorted(set(issues))  # strictly increasing
    assert all(p.issue_date < end or p.index == 0 for p in periods)
    for before, after in zip(periods, periods[1:], strict=False):
        assert before.period_end + timedelta(days=1) == after.period_start
    assert periods[-1].period_end == end
    if frequency != "once":
        for period in periods:
            assert period.issue_date.day == min(start.day, add_months(period.issue_date, 0, 31).day)
