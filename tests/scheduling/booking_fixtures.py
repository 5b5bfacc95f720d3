"""Shared by the booking tests: a page on Ann's calendar and appointments to put beside it."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from salesline.scheduling.models import Appointment, BookingPage, WorkingPattern

LONDON = ZoneInfo("Europe/London")
# Friday 1 January 2027, 08:00 in London: "now" for the tests that pass it.
NOW = dt.datetime(2027, 1, 1, 8, 0, tzinfo=dt.UTC)
MONDAY = dt.date(2027, 1, 4)


def at(day: dt.date, hour: int, minute: int = 0, zone=LONDON) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def make_page(org, owner, **fields) -> BookingPage:
    fields.setdefault("slug", f"page-{uuid.uuid4().hex[:8]}")
    fields.setdefault("title", "30 minutes with Ann")
    team = fields.pop("team", [])
    page = BookingPage.objects.create(organisation=org, owner=owner, **fields)
    page.team.set(team)
    return page


def pattern(org, user, **fields) -> WorkingPattern:
    found, _ = WorkingPattern.objects.update_or_create(organisation=org, user=user, defaults=fields)
    return found


def appointment(org, owner, starts_at, minutes=60, kind="call", **fields) -> Appointment:
    return Appointment.objects.create(
        organisation=org,
        owner=owner,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=minutes),
        uid=f"{uuid.uuid4().hex}@test",
        **fields,
    )


def next_weekday(days: int = 2, zone=LONDON) -> dt.date:
    """A Monday-to-Friday day at least `days` days from today in `zone`."""
    day = dt.datetime.now(zone).date() + dt.timedelta(days=days)
    while day.isoweekday() > 5:
        day += dt.timedelta(days=1)
    return day
