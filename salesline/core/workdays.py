"""Working days: weekends and a country's public holidays are not. Pure: no Django.

A country is an ISO 3166-1 code such as "GB" (case does not matter), optionally with an ISO
3166-2 subdivision ("GB-ENG") for the holidays kept only there; the calendar is the `holidays`
package's public holidays of that country, substitute ("observed") days included. Without a
subdivision only the country's nationwide holidays count: Great Britain's Easter Monday and
summer bank holiday are regional, so "GB" skips Good Friday but not Easter Monday, "GB-ENG" both.
Weekends are the country's own (Friday and Saturday in some countries), Saturday and Sunday for a
blank or unknown country, which has no public holidays.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays

DEFAULT_WEEKEND = frozenset({5, 6})  # Saturday, Sunday (date.weekday())


def _split(country: str) -> tuple[str, str | None]:
    code, _, subdivision = (country or "").strip().upper().partition("-")
    return code, subdivision or None


@lru_cache(maxsize=256)
def _weekend(country: str) -> frozenset[int]:
    code, subdivision = _split(country)
    if not code:
        return DEFAULT_WEEKEND
    try:
        calendar = holidays.country_holidays(code, subdiv=subdivision, years=())
    except NotImplementedError:  # an unknown country or subdivision
        return DEFAULT_WEEKEND
    return frozenset(calendar.weekend) or DEFAULT_WEEKEND


@lru_cache(maxsize=1024)
def _holidays(country: str, year: int) -> frozenset[dt.date]:
    """The country's public holidays in one year (built once per country and year)."""
    code, subdivision = _split(country)
    if not code:
        return frozenset()
    try:
        calendar = holidays.country_holidays(code, subdiv=subdivision, years=year)
    except NotImplementedError:
        return frozenset()
    return frozenset(day for day in calendar if day.year == year)


def is_working_day(day: dt.date, *, country: str) -> bool:
    return day.weekday() not in _weekend(country) and day not in _holidays(country, day.year)


def add_working_days(start: dt.date, days: int, *, country: str) -> dt.date:
    """The working day `days` working days after `start` (before it when negative).

    Counting starts from `start` if it is a working day, else from the next working day (so 0
    gives that day, a Saturday plus 1 the Tuesday after), the way a task created at the weekend
    is first seen on Monday. So the result is always a working day, and
    `add_working_days(add_working_days(d, n), -n) == add_working_days(d, 0)`.
    A result beyond the calendar (year 9999) raises OverflowError.
    """
    if isinstance(start, dt.datetime):  # a datetime is a date too; its time means nothing here
        start = start.date()
    one_day = dt.timedelta(days=1)
    day = start
    while not is_working_day(day, country=country):
        day += one_day
    step = one_day if days >= 0 else -one_day
    remaining = abs(days)
    while remaining:
        day += step
        if is_working_day(day, country=country):
            remaining -= 1
    return day
