"""Booking pages: a public page per person or team showing the free slots of their calendar,
and the booking that puts a meeting on it.

A slot is a start on the page's grid (the working day's start, then every `duration_minutes`)
for which `capacity.calendar_problems` finds nothing, with the person's other appointments
widened by the page's buffer on both sides; it is also at least `minimum_notice_hours` away
and within `days_ahead` days. Booking re-checks the slot with the person's calendar locked
(`capacity.lock_calendar`, then `check_calendar`), so two visitors who pick the same slot at
the same moment get one meeting and one 409."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from salesline.accounts.models import Membership
from salesline.accounts.selectors import may_manage_calendar
from salesline.accounts.services import system_actor
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Problem,
    ProblemList,
    ValidationFailed,
)
from salesline.core.text import text_problem
from salesline.pipeline.models import Opportunity
from salesline.records.models import Lead, Person
from salesline.records.normalise import Normaliser
from salesline.records.services import record_create

from . import appointment_services, capacity, invitations
from .models import Appointment, Booking, BookingPage, WorkingPattern

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
BOOKING_LABEL = "booking page"
LIMITS = {
    "duration_minutes": (5, 480),
    "buffer_minutes": (0, 240),
    "days_ahead": (1, 365),
    "minimum_notice_hours": (0, 720),
    "max_per_day": (0, 48),
}
EDITABLE = (
    "slug",
    "title",
    "description",
    "duration_minutes",
    "buffer_minutes",
    "days_ahead",
    "minimum_notice_hours",
    "max_per_day",
    "kind",
    "active",
    "team_ids",
)
# Reference letters without look-alikes (no 0/O, 1/I/L).
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime
    host_ids: tuple[int, ...]  # who is free then (one for a person's page)


# ---------------------------------------------------------------- pages (signed-in members)


def _member_ids(organisation) -> set[int]:
    return set(
        Membership.objects.filter(organisation=organisation).values_list("user_id", flat=True)
    )


def _check_fields(actor: Actor, data: dict[str, Any], problems: ProblemList, *, page=None):
    """Validate the fields present in `data` (names as the API's); returns the cleaned ones."""
    clean: dict[str, Any] = {}
    if "slug" in data:
        slug = str(data["slug"] or "").strip().lower()
        if not slug:
            problems.add(("slug",), "Slug is required, e.g. ann-30-minutes.", type="missing")
        elif len(slug) > 80 or not SLUG_RE.match(slug):
            problems.add(
                ("slug",),
                "Slug must be at most 80 lower-case letters, digits and single hyphens "
                "between them, e.g. ann-30-minutes.",
            )
        elif (
            BookingPage.objects.filter(slug=slug)
            .exclude(pk=page.pk if page is not None else 0)
            .exists()
        ):
            problems.add(("slug",), f"Slug '{slug}' is taken: choose another.", type="taken")
        clean["slug"] = slug
    for name, max_length, multiline in (("title", 200, False), ("description", 2000, True)):
        if name in data:
            text = str(data[name] or "").strip()
            if reason := text_problem(text, max_length=max_length, multiline=multiline):
                problems.add((name,), f"{name.capitalize()} {reason}.")
            clean[name] = text
    for name, (low, high) in LIMITS.items():
        if name in data:
            value: Any = data[name]
            label = name.replace("_", " ").capitalize()
            if isinstance(value, str) and value.strip().isdecimal():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                problems.add((name,), f"{label} must be a whole number from {low} to {high}.")
            elif not low <= value <= high:
                problems.add((name,), f"{label} must be from {low} to {high} (it is {value}).")
            clean[name] = value
    if "kind" in data:
        kind = data["kind"] or Appointment.Kind.CALL
        if kind not in Appointment.Kind.values:
            problems.add(
                ("kind",),
                f"Kind '{kind}' is unknown. Kinds: {', '.join(Appointment.Kind.values)}.",
            )
        clean["kind"] = kind
    if "active" in data:
        if not isinstance(data["active"], bool):
            problems.add(("active",), "Active must be true or false.")
        clean["active"] = data["active"]
    if "team_ids" in data:
        ids = data["team_ids"] or []
        members = _member_ids(actor.organisation)
        wrong = [i for i in ids if i not in members]
        if wrong:
            problems.add(
                ("team_ids",),
                f"Not members of {actor.organisation.name}: {', '.join(map(str, wrong))}.",
            )
        else:
            refused = [i for i in ids if not may_manage_calendar(actor, i)]
            if refused:
                problems.add(
                    ("team_ids",),
                    "You may only add people whose calendars you manage (yours, those you "
                    f"coordinate, or anyone as an admin); not: {', '.join(map(str, refused))}.",
                    type="permission",
                )
        clean["team_ids"] = sorted(set(ids))
    return clean


def _owner_or_problem(actor: Actor, owner_id: Any, problems: ProblemList) -> int | None:
    if owner_id is None and actor.user is not None:
        owner_id = actor.user.pk
    if not isinstance(owner_id, int) or owner_id not in _member_ids(actor.organisation):
        problems.add(
            ("owner_id",), f"Owner {owner_id} is not a member of {actor.organisation.name}."
        )
        return None
    return owner_id


def page_create(actor: Actor, *, owner_id: int | None = None, **data: Any) -> BookingPage:
    """A booking page on `owner_id`'s calendar (the actor's own when not given): the owner,
    their coordinator or an admin may create it."""
    problems = ProblemList()
    owner = _owner_or_problem(actor, owner_id, problems)
    if owner is not None and not may_manage_calendar(actor, owner):
        raise PermissionDenied(
            "Only the owner, their sales coordinator or an admin may create a booking page on "
            "this calendar."
        )
    unknown = set(data) - set(EDITABLE)
    for name in sorted(unknown):
        problems.add((name,), f"Unknown field '{name}'.")
    data.setdefault("slug", "")
    clean = _check_fields(actor, data, problems)
    problems.raise_if_any("The booking page was not saved.")
    team_ids = clean.pop("team_ids", [])
    assert owner is not None  # noqa: S101 - a missing owner is a problem raised above
    try:
        with transaction.atomic():
            page = BookingPage.objects.create(
                organisation=actor.organisation, owner_id=owner, **clean
            )
            page.team.set([i for i in team_ids if i != owner])
            audit.record(
                actor=actor,
                action="create",
                obj=page,
                changes={k: [None, v] for k, v in {**clean, "owner_id": owner}.items()},
            )
    except IntegrityError:  # two pages took the same slug at once
        raise ValidationFailed(
            "The booking page was not saved.",
            [Problem(("slug",), f"Slug '{clean['slug']}' is taken: choose another.", "taken")],
        ) from None
    return page


def page_queryset(actor: Actor):
    return BookingPage.objects.filter(organisation=actor.organisation).select_related("owner")


def page_list(actor: Actor) -> list[BookingPage]:
    """The pages on calendars the actor manages (an admin: all of the organisation's)."""
    pages = list(page_queryset(actor).prefetch_related("team").order_by("slug"))
    return [page for page in pages if may_manage_calendar(actor, page.owner_id)]


def page_get_for(actor: Actor, page_id: int) -> BookingPage:
    page = page_queryset(actor).filter(pk=page_id).first()
    if page is None or not may_manage_calendar(actor, page.owner_id):
        raise NotFound(f"No booking page with id {page_id}.")
    return page


def page_update(actor: Actor, page_id: int, data: dict[str, Any]) -> BookingPage:
    problems = ProblemList()
    for name in sorted(set(data) - set(EDITABLE)):
        problems.add((name,), f"Unknown field '{name}'.")
    with transaction.atomic():
        page = page_get_for(actor, page_id)
        page = BookingPage.objects.select_for_update().get(pk=page.pk)
        clean = _check_fields(actor, data, problems, page=page)
        problems.raise_if_any("The booking page was not saved.")
        team_ids = clean.pop("team_ids", None)
        changes = {
            name: [getattr(page, name), value]
            for name, value in clean.items()
            if getattr(page, name) != value
        }
        for name, value in clean.items():
            setattr(page, name, value)
        if team_ids is not None:
            before = sorted(page.team.values_list("pk", flat=True))
            after = [i for i in team_ids if i != page.owner_id]
            if before != after:
                page.team.set(after)
                changes["team_ids"] = [before, after]
        if changes:
            page.updated_at = timezone.now()
            page.version += 1
            try:
                with transaction.atomic():
                    page.save()
            except IntegrityError:
                raise ValidationFailed(
                    "The booking page was not saved.",
                    [Problem(("slug",), f"Slug '{page.slug}' is taken: choose another.", "taken")],
                ) from None
            audit.record(actor=actor, action="update", obj=page, changes=changes)
    return page


# ---------------------------------------------------------------- slots (public)


def public_page(slug: str) -> BookingPage:
    """An active booking page by its slug; NotFound otherwise (a deactivated page too)."""
    if not isinstance(slug, str) or len(slug) > 80 or not SLUG_RE.match(slug):
        raise NotFound("No such booking page.")
    page = (
        BookingPage.objects.filter(slug=slug, active=True)
        .select_related("organisation", "owner")
        .first()
    )
    if page is None:
        raise NotFound(f"No booking page '{slug}'.")
    return page


def host_ids(page: BookingPage) -> list[int]:
    """The owner and the team, in id order (the order their calendars are locked in)."""
    return sorted({page.owner_id, *page.team.values_list("pk", flat=True)})


def page_zone(page: BookingPage):
    return capacity.zone_of(capacity.pattern_for(page.organisation, page.owner_id))


def _day_window(page: BookingPage, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = page_zone(page)
    begin = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return begin.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _earliest_and_latest(page: BookingPage, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The first instant a slot may start (the notice) and the end of the horizon (the end of
    the page's local day `days_ahead` days after today)."""
    today = now.astimezone(page_zone(page)).date()
    _, horizon = _day_window(page, today + dt.timedelta(days=page.days_ahead))
    return now + dt.timedelta(hours=page.minimum_notice_hours), horizon


def _grid(
    pattern: WorkingPattern, begin: dt.datetime, end: dt.datetime, minutes: int
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The grid of `pattern`'s working days touching [begin, end): from the day's start, every
    `minutes`, each slot ending by the day's end; only starts in [begin, end)."""
    zone = capacity.zone_of(pattern)
    step = dt.timedelta(minutes=minutes)
    first = begin.astimezone(zone).date()
    last = (end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    out = []
    day = first
    while day <= last:
        if day.isoweekday() in pattern.working_weekdays:
            start = dt.datetime.combine(day, pattern.day_starts, tzinfo=zone)
            close = dt.datetime.combine(day, pattern.day_ends, tzinfo=zone)
            while start + step <= close:
                utc = start.astimezone(dt.UTC)
                if begin <= utc < end:
                    out.append((utc, (start + step).astimezone(dt.UTC)))
                # Wall-clock steps: a daylight-saving change keeps the grid on the hour.
                start = start + step
        day += dt.timedelta(days=1)
    return out


def _widened(busy: list[capacity.Busy], buffer: dt.timedelta) -> list[capacity.Busy]:
    if not buffer:
        return busy
    return [
        capacity.Busy(b.id, b.kind, b.starts_at - buffer, b.ends_at + buffer, b.title) for b in busy
    ]


def _others(page: BookingPage, pattern: WorkingPattern, begin: dt.datetime, end: dt.datetime):
    """The host's appointments around [begin, end): the whole local weeks (for the weekly
    business-development cap), widened by the page's buffer."""
    zone = capacity.zone_of(pattern)
    monday, _ = capacity.week_bounds(begin.astimezone(zone).date())
    _, sunday = capacity.week_bounds(end.astimezone(zone).date())
    week_begin, week_end = capacity.local_day_bounds(pattern, monday, sunday)
    buffer = dt.timedelta(minutes=page.buffer_minutes)
    busy = capacity.busy_between(
        page.organisation, pattern.user_id, week_begin - buffer, week_end + buffer
    )
    return _widened(busy, buffer)


def _booked_on(page: BookingPage, pattern: WorkingPattern, day: dt.date) -> int:
    """Meetings booked by visitors (any page) on the host's local `day`."""
    begin, end = capacity.local_day_bounds(pattern, day, day)
    return Appointment.objects.filter(
        organisation=page.organisation,
        owner_id=pattern.user_id,
        source=Appointment.Source.BOOKING,
        cancelled_at__isnull=True,
        starts_at__gte=begin,
        starts_at__lt=end,
    ).count()


def _day_full(page: BookingPage, pattern: WorkingPattern, day: dt.date) -> bool:
    return bool(page.max_per_day) and _booked_on(page, pattern, day) >= page.max_per_day


def _free(page, pattern, others, start, end) -> bool:
    return not capacity.calendar_problems(
        pattern, kind=page.kind, starts_at=start, ends_at=end, others=others
    )


def free_slots(page: BookingPage, day: dt.date, *, now: dt.datetime | None = None) -> list[Slot]:
    """The free slots of `day` (a day in the page owner's time zone), earliest first."""
    now = now or timezone.now()
    earliest, horizon = _earliest_and_latest(page, now)
    begin, end = _day_window(page, day)
    begin, end = max(begin, earliest), min(end, horizon)
    if begin >= end:
        return []
    minutes = page.duration_minutes
    free: dict[tuple[dt.datetime, dt.datetime], list[int]] = {}
    for host in host_ids(page):
        pattern = capacity.pattern_for(page.organisation, host)
        if _day_full(page, pattern, day):
            continue
        others = _others(page, pattern, begin, end)
        for start, stop in _grid(pattern, begin, end, minutes):
            if _free(page, pattern, others, start, stop):
                free.setdefault((start, stop), []).append(host)
    return [Slot(s, e, tuple(hosts)) for (s, e), hosts in sorted(free.items())]


def bookable_days(page: BookingPage, *, now: dt.datetime | None = None) -> list[dt.date]:
    """The days from today to the horizon with at least one free slot."""
    now = now or timezone.now()
    today = now.astimezone(page_zone(page)).date()
    days = [today + dt.timedelta(days=n) for n in range(page.days_ahead + 1)]
    return [day for day in days if free_slots(page, day, now=now)]


# ---------------------------------------------------------------- booking (public)


def parse_start(value: Any) -> dt.datetime | None:
    """An aware datetime from an ISO text (or a datetime); None when it is not one."""
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(dt.UTC)


def _reference() -> str:
    return "BK-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def _check_booker(name: Any, email: Any, problems: ProblemList) -> tuple[str, str]:
    name = str(name or "").strip()
    if not name:
        problems.add(("name",), "Name is required.", type="missing")
    elif reason := text_problem(name, max_length=200):
        problems.add(("name",), f"Name {reason}.")
    email = str(email or "").strip()
    if not email:
        problems.add(("email",), "E-mail is required.", type="missing")
    else:
        try:
            email = Normaliser().email(email)
        except ValueError as error:
            problems.add(("email",), f"E-mail '{email[:80]}' is not a valid address: {error}")
    return name, email


def _on_grid(page: BookingPage, start: dt.datetime, now: dt.datetime) -> list[int]:
    """The hosts for whom `start` is a start of the grid, within notice and horizon, whatever
    their appointments."""
    earliest, horizon = _earliest_and_latest(page, now)
    stop = start + dt.timedelta(minutes=page.duration_minutes)
    if start < earliest or start >= horizon:
        return []
    hosts = []
    for host in host_ids(page):
        pattern = capacity.pattern_for(page.organisation, host)
        if (start, stop) in _grid(pattern, start, stop, page.duration_minutes):
            hosts.append(host)
    return hosts


def _record_for(actor: Actor, page: BookingPage, *, host: int, name: str, email: str, when):
    """(lead, opportunity) the meeting is about: the lead with this e-mail (and the opportunity
    it was converted to), else the latest open opportunity of the person with it, else a new
    lead."""
    lead = (
        Lead.objects.filter(organisation=page.organisation, deleted_at__isnull=True)
        .filter(email__iexact=email)
        .order_by("-updated_at", "-pk")
        .first()
    )
    if lead is not None:
        # A converted lead's meeting is about the opportunity it became.
        if lead.converted_opportunity_id is not None:
            converted = Opportunity.objects.filter(
                pk=lead.converted_opportunity_id, deleted_at__isnull=True
            ).first()
            if converted is not None:
                return lead, converted
        return lead, None
    person = (
        Person.objects.filter(organisation=page.organisation, deleted_at__isnull=True)
        .filter(email__iexact=email)
        .order_by("-updated_at", "-pk")
        .first()
    )
    if person is not None:
        opportunity = (
            Opportunity.objects.filter(
                organisation=page.organisation,
                deleted_at__isnull=True,
                primary_contact=person,
                status=Opportunity.Status.OPEN,
            )
            .order_by("-updated_at", "-pk")
            .first()
        )
        if opportunity is not None:
            return None, opportunity
    domain = email.rpartition("@")[2]
    new_lead = record_create(
        actor=actor,
        kind="lead",
        data={
            "name": name,
            "email": email,
            "company_name": domain,
            "source": "Booking page",
            "details": f"Booked “{page.title or page.slug}” for {when}.",
            "owner_id": host,
        },
        minimum_fields=False,
    )
    return new_lead, None


def _round_robin(page: BookingPage, hosts: list[int]) -> list[int]:
    """`hosts` with the fewest (not cancelled) bookings from this page first, then by id."""
    counts = dict(
        Booking.objects.filter(page=page, appointment__owner_id__in=hosts)
        .filter(appointment__cancelled_at__isnull=True)
        .values_list("appointment__owner_id")
        .annotate(n=Count("pk"))
        .values_list("appointment__owner_id", "n")
    )
    return sorted(hosts, key=lambda h: (counts.get(h, 0), h))


def book(
    page: BookingPage,
    *,
    starts_at: Any,
    name: Any,
    email: Any,
    now: dt.datetime | None = None,
) -> Booking:
    """Book the slot starting at `starts_at`: 422 naming each bad field (a start that is not a
    slot of the page, a missing name, an invalid e-mail), 409 when the slot was taken."""
    now = now or timezone.now()
    problems = ProblemList()
    start = parse_start(starts_at)
    if start is None:
        problems.add(
            ("starts_at",),
            "Start must be a date and time with its offset, e.g. 2027-01-05T09:00:00+00:00.",
        )
    name, email = _check_booker(name, email, problems)
    hosts: list[int] = []
    if start is not None:
        hosts = _on_grid(page, start, now)
        if not hosts:
            problems.add(
                ("starts_at",),
                f"{start.astimezone(page_zone(page)):%a %d %b %Y %H:%M} is not a slot of this "
                "page: pick one of the free slots it lists.",
                type="not_a_slot",
            )
    problems.raise_if_any("The meeting was not booked.")
    if start is None:  # reported above; for the type checker
        raise ValidationFailed("The meeting was not booked.")
    stop = start + dt.timedelta(minutes=page.duration_minutes)
    actor = system_actor(page.organisation, BOOKING_LABEL)
    taken = Conflict(
        "That time was just taken: pick another slot.",
        [Problem(("starts_at",), "That time was just taken: pick another slot.", "taken")],
    )
    with transaction.atomic():
        # Every host's calendar locked, in id order, so concurrent bookings queue (and never
        # deadlock); each then sees the appointments committed before it.
        patterns = {host: capacity.lock_calendar(page.organisation, host) for host in hosts}
        free = [
            host
            for host in hosts
            if _free(page, patterns[host], _others(page, patterns[host], start, stop), start, stop)
            and not _day_full(
                page, patterns[host], start.astimezone(capacity.zone_of(patterns[host])).date()
            )
        ]
        if not free:
            raise taken
        host = _round_robin(page, free)[0]
        pattern = patterns[host]
        if capacity.check_calendar(pattern, kind=page.kind, starts_at=start, ends_at=stop):
            raise taken
        local = start.astimezone(capacity.zone_of(pattern))
        when = f"{local:%a %d %b %Y %H:%M} ({pattern.time_zone})"
        lead, opportunity = _record_for(actor, page, host=host, name=name, email=email, when=when)
        kind = page.kind
        if kind == Appointment.Kind.BUSINESS_DEVELOPMENT and opportunity is None:
            # A business-development meeting is about an opportunity; a visitor without one
            # gets a first call (which takes no business-development capacity).
            kind = Appointment.Kind.CALL
        appointment = Appointment.objects.create(
            organisation=page.organisation,
            owner_id=host,
            kind=kind,
            title=f"{page.title or 'Meeting'} with {name}",
            starts_at=start,
            ends_at=stop,
            lead=lead,
            opportunity=opportunity,
            attendees=[{"name": name, "email": email}],
            source=Appointment.Source.BOOKING,
            uid=f"{uuid.uuid4().hex}@salesline",
            # A business-development meeting states its objective (the calendar rule).
            objective=(page.description or f"First meeting, booked through /book/{page.slug}.")
            if kind == Appointment.Kind.BUSINESS_DEVELOPMENT
            else "",
            notes=f"Booked through /book/{page.slug}.",
        )
        booking = _create_booking(page, appointment, name=name, email=email)
        audit.record(
            actor=actor,
            action="create",
            obj=appointment,
            changes={
                "starts_at": [None, start.isoformat()],
                "ends_at": [None, stop.isoformat()],
                "owner_id": [None, host],
                "kind": [None, kind],
                "source": [None, "booking"],
                "lead_id": [None, lead.pk if lead else None],
                "opportunity_id": [None, opportunity.pk if opportunity else None],
                "reference": [None, booking.reference],
                "booked_by": [None, email],
            },
        )
        appointment_services.announce_created(actor, appointment)
        confirm(actor, appointment)
    return booking


def _create_booking(page, appointment, *, name: str, email: str) -> Booking:
    for _ in range(5):
        try:
            with transaction.atomic():
                return Booking.objects.create(
                    organisation=page.organisation,
                    page=page,
                    appointment=appointment,
                    reference=_reference(),
                    name=name,
                    email=email,
                )
        except IntegrityError:  # a reference drawn twice: draw again
            continue
    raise RuntimeError("No free booking reference after 5 draws.")


def confirm(actor: Actor, appointment: Appointment) -> None:
    """Confirmations with the ICS file to both sides (the booker and the calendar's owner)."""
    invitations.invite(actor, appointment, send=True)


def booking_get(page: BookingPage, reference: str) -> Booking:
    if not re.fullmatch(r"BK-[0-9A-Z]{8}", str(reference)):
        raise NotFound("No such booking on this page.")
    booking = (
        Booking.objects.filter(page=page, reference=reference).select_related("appointment").first()
    )
    if booking is None:
        raise NotFound(f"No booking {reference} on this page.")
    return booking


def pages_of(organisation, owner_id: int):
    return BookingPage.objects.filter(organisation=organisation).filter(
        Q(owner_id=owner_id) | Q(team__pk=owner_id)
    )
