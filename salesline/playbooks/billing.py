"""Billing periods of an agreement: when each invoice is issued and for how much.

Pure module: no Django. Billing is in advance: the first invoice on the start date, the next on
the same day of each following period — the anchor day is kept, and a shorter month takes its
last day (31 January, 28 or 29 February, 31 March). A period starts before the end date (the
end date itself never starts one) and the last period ends on it. The total is split evenly
over the periods in whole cents, the rounding remainder on the last. `once` is one invoice for
the whole total. Without an end date an agreement runs DEFAULT_TERM_MONTHS (one year), and its
total is that year's. See docs/agreements.md.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

MONTHS_PER_PERIOD = {"monthly": 1, "quarterly": 3, "annually": 12}
FREQUENCIES = (*MONTHS_PER_PERIOD, "once")
DEFAULT_TERM_MONTHS = 12
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Period:
    index: int  # 0-based
    issue_date: date
    period_start: date
    period_end: date
    amount: Decimal
    currency: str


def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    """`day` moved by `months`, on `anchor_day` (default: its own day) or the month's last."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(anchor_day or day.day, last))


def default_end(start: date) -> date:
    """The last day of an agreement with no end date: one term after the start."""
    return add_months(start, DEFAULT_TERM_MONTHS) - timedelta(days=1)


def split_evenly(total: Decimal, parts: int) -> list[Decimal]:
    """`total` in `parts` amounts of whole cents: equal ones, the remainder on the last."""
    if parts < 1:
        raise ValueError("at least one part")
    each = (total / parts).quantize(CENT, rounding=ROUND_DOWN)
    return [each] * (parts - 1) + [total.quantize(CENT) - each * (parts - 1)]


def issue_dates(start: date, end: date, frequency: str) -> list[date]:
    """The first day of each billing period: the start date, then every period on the anchor
    day, while it falls before the end date."""
    if frequency == "once":
        return [start]
    months = MONTHS_PER_PERIOD[frequency]
    dates = [start]
    while (following := add_months(start, months * len(dates))) < end:
        dates.append(following)
    return dates


def invoice_schedule(
    *, start: date, end: date | None, frequency: str, total: Decimal, currency: str
) -> list[Period]:
    """Every billing period of an agreement, in order, with the amount invoiced for it."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"unknown billing frequency {frequency!r}")
    if end is None:
        end = default_end(start)
    if end < start:
        raise ValueError("the end date is before the start date")
    if total < 0:
        raise ValueError("the total is negative")
    starts = issue_dates(start, end, frequency)
    amounts = split_evenly(Decimal(total), len(starts))
    periods = []
    for index, (first_day, amount) in enumerate(zip(starts, amounts, strict=True)):
        last_day = starts[index + 1] - timedelta(days=1) if index + 1 < len(starts) else end
        periods.append(Period(index, first_day, first_day, last_day, amount, currency))
    return periods
