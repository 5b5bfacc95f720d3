"""Every write to appointments: create, update (edit or move), cancel and restore.

Who may: `accounts.selectors.may_manage_calendar` — the calendar's owner, the sales coordinator
of the owner, an admin (and the CLI or worker). Anyone else is PermissionDenied (403); another
organisation's appointment, or an owner who is not a member here, is NotFound (404).

Every write that puts an appointment on a calendar (or moves it there) runs inside
transaction.atomic(): `capacity.lock_calendar` takes the owner's row, then
`capacity.check_calendar` checks working hours in the owner's zone, overlaps and the
business-development capacity per day and week; each rule broken is a 422 naming it (`type`:
working_hours, overlap, capacity_per_day, capacity_per_week).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from salesline.accounts.models import Membership
from salesline.accounts.selectors import may_manage_calendar
from salesline.core import audit, events
from salesline.core.actors import Actor
from salesline.core.errors import (
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ProblemList,
)
from salesline.core.ids import is_id
from salesline.core.text import LONG_TEXT_MAX, text_problem
from salesline.pipeline.models import Opportunity
from salesline.records.models import Lead

from . import capacity, invitations
from .models import Appointment, Place

KINDS = tuple(Appointment.Kind.values)
BUSINESS_DEVELOPMENT = Appointment.Kind.BUSINESS_DEVELOPMENT
TITLE_MAX = Appointment._meta.get_field("title").max_length or 200
ADDRESS_MAX = Appointment._meta.get_field("address").max_length or 500
MAX_ATTENDEES = 50
MAX_DURATION = dt.timedelta(hours=24)
WRITABLE = (
    "kind",
    "title",
    "starts_at",
    "ends_at",
    "owner_id",
    "opportunity_id",
    "lead_id",
    "objective",
    "location",
    "attendees",
    "outcome",
    "notes",
)
# Changes that put the appointment somewhere else on a calendar: the rules are checked again.
_TIMING = {"kind", "starts_at", "ends_at", "owner_id"}
# What the other side is told about when it changes.
_NOTIFIED = {"starts_at", "ends_at", "owner_id", "address", "latitude", "longitude"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

LABELS = {
    "kind": "Kind",
    "title": "Title",
    "starts_at": "Start",
    "ends_at": "End",
    "owner_id": "Owner",
    "opportunity_id": "Opportunity",
    "lead_id": "Lead",
    "objective": "Objective",
    "location": "Location",
    "attendees": "Attendees",
    "outcome": "Outcome",
    "notes": "Notes",
}


# -- cleaning -------------------------------------------------------------------------------


def _clean_kind(value: Any, problems: ProblemList) -> str | None:
    if isinstance(value, str) and value.strip() in KINDS:
        return value.strip()
    if value in (None, ""):
        problems.add(("kind",), "Kind is required.", type="missing")
    else:
        problems.add(("kind",), f"Kind must be one of: {', '.join(KINDS)}.")
    return None


def _clean_instant(name: str, value: Any, problems: ProblemList) -> dt.datetime | None:
    """An aware date-time: ISO 8601 with an offset (or Z). A naive one is refused: whose 09:00
    would it be?"""
    label = LABELS[name]
    if value in (None, ""):
        problems.add((name,), f"{label} is required.", type="missing")
        return None
    instant: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        instant = value
    elif isinstance(value, str):
        try:
            instant = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            instant = None
    if instant is None:
        problems.add(
            (name,),
            f"{label} must be a date-time in ISO 8601 with an offset, e.g. "
            "2027-03-01T09:00:00+00:00.",
        )
        return None
    if instant.tzinfo is None or instant.utcoffset() is None:
        problems.add(
            (name,),
            f"{label} has no time-zone offset: add one (e.g. +00:00, Z or -05:00).",
            type="naive_datetime",
        )
        return None
    return instant.astimezone(dt.UTC)


def _clean_text(name: str, value: Any, problems: ProblemList, *, multiline: bool) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add((name,), f"{LABELS[name]} must be text.")
        return ""
    text = value.strip()
    limit = LONG_TEXT_MAX if multiline else TITLE_MAX
    reason = text_problem(text, max_length=limit, multiline=multiline)
    if reason:
        problems.add((name,), f"{LABELS[name]} {reason}.")
    return text


def _clean_id(name: str, value: Any, problems: ProblemList) -> int | None:
    if value in (None, ""):
        return None
    number = 0
    if not isinstance(value, bool):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
    if not is_id(number):
        problems.add((name,), f"{LABELS[name]} must be an id.")
        return None
    return number


def _linked(actor: Actor, name: str, value: Any, problems: ProblemList):
    pk = _clean_id(name, value, problems)
    if pk is None:
        return None
    model = Opportunity if name == "opportunity_id" else Lead
    obj = model.objects.filter(organisation=actor.organisation, pk=pk, deleted_at=None).first()
    if obj is None:
        problems.add(
            (name,),
            f"{LABELS[name]} {pk} does not exist in this organisation (or was deleted).",
            type="not_found",
        )
    return obj


def _clean_attendees(value: Any, problems: ProblemList) -> list[dict[str, str]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        problems.add(("attendees",), 'Attendees must be a list of {"name", "email"}.')
        return []
    if len(value) > MAX_ATTENDEES:
        problems.add(("attendees",), f"At most {MAX_ATTENDEES} attendees.")
        return []
    out: list[dict[str, str]] = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            item = {"email": item} if "@" in item else {"name": item}
        if not isinstance(item, Mapping):
            problems.add(("attendees", index), 'An attendee is {"name": ..., "email": ...}.')
            continue
        name = item.get("name") or ""
        email = item.get("email") or ""
        if not isinstance(name, str) or not isinstance(email, str):
            problems.add(("attendees", index), "An attendee's name and e-mail must be text.")
            continue
        name, email = name.strip(), email.strip()
        if not name and not email:
            problems.add(("attendees", index), "An attendee needs a name or an e-mail.")
            continue
        if email and not _EMAIL.match(email):
            problems.add(("attendees", index, "email"), f"'{email}' is not an e-mail address.")
            continue
        for part in (name, email):
            reason = text_problem(part, max_length=254, multiline=False)
            if reason:
                problems.add(("attendees", index), f"An attendee {reason}.")
                break
        else:
            out.append({"name": name, "email": email})
    return out


def _coordinate(
    name: str, value: Any, lower: float, upper: float, problems: ProblemList
) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not lower <= number <= upper:
        problems.add(
            ("location", name), f"'{name}' must be a number between {lower:g} and {upper:g}."
        )
        return None
    return number


def geocode(organisation, text: str) -> tuple[float, float] | None:
    """Coordinates of the town `text` names, from the organisation's Place table: each
    comma-separated part of an address is tried (whole, then without its trailing words, so
    "Chicago IL 60601" finds Chicago), last part first, ignoring case."""
    parts = [p.strip() for p in re.split(r"[,\n]", text or "") if p.strip()]
    candidates: list[str] = []
    for part in reversed(parts):
        words = part.split()
        for end in range(len(words), 0, -1):
            candidate = " ".join(words[:end])
            if candidate.lower() not in (c.lower() for c in candidates):
                candidates.append(candidate)
    if not candidates:
        return None
    places = Place.objects.filter(organisation=organisation)
    for candidate in candidates[:40]:
        place = places.filter(name__iexact=candidate).order_by("id").first()
        if place is not None:
            return place.latitude, place.longitude
    return None


def _company_location(opportunity: Opportunity | None) -> tuple[str, float | None, float | None]:
    """The address and coordinates of the opportunity's company (geocoded from its city when
    it has none): where a meeting about it is held unless another place is entered."""
    company = getattr(opportunity, "company", None) if opportunity is not None else None
    if company is None or company.deleted_at is not None:
        return "", None, None
    parts = [p for p in (company.address.strip(), company.city.strip()) if p]
    address = ", ".join(parts)[:ADDRESS_MAX]
    lat, lon = company.latitude, company.longitude
    if (lat is None or lon is None) and (company.city or company.address):
        found = geocode(company.organisation_id, company.city or address)
        if found is not None:
            lat, lon = found
    return address, lat, lon


def _clean_location(
    actor: Actor, value: Any, problems: ProblemList
) -> tuple[str, float | None, float | None] | None:
    """(address, lat, lon); None: none given (the opportunity's company decides). Entered
    coordinates win; an address without them is geocoded from the Place table."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.add(("location",), 'Location must be {"address": ..., "lat": ..., "lon": ...}.')
        return None
    unknown = sorted(set(value) - {"address", "city", "lat", "lon"})
    for key in unknown:
        problems.add(("location", key), f"Unknown field '{key}' in location.")
    address = value.get("address")
    if address is None:
        address = ""
    if not isinstance(address, str):
        problems.add(("location", "address"), "Address must be text.")
        address = ""
    address = address.strip()
    city = value.get("city") or ""
    if not isinstance(city, str):
        problems.add(("location", "city"), "City must be text.")
        city = ""
    city = city.strip()
    if city and city.lower() not in address.lower():
        address = f"{address}, {city}" if address else city
    reason = text_problem(address, max_length=ADDRESS_MAX, multiline=True)
    if reason:
        problems.add(("location", "address"), f"Address {reason}.")
    lat = _coordinate("lat", value.get("lat"), -90, 90, problems)
    lon = _coordinate("lon", value.get("lon"), -180, 180, problems)
    if (lat is None) != (lon is None) and not problems:
        missing = "lon" if lon is None else "lat"
        problems.add(("location", missing), "Give both 'lat' and 'lon', or neither.")
    if lat is None or lon is None:
        lat = lon = None
        if address:
            found = geocode(actor.organisation, city or address)
            if found is None and city:
                found = geocode(actor.organisation, address)
            if found is not None:
                lat, lon = found
    return address, lat, lon


def _owner(actor: Actor, value: Any, problems: ProblemList) -> int | None:
    if value in (None, ""):
        if actor.user is None:
            problems.add(("owner_id",), "Owner is required.", type="missing")
            return None
        return actor.user.pk
    pk = _clean_id("owner_id", value, problems)
    if pk is None:
        return None
    member = Membership.objects.filter(
        organisation=actor.organisation, user_id=pk, user__is_active=True
    ).exists()
    if not member:
        raise NotFound(f"No member with id {pk} in this organisation.")
    return pk


def _require_calendar(actor: Actor, owner_id: int) -> None:
    if not may_manage_calendar(actor, owner_id):
        raise PermissionDenied(
            "You may manage only your own calendar and those of the salespeople you coordinate."
        )


def _clean(actor: Actor, data: Mapping[str, Any], problems: ProblemList) -> dict[str, Any]:
    """The given fields, cleaned (as model attribute values); every problem collected."""
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name == "kind":
            cleaned[name] = _clean_kind(value, problems)
        elif name in ("starts_at", "ends_at"):
            cleaned[name] = _clean_instant(name, value, problems)
        elif name == "title":
            cleaned[name] = _clean_text(name, value, problems, multiline=False)
        elif name in ("objective", "outcome", "notes"):
            cleaned[name] = _clean_text(name, value, problems, multiline=True)
        elif name == "owner_id":
            cleaned[name] = _owner(actor, value, problems)
        elif name in ("opportunity_id", "lead_id"):
            cleaned[name.removesuffix("_id")] = _linked(actor, name, value, problems)
        elif name == "attendees":
            cleaned[name] = _clean_attendees(value, problems)
        elif name == "location":
            cleaned[name] = _clean_location(actor, value, problems)
        else:
            problems.add((name,), f"Unknown field '{name}'.", type="unknown_field")
    return cleaned


def _check_whole(appointment: Appointment, problems: ProblemList) -> None:
    """The rules over the appointment as it would be saved: a business-development meeting is
    about an opportunity and states its objective (each missing one named); it ends after it
    starts, within a day."""
    if appointment.kind == BUSINESS_DEVELOPMENT:
        if appointment.opportunity_id is None and not any(
            p.loc[:1] == ("opportunity_id",) for p in problems.problems
        ):
            problems.add(
                ("opportunity_id",),
                "A business-development meeting must be linked to an opportunity.",
                type="missing",
            )
        if not appointment.objective and not any(
            p.loc[:1] == ("objective",) for p in problems.problems
        ):
            problems.add(
                ("objective",),
                "A business-development meeting must state its business-development objective.",
                type="missing",
            )
    start, end = appointment.starts_at, appointment.ends_at
    if start is not None and end is not None:
        if end <= start:
            problems.add(("ends_at",), "The end must be after the start.")
        elif end - start > MAX_DURATION:
            problems.add(("ends_at",), "An appointment lasts at most 24 hours.")


def _calendar_rules(appointment: Appointment, problems: ProblemList) -> None:
    """Lock the owner's calendar and check its rules (call inside transaction.atomic())."""
    pattern = capacity.lock_calendar(appointment.organisation, appointment.owner_id)
    found = capacity.check_calendar(
        pattern,
        kind=appointment.kind,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        exclude_id=appointment.pk,
    )
    problems.problems.extend(found)


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _snapshot(appointment: Appointment) -> dict[str, Any]:
    return {
        "kind": appointment.kind,
        "title": appointment.title,
        "starts_at": _value(appointment.starts_at),
        "ends_at": _value(appointment.ends_at),
        "owner_id": appointment.owner_id,
        "opportunity_id": appointment.opportunity_id,
        "lead_id": appointment.lead_id,
        "objective": appointment.objective,
        "address": appointment.address,
        "latitude": appointment.latitude,
        "longitude": appointment.longitude,
        "attendees": appointment.attendees,
        "outcome": appointment.outcome,
        "notes": appointment.notes,
    }


def announce_created(actor: Actor, appointment: Appointment) -> None:
    """The `appointment_created` event of a new appointment, however it was made (by hand, an
    import or the booking page), so the apps that react to appointments see every one."""
    events.emit(
        actor=actor, kind="appointment_created", obj=appointment, payload=_payload(appointment)
    )


def _payload(appointment: Appointment) -> dict[str, Any]:
    return {
        "appointment_id": appointment.pk,
        "uid": appointment.uid,
        "owner_id": appointment.owner_id,
        "kind": appointment.kind,
        "starts_at": _value(appointment.starts_at),
        "ends_at": _value(appointment.ends_at),
        "opportunity_id": appointment.opportunity_id,
        "lead_id": appointment.lead_id,
        "sequence": appointment.sequence,
    }


def _apply(appointment: Appointment, cleaned: dict[str, Any]) -> None:
    for name, value in cleaned.items():
        if name == "location":
            continue
        if name == "owner_id":
            appointment.owner_id = value
        else:
            setattr(appointment, name, value)
    if "location" in cleaned:
        location = cleaned["location"]
        if location is None:
            location = _company_location(appointment.opportunity)
        appointment.address, appointment.latitude, appointment.longitude = location


# -- writes ---------------------------------------------------------------------------------


def appointment_create(
    *,
    actor: Actor,
    data: Mapping[str, Any],
    source: str = Appointment.Source.MANUAL,
    notify: bool = False,
) -> Appointment:
    """An appointment on `owner_id`'s calendar (the actor's when absent). Every invalid field and
    every calendar rule broken is reported at once (422). Without a location the meeting is at
    the opportunity's company. `notify`: the attendees and the owner are sent a confirmation
    with the invitation (ICS) attached, in the same transaction as the appointment."""
    problems = ProblemList()
    data = dict(data)
    for name in ("kind", "starts_at", "ends_at"):
        data.setdefault(name, None)
    data.setdefault("owner_id", None)
    data.setdefault("location", None)
    cleaned = _clean(actor, data, problems)
    owner_id = cleaned.get("owner_id")
    if owner_id is not None:
        _require_calendar(actor, owner_id)
    now = timezone.now()
    appointment = Appointment(
        organisation=actor.organisation,
        uid=f"{uuid.uuid4()}@salesline",
        source=source,
        created_by=actor.user,
        created_at=now,
        updated_at=now,
    )
    _apply(appointment, cleaned)
    _check_whole(appointment, problems)
    with transaction.atomic():
        if not problems:
            _calendar_rules(appointment, problems)
        problems.raise_if_any("The appointment was not saved.")
        appointment.save(force_insert=True)
        changes = {
            k: [None, v] for k, v in _snapshot(appointment).items() if v not in (None, "", [])
        }
        audit.record(actor=actor, action="create", obj=appointment, changes=changes)
        announce_created(actor, appointment)
        if notify:
            invitations.invite(actor, appointment, send=True)
    return appointment


def _locked(actor: Actor, appointment_id: Any) -> Appointment:
    try:
        pk = int(appointment_id)
    except (TypeError, ValueError):
        pk = 0
    appointment = None
    if is_id(pk):
        appointment = (
            Appointment.objects.select_for_update()
            .filter(organisation=actor.organisation, pk=pk)
            .first()
        )
    if appointment is None:
        raise NotFound(f"No appointment with id {appointment_id}.")
    return appointment


def _check_version(appointment: Appointment, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != appointment.version:
        raise PreconditionFailed(
            f"The appointment changed since you read it (version {appointment.version} now, "
            f"not {expected_version}): reload it and try again."
        )


def appointment_update(
    *,
    actor: Actor,
    appointment_id: int,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    notify: bool = False,
) -> Appointment:
    """Edit or move an appointment (any of WRITABLE). A new time, kind or owner is checked
    against the calendar's rules again; `location: null` puts it back at the opportunity's
    company. Each change bumps `version` and the iCalendar `sequence`; a move (new time or owner)
    emits `appointment_moved`."""
    problems = ProblemList()
    if "owner_id" in data and data["owner_id"] is None:
        problems.add(("owner_id",), "Owner is required.", type="missing")
        data = {k: v for k, v in data.items() if k != "owner_id"}
    for name in ("kind", "starts_at", "ends_at"):
        if name in data and data[name] in (None, ""):
            problems.add((name,), f"{LABELS[name]} is required.", type="missing")
            data = {k: v for k, v in data.items() if k != name}
    cleaned = _clean(actor, data, problems)
    with transaction.atomic():
        appointment = _locked(actor, appointment_id)
        _require_calendar(actor, appointment.owner_id)
        new_owner = cleaned.get("owner_id")
        if new_owner is not None and new_owner != appointment.owner_id:
            _require_calendar(actor, new_owner)
        _check_version(appointment, expected_version)
        before = _snapshot(appointment)
        _apply(appointment, cleaned)
        _check_whole(appointment, problems)
        after = _snapshot(appointment)
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        moved = bool(changes.keys() & _TIMING)
        if moved and appointment.cancelled_at is None and not problems:
            _calendar_rules(appointment, problems)
        problems.raise_if_any("The appointment was not saved.")
        if not changes:
            return appointment
        appointment.version += 1
        appointment.sequence += 1
        appointment.updated_at = timezone.now()
        appointment.save()
        audit.record(actor=actor, action="update", obj=appointment, changes=changes)
        if changes.keys() & {"starts_at", "ends_at", "owner_id"}:
            events.emit(
                actor=actor,
                kind="appointment_moved",
                obj=appointment,
                payload={
                    **_payload(appointment),
                    "before": {k: before[k] for k in ("starts_at", "ends_at", "owner_id")},
                },
            )
        # `notify`: the attendees' calendars follow a new time or place (same UID, higher
        # SEQUENCE: their copy moves).
        if notify and appointment.cancelled_at is None and changes.keys() & _NOTIFIED:
            invitations.invite(actor, appointment, send=True)
    return appointment


def appointment_cancel(
    *,
    actor: Actor,
    appointment_id: int,
    expected_version: int | None = None,
    notify: bool = False,
) -> Appointment:
    """Cancel: `cancelled_at` is set and the time is free again; restore undoes it. Cancelling
    a cancelled appointment changes nothing."""
    with transaction.atomic():
        appointment = _locked(actor, appointment_id)
        _require_calendar(actor, appointment.owner_id)
        _check_version(appointment, expected_version)
        if appointment.cancelled_at is not None:
            return appointment
        capacity.lock_calendar(appointment.organisation, appointment.owner_id)
        now = timezone.now()
        appointment.cancelled_at = now
        appointment.updated_at = now
        appointment.version += 1
        appointment.sequence += 1
        appointment.save(update_fields=["cancelled_at", "updated_at", "version", "sequence"])
        audit.record(
            actor=actor,
            action="cancel",
            obj=appointment,
            changes={"cancelled_at": [None, now.isoformat()]},
        )
        events.emit(
            actor=actor,
            kind="appointment_cancelled",
            obj=appointment,
            payload=_payload(appointment),
        )
        if notify:
            invitations.invite(actor, appointment, send=True, method=invitations.CANCEL)
    return appointment


def appointment_restore(*, actor: Actor, appointment_id: int) -> Appointment:
    """Undo a cancellation, if the time is still free within the calendar's rules (else 422
    naming the rule). Restoring an appointment that is not cancelled changes nothing."""
    with transaction.atomic():
        appointment = _locked(actor, appointment_id)
        _require_calendar(actor, appointment.owner_id)
        if appointment.cancelled_at is None:
            return appointment
        problems = ProblemList()
        _calendar_rules(appointment, problems)
        problems.raise_if_any("The appointment could not be restored.")
        before = appointment.cancelled_at
        appointment.cancelled_at = None
        appointment.updated_at = timezone.now()
        appointment.version += 1
        appointment.sequence += 1
        appointment.save(update_fields=["cancelled_at", "updated_at", "version", "sequence"])
        audit.record(
            actor=actor,
            action="restore",
            obj=appointment,
            changes={"cancelled_at": [before.isoformat(), None]},
        )
        events.emit(
            actor=actor,
            kind="appointment_created",
            obj=appointment,
            payload={**_payload(appointment), "restored": True},
        )
    return appointment
