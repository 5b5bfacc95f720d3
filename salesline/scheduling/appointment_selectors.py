"""Reads of appointments and calendars, scoped by actor; the list's filters parsed once for the
API and the web.

Any member of the organisation may read its appointments (an opportunity's page lists the
meetings about it); writing is for whoever `may_manage_calendar` allows. Another organisation's
appointment is NotFound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from salesline.accounts.models import Role
from salesline.accounts.selectors import coordinated_by, member_list
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, ProblemList
from salesline.core.ids import is_id

from . import capacity
from .models import Appointment, WorkingPattern

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
MAX_OFFSET = 10**9
KINDS = tuple(Appointment.Kind.values)
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


@dataclass(frozen=True)
class AppointmentFilters:
    owner_id: int | None = None
    opportunity_id: int | None = None
    lead_id: int | None = None
    kind: str = ""
    starts_after: dt.datetime | None = None  # appointments ending after this instant
    ends_before: dt.datetime | None = None  # appointments starting before this instant
    cancelled: bool | None = False  # False: live ones; True: cancelled ones; None: both
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def _instant(value: Any, *, end: bool) -> dt.datetime | None:
    """A date (its start, or for `end` the next day's start, in UTC) or an aware date-time."""
    text = str(value).strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            if end:
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        instant = dt.datetime.fromisoformat(text.replace(" ", "+", 1) if "T" in text else text)
    except ValueError:
        return None
    if instant.tzinfo is None:
        return None
    return instant


def parse_filters(raw: Mapping[str, Any]) -> AppointmentFilters:
    """Filters from a query string: every value that cannot be one is a 422 naming it."""
    problems = ProblemList()
    values: dict[str, Any] = {}

    def blank(value: Any) -> bool:
        return value is None or (isinstance(value, str) and not value.strip())

    for name in ("owner_id", "opportunity_id", "lead_id"):
        value = raw.get(name)
        if blank(value):
            continue
        try:
            number = int(str(value))
        except (TypeError, ValueError):
            number = 0
        if isinstance(value, bool) or not is_id(number):
            problems.add(("query", name), f"'{name}' must be an id.")
        else:
            values[name] = number
    kind = raw.get("kind")
    if not blank(kind):
        if str(kind).strip() not in KINDS:
            problems.add(("query", "kind"), f"'kind' must be one of: {', '.join(KINDS)}.")
        else:
            values["kind"] = str(kind).strip()
    for name, attr, end in (("from", "starts_after", False), ("to", "ends_before", True)):
        value = raw.get(name)
        if blank(value):
            continue
        instant = _instant(value, end=end)
        if instant is None:
            problems.add(
                ("query", name),
                f"'{name}' must be a date (YYYY-MM-DD) or a date-time with an offset.",
            )
        else:
            values[attr] = instant
    cancelled = raw.get("cancelled")
    if not blank(cancelled):
        word = str(cancelled).strip().lower()
        if word in _TRUE:
            values["cancelled"] = True
        elif word in _FALSE:
            values["cancelled"] = False
        elif word in {"any", "all"}:
            values["cancelled"] = None
        else:
            problems.add(("query", "cancelled"), "'cancelled' must be true, false or any.")
    for name, lower, upper in (("limit", 1, MAX_LIMIT), ("offset", 0, MAX_OFFSET)):
        value = raw.get(name)
        if blank(value):
            continue
        try:
            number = int(str(value))
        except (TypeError, ValueError):
            number = lower - 1
        if isinstance(value, bool) or not lower <= number <= upper:
            problems.add(
                ("query", name), f"'{name}' must be a whole number between {lower} and {upper}."
            )
        else:
            values[name] = number
    problems.raise_if_any("The list query is not valid.")
    return AppointmentFilters(**values)


def _appointments(actor: Actor) -> QuerySet[Appointment]:
    return Appointment.objects.filter(organisation=actor.organisation).select_related(
        "owner", "opportunity", "lead"
    )


def appointment_get_for(*, actor: Actor, appointment_id: Any) -> Appointment:
    try:
        pk = int(appointment_id)
    except (TypeError, ValueError):
        pk = 0
    appointment = _appointments(actor).filter(pk=pk).first() if is_id(pk) else None
    if appointment is None:
        raise NotFound(f"No appointment with id {appointment_id}.")
    return appointment


def appointment_queryset(*, actor: Actor, filters: AppointmentFilters) -> QuerySet[Appointment]:
    rows = _appointments(actor)
    if filters.owner_id is not None:
        rows = rows.filter(owner_id=filters.owner_id)
    if filters.opportunity_id is not None:
        rows = rows.filter(opportunity_id=filters.opportunity_id)
    if filters.lead_id is not None:
        rows = rows.filter(lead_id=filters.lead_id)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.starts_after is not None:
        rows = rows.filter(ends_at__gt=filters.starts_after)
    if filters.ends_before is not None:
        rows = rows.filter(starts_at__lt=filters.ends_before)
    if filters.cancelled is True:
        rows = rows.filter(cancelled_at__isnull=False)
    elif filters.cancelled is False:
        rows = rows.filter(cancelled_at__isnull=True)
    return rows.order_by("starts_at", "id")


def appointment_list(*, actor: Actor, filters: AppointmentFilters) -> tuple[list[Appointment], int]:
    """A page of the organisation's appointments by start time, and how many match."""
    rows = appointment_queryset(actor=actor, filters=filters)
    count = rows.count()
    return list(rows[filters.offset : filters.offset + filters.limit]), count


def for_record(*, actor: Actor, opportunity_id=None, lead_id=None, limit: int = 20):
    """The appointments about an opportunity or a lead (cancelled ones too), latest first."""
    rows = _appointments(actor)
    if opportunity_id is not None:
        rows = rows.filter(opportunity_id=opportunity_id)
    elif lead_id is not None:
        rows = rows.filter(lead_id=lead_id)
    else:
        return []
    return list(rows.order_by("-starts_at", "-id")[:limit])


# -- calendars ------------------------------------------------------------------------------


def calendar_people(*, actor: Actor) -> list[tuple[int, str]]:
    """Whose calendars the actor may run, as (user id, label): their own first, then the
    salespeople they coordinate; for an admin every active member."""
    members = [m for m in member_list(actor=actor) if m.is_active]
    me = actor.user.pk if actor.user is not None else None
    if actor.has_role(Role.ADMIN) or actor.user is None:
        allowed = {m.user_id for m in members}
    else:
        own = actor.user.pk
        allowed = {own, *coordinated_by(organisation=actor.organisation, coordinator_id=own)}
    people = [(m.user_id, m.label) for m in members if m.user_id in allowed]
    people.sort(key=lambda p: (p[0] != me, p[1].lower()))
    return people


def default_calendar_owner(*, actor: Actor) -> int | None:
    """Whose week the calendar opens on: a salesperson's own; for someone who runs others'
    calendars but sells nothing themselves (a coordinator, an admin), the first salesperson
    they run — their own calendar would be empty."""
    if actor.user is None:
        return None
    me = actor.user.pk
    if actor.has_role(Role.SALESPERSON):
        return me
    coordinated = coordinated_by(organisation=actor.organisation, coordinator_id=me)
    if coordinated:
        return coordinated[0]
    if actor.has_role(Role.ADMIN):
        sellers = [
            m for m in member_list(actor=actor) if m.is_active and Role.SALESPERSON in m.roles
        ]
        if sellers:
            return min(sellers, key=lambda m: m.label.lower()).user_id
    return me


@dataclass
class CalendarDay:
    date: dt.date
    working: bool
    appointments: list[Appointment] = field(default_factory=list)


@dataclass
class CalendarWeek:
    owner_id: int
    pattern: WorkingPattern
    monday: dt.date
    days: list[CalendarDay]
    business_development: int
    cancelled: list[Appointment]

    @property
    def zone(self):
        return capacity.zone_of(self.pattern)

    @property
    def previous(self) -> dt.date:
        return self.monday - dt.timedelta(days=7)

    @property
    def next(self) -> dt.date:
        return self.monday + dt.timedelta(days=7)

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    @property
    def capacity_per_week(self) -> int:
        return self.pattern.business_development_per_week


def calendar_week(*, actor: Actor, owner_id: int, day: dt.date) -> CalendarWeek:
    """The ISO week (Monday to Sunday, in the owner's time zone) holding `day`: each day's
    appointments, the cancelled ones, and the business-development meetings against capacity."""
    pattern = capacity.pattern_for(actor.organisation, owner_id)
    zone = capacity.zone_of(pattern)
    monday, sunday = capacity.week_bounds(day)
    begin, end = capacity.local_day_bounds(pattern, monday, sunday)
    rows = list(
        _appointments(actor)
        .filter(owner_id=owner_id, starts_at__lt=end, ends_at__gt=begin)
        .order_by("starts_at", "id")
    )
    days = [
        CalendarDay(
            monday + dt.timedelta(days=i),
            (i + 1) in pattern.working_weekdays,
        )
        for i in range(7)
    ]
    live = [a for a in rows if a.cancelled_at is None]
    for appointment in live:
        local = appointment.starts_at.astimezone(zone).date()
        index = (local - monday).days
        if 0 <= index < 7:
            days[index].appointments.append(appointment)
    business = sum(
        1
        for a in live
        if a.kind == Appointment.Kind.BUSINESS_DEVELOPMENT
        and monday <= a.starts_at.astimezone(zone).date() <= sunday
    )
    return CalendarWeek(
        owner_id=owner_id,
        pattern=pattern,
        monday=monday,
        days=days,
        business_development=business,
        cancelled=[a for a in rows if a.cancelled_at is not None],
    )


@dataclass(frozen=True)
class Upcoming:
    appointment: Appointment
    zone: Any  # the owner's time zone, to show the times as they live them
    owner_label: str


def upcoming_for(*, actor: Actor, days: int = 7, limit: int = 8) -> list[Upcoming]:
    """The next appointments on the calendars the actor runs (their own and the salespeople
    they coordinate), from now for `days` days: the home page's list."""
    if actor.user is None:
        return []
    me = actor.user.pk
    owners = [me, *coordinated_by(organisation=actor.organisation, coordinator_id=me)]
    now = dt.datetime.now(dt.UTC)
    rows = list(
        Appointment.objects.filter(
            organisation=actor.organisation,
            owner_id__in=owners,
            cancelled_at__isnull=True,
            ends_at__gt=now,
            starts_at__lt=now + dt.timedelta(days=days),
        )
        .select_related("owner")
        .order_by("starts_at", "id")[:limit]
    )
    zones = {
        owner: capacity.zone_of(capacity.pattern_for(actor.organisation, owner))
        for owner in {row.owner_id for row in rows}
    }
    return [
        Upcoming(
            row,
            zones[row.owner_id],
            "" if row.owner_id == me else (row.owner.full_name or row.owner.email),
        )
        for row in rows
    ]
