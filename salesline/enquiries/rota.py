"""The duty rota's arithmetic: a period's default end, where a new period may go (no overlap,
no gap), who is on duty on a day and who is next. Pure: no Django; rota_services.py records.

Periods are inclusive of both days. A network's periods tile time: each new one starts the day
after an existing one ends or ends the day before one starts (the first may go anywhere)."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)
#: The days a rota period may start and end on: a sane window (a typo such as 9999 or 0202 is
#: refused, and the arithmetic of "the day after" never leaves the calendar).
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


def within_window(day: date) -> bool:
    return EARLIEST <= day <= LATEST


def window_problem(day: date, field: str) -> str | None:
    """Why `day` cannot be a rota date (None: it can)."""
    if within_window(day):
        return None
    return (
        f"{field.replace('_', ' ').capitalize()} {day.isoformat()} is outside the rota's "
        f"dates ({EARLIEST.isoformat()} to {LATEST.isoformat()})."
    )


def day_after(day: date) -> date | None:
    """The next day, or None at the end of the calendar (never an OverflowError)."""
    return None if day >= date.max else day + ONE_DAY


@dataclass(frozen=True)
class Period:
    starts_on: date
    ends_on: date
    who: str = ""  # the organisation's name, for messages
    id: int | None = None

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def describe(self) -> str:
        who = f" ({self.who})" if self.who else ""
        return f"{self.starts_on.isoformat()} to {self.ends_on.isoformat()}{who}"


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_end(starts_on: date, months: int) -> date:
    """A period of `months` months: 2027-01-01 and 3 give 2027-03-31 (never past the end of
    the calendar: a start near it ends on date.max)."""
    try:
        return add_months(starts_on, months) - ONE_DAY
    except (ValueError, OverflowError):
        return date.max


def placement_problems(new: Period, periods: Sequence[Period]) -> list[str]:
    """Why `new` cannot join `periods` (empty: it can): backwards, overlapping a period (each
    named), or leaving a gap before or after the periods around it."""
    if new.ends_on < new.starts_on:
        return [
            f"The period ends on {new.ends_on.isoformat()}, before it starts on "
            f"{new.starts_on.isoformat()}."
        ]
    others = sorted((p for p in periods if p.id is None or p.id != new.id), key=_start)
    clashes = [p for p in others if p.starts_on <= new.ends_on and new.starts_on <= p.ends_on]
    if clashes:
        return [f"It overlaps the period {p.describe()}." for p in clashes]
    if not others:
        return []
    previous = next((p for p in reversed(others) if p.ends_on < new.starts_on), None)
    following = next((p for p in others if p.starts_on > new.ends_on), None)
    if previous is not None and previous.ends_on + ONE_DAY == new.starts_on:
        return []
    if following is not None and following.starts_on - ONE_DAY == new.ends_on:
        return []
    problems = []
    if previous is not None:
        problems.append(
            f"It leaves a gap after the period {previous.describe()}: a new period must start "
            f"on {(previous.ends_on + ONE_DAY).isoformat()}."
        )
    if following is not None:
        problems.append(
            f"It leaves a gap before the period {following.describe()}: a new period must end "
            f"on {(following.starts_on - ONE_DAY).isoformat()}."
        )
    return problems


def _start(period: Period) -> date:
    return period.starts_on


def on_duty(periods: Sequence[Period], day: date) -> Period | None:
    return next((p for p in periods if p.covers(day)), None)


def next_on_duty(periods: Sequence[Period], day: date) -> Period | None:
    """The period after the one on duty on `day` (or the first to start after `day`)."""
    current = on_duty(periods, day)
    after = current.ends_on if current else day
    return min((p for p in periods if p.starts_on > after), key=_start, default=None)


def successor(periods: Sequence[Period], period: Period) -> Period | None:
    """The period starting the day after `period` ends (the incoming chair's)."""
    following = day_after(period.ends_on)
    if following is None:
        return None
    return next((p for p in periods if p.starts_on == following), None)


def gap_problems(periods: Sequence[Period]) -> list[str]:
    """The gaps between consecutive periods (empty: they tile time), each named."""
    ordered = sorted(periods, key=_start)
    problems = []
    for before, after in zip(ordered, ordered[1:], strict=False):
        if day_after(before.ends_on) != after.starts_on:
            problems.append(
                f"It leaves a gap between the periods {before.describe()} and {after.describe()}."
            )
    return problems


def change_problems(changed: Period, periods: Sequence[Period]) -> list[str]:
    """Why an existing period cannot take the dates of `changed` (same id): backwards, an
    overlap, or a gap anywhere in the rota afterwards."""
    if changed.ends_on < changed.starts_on:
        return placement_problems(changed, periods)
    others = [p for p in periods if p.id != changed.id]
    clashes = [
        p for p in others if p.starts_on <= changed.ends_on and changed.starts_on <= p.ends_on
    ]
    if clashes:
        return [f"It overlaps the period {p.describe()}." for p in clashes]
    return gap_problems([*others, changed])


def removal_problems(period: Period, periods: Sequence[Period], today: date) -> list[str]:
    """Why `period` cannot be removed: it has started and is not the last one, or it sits
    between two others (removing it would leave a gap)."""
    others = [p for p in periods if p.id != period.id]
    later = [p for p in others if p.starts_on > period.ends_on]
    earlier = [p for p in others if p.ends_on < period.starts_on]
    if later and earlier:
        return [
            f"Removing the period {period.describe()} would leave a gap between the periods "
            "before and after it: change them instead."
        ]
    if period.starts_on <= today and later:
        return [
            f"The period {period.describe()} has started and is not the last one: it stays on "
            "the record."
        ]
    return []
