"""Working days: pure tests, no database."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesline.core.workdays import add_working_days, is_working_day

# 2026-12-25 is a Friday: Christmas Day, then Boxing Day on Saturday, observed on Monday 28th.
CHRISTMAS_2026 = date(2026, 12, 25)


def test_weekend_and_weekday():
    assert is_working_day(date(2026, 12, 7), country="GB")  # Monday
    assert not is_working_day(date(2026, 12, 5), country="GB")  # Saturday
    assert not is_working_day(date(2026, 12, 6), country="")  # Sunday, no country


def test_gb_christmas_and_new_year_are_skipped():
    # Thursday 24 December + 1 working day: 25 (holiday), 26-27 (weekend), 28 (Boxing Day
    # observed) are skipped; Tuesday 29th.
    assert add_working_days(date(2026, 12, 24), 1, country="GB") == date(2026, 12, 29)
    # 29, 30, 31 December, then New Year's Day (Friday) and the weekend: Monday 4 January.
    assert add_working_days(date(2026, 12, 29), 3, country="GB") == date(2027, 1, 4)
    assert not is_working_day(date(2027, 1, 1), country="GB")
    assert not is_working_day(date(2026, 12, 28), country="gb")  # case does not matter


def test_gb_easter_nationwide_and_in_england():
    # 2027: Good Friday 26 March, Easter Monday 29 March (a bank holiday in England, Wales and
    # Northern Ireland, not in Scotland, so not nationwide).
    thursday = date(2027, 3, 25)
    assert add_working_days(thursday, 1, country="GB") == date(2027, 3, 29)
    assert add_working_days(thursday, 1, country="GB-ENG") == date(2027, 3, 30)
    assert add_working_days(thursday, 1, country="GB-SCT") == date(2027, 3, 29)


def test_zero_days_is_the_start_or_the_next_working_day():
    assert add_working_days(date(2026, 12, 23), 0, country="GB") == date(2026, 12, 23)
    assert add_working_days(CHRISTMAS_2026, 0, country="GB") == date(2026, 12, 29)
    assert add_working_days(date(2026, 12, 5), 0, country="") == date(2026, 12, 7)


def test_counting_from_a_weekend_starts_on_monday():
    saturday = date(2026, 12, 5)
    assert add_working_days(saturday, 1, country="") == date(2026, 12, 8)  # Tuesday
    assert add_working_days(date(2026, 12, 4), 1, country="") == date(2026, 12, 7)  # Fri + 1


def test_negative_days_go_backwards_over_holidays():
    assert add_working_days(date(2027, 1, 4), -1, country="GB") == date(2026, 12, 31)
    assert add_working_days(date(2026, 12, 29), -1, country="GB") == date(2026, 12, 24)
    assert add_working_days(date(2026, 12, 29), -1, country="") == date(2026, 12, 28)


def test_leap_year():
    # 2028 is a leap year: Monday 28 February + 1 = Tuesday 29 February.
    assert add_working_days(date(2028, 2, 28), 1, country="GB") == date(2028, 2, 29)
    assert add_working_days(date(2028, 2, 25), 3, country="GB") == date(2028, 3, 1)
    assert add_working_days(date(2027, 2, 26), 1, country="GB") == date(2027, 3, 1)


@pytest.mark.parametrize("country", ["", "ZZ", "  ", "GB-XX", "not a country"])
def test_unknown_or_blank_country_means_weekends_only(country):
    assert is_working_day(CHRISTMAS_2026, country=country)
    assert add_working_days(date(2026, 12, 24), 1, country=country) == CHRISTMAS_2026
    assert add_working_days(date(2026, 12, 24), 5, country=country) == date(2026, 12, 31)


def test_a_country_with_a_friday_saturday_weekend():
    # Israel's weekend is Friday and Saturday: Thursday + 1 is Sunday.
    thursday = date(2026, 11, 5)
    assert add_working_days(thursday, 1, country="IL") == date(2026, 11, 8)


def test_far_beyond_the_calendar_overflows():
    with pytest.raises(OverflowError):
        add_working_days(date(9999, 12, 20), 30, country="")


COUNTRIES = st.sampled_from(["", "GB", "GB-ENG", "DE", "US", "NO", "ZZ", "IL"])
DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))


@given(start=DAYS, days=st.integers(min_value=-400, max_value=400), country=COUNTRIES)
def test_properties(start, days, country):
    result = add_working_days(start, days, country=country)
    rolled = add_working_days(start, 0, country=country)
    # Always a working day, on the side the count goes.
    assert is_working_day(result, country=country)
    assert result >= rolled if days >= 0 else result < rolled
    # Exactly `days` working days lie between the rolled start and the result.
    low, high = sorted((rolled, result))
    between = sum(
        is_working_day(low + timedelta(days=n), country=country)
        for n in range(1, (high - low).days + 1)
    )
    assert between == abs(days)
    # Going back the same number of working days returns to the rolled start.
    assert add_working_days(result, -days, country=country) == rolled


@given(start=DAYS, days=st.integers(min_value=0, max_value=300), country=COUNTRIES)
def test_one_more_day_is_later(start, days, country):
    assert add_working_days(start, days + 1, country=country) > add_working_days(
        start, days, country=country
    )
