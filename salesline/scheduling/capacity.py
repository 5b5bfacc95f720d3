"""The rules of a person's calendar, checked in one place for every way an appointment gets
there (entered, planned, booked): inside working hours on a working day in the person's time
zone, no overlap with another appointment, and at most N business-development meetings a day
and M a week (days and ISO weeks counted in the person's time zone, so a daylight-saving
change moves neither).

`lock_calendar` takes the person's WorkingPattern row FOR UPDATE: every write to a calendar
holds it until its transaction ends, so two concurrent writes (two bookings of the last slot)
are checked one after the other and the second sees the first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Q

from salesline.core.errors import Problem

from .models import Appointment, WorkingPattern

BUSINESS_DEVELOPMENT = Appointment.Kind.BUSINESS_DEVELOPMENT


@dataclass(frozen=True)
class Busy:
    """Another appointment, as far as the rules care."""

    id: int | None
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    title: str = ""


def zone_of(pattern: WorkingPattern) -> ZoneInfo:
    try:
        return ZoneInfo(pattern.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def pattern_for(organisation, user_id: int) -> WorkingPattern:
    """The person's rules; the defaults (unsaved) when none were set."""
    pattern = WorkingPattern.objects.filter(organisation=organisation, user_id=user_id).first()
    return pattern or WorkingPattern(organisation=organisation, user_id=user_id)


def lock_calendar(organisation, user_id: int) -> WorkingPattern:
    """The person's rules, their row locked until the caller's transaction ends (created with
    the defaults on first use). Call inside transaction.atomic()."""
    WorkingPattern.objects.get_or_create(organisation=organisation, user_id=user_id)
    return WorkingPattern.objects.select_for_update().get(
        organisation=organisation, user_id=user_id
    )


def week_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of `day`'s ISO week."""
    monday = day - dt.timedelta(days=day.isoweekday() - 1)
    return monday, monday + dt.timedelta(days=6)


def local_day_bounds(pattern: WorkingPattern, first: dt.date, last: dt.date):
    """The UTC-aware instants at which local day `first` begins and local day `last` ends."""
    zone = zone_of(pattern)
    begin = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return begin.astimezone(dt.UTC), end.astimezone(dt.UTC)


def busy_between(
    organisation, user_id: int, begin: dt.datetime, end: dt.datetime, *, exclude_id=None
) -> list[Busy]:
    """The person's appointments (not cancelled) that touch [begin, end)."""
    rows = Appointment.objects.filter(
        organisation=organisation,
        owner_id=user_id,
        cancelled_at__isnull=True,
        starts_at__lt=end,
        ends_at__gt=begin,
    )
    if exclude_id is not None:
        rows = rows.filter(~Q(pk=exclude_id))
    return [
        Busy(row.pk, row.kind, row.starts_at, row.ends_at, row.title)
        for row in rows.only("id", "kind", "starts_at", "ends_at", "title")
    ]


def _clock(value: dt.datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%a %d %b %H:%M")


def calendar_problems(
    pattern: WorkingPattern,
    *,
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    others: Iterable[Busy],
) -> list[Problem]:
    """What stops an appointment of `kind` from `starts_at` to `ends_at` going on the calendar
    whose rules are `pattern`, beside `others` (the same person's other appointments: at least
    those of the local week). Empty: it fits."""
    zone = zone_of(pattern)
    problems: list[Problem] = []
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    if end <= start:
        return [Problem(("ends_at",), "The end must be after the start.")]
    hours = f"{pattern.day_starts:%H:%M}–{pattern.day_ends:%H:%M}"
    if (
        start.date() != end.date()
        or start.time() < pattern.day_starts
        or (end.time() > pattern.day_ends)
    ):
        problems.append(
            Problem(
                ("starts_at",),
                f"Outside working hours: {_clock(starts_at, zone)}–{end:%H:%M} is not within "
                f"{hours} ({pattern.time_zone}).",
                type="working_hours",
            )
        )
    elif start.isoweekday() not in pattern.working_weekdays:
        problems.append(
            Problem(
                ("starts_at",),
                f"{start:%A %d %B} is not a working day ({pattern.time_zone}).",
                type="working_hours",
            )
        )
    others = list(others)
    for other in others:
        if other.starts_at < ends_at and other.ends_at > starts_at:
            what = other.title or dict(Appointment.Kind.choices).get(other.kind, other.kind)
            problems.append(
                Problem(
                    ("starts_at",),
                    f"Overlaps {what} ({_clock(other.starts_at, zone)}–"
                    f"{other.ends_at.astimezone(zone):%H:%M}).",
                    type="overlap",
                )
            )
            break
    if kind == BUSINESS_DEVELOPMENT:
        day = start.date()
        monday, sunday = week_bounds(day)
        meetings = [o for o in others if o.kind == BUSINESS_DEVELOPMENT]
        on_day = sum(1 for o in meetings if o.starts_at.astimezone(zone).date() == day)
        in_week = sum(
            1 for o in meetings if monday <= o.starts_at.astimezone(zone).date() <= sunday
        )
        if on_day >= pattern.business_development_per_day:
            problems.append(
                Problem(
                    ("starts_at",),
                    f"Daily capacity reached: {on_day} business-development meetings on "
                    f"{day:%a %d %b} already (at most {pattern.business_development_per_day} a "
                    "day).",
                    type="capacity_per_day",
                )
            )
        if in_week >= pattern.business_development_per_week:
            problems.append(
                Problem(
                    ("starts_at",),
                    f"Weekly capacity reached: {in_week} business-development meetings in the "
                    f"week of {monday:%d %b} already (at most "
                    f"{pattern.business_development_per_week} a week).",
                    type="capacity_per_week",
                )
            )
    return problems


def check_calendar(
    pattern: WorkingPattern,
    *,
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    exclude_id: int | None = None,
) -> list[Problem]:
    """`calendar_problems` against the person's appointments in the database (the local week of
    the start, which holds the day and any overlap of a same-day appointment)."""
    zone = zone_of(pattern)
    local_day = starts_at.astimezone(zone).date()
    monday, sunday = week_bounds(local_day)
    begin, end = local_day_bounds(pattern, monday, sunday)
    begin, end = min(begin, starts_at), max(end, ends_at)
    others = busy_between(pattern.organisation, pattern.user_id, begin, end, exclude_id=exclude_id)
    return calendar_problems(
        pattern, kind=kind, starts_at=starts_at, ends_at=ends_at, others=others
    )
