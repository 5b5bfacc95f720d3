"""Appointments as iCalendar (RFC 5545) with the `icalendar` library: one VEVENT each, for a
person's private feed and for the invitation attached to a confirmation. The UID is the
appointment's own and SEQUENCE its change count, so a calendar client that already has the
event updates it (a moved meeting moves; a cancelled one is marked cancelled) instead of adding
a second one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from .models import Appointment

PRODUCT_ID = "-//Salesline//Salesline CRM//EN"
CONTENT_TYPE = "text/calendar"


def title_of(appointment: Appointment) -> str:
    return appointment.title or appointment.get_kind_display()


def location_of(appointment: Appointment) -> str:
    return appointment.address


def _address(email: str, name: str = "", role: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = vText(name)
    if role:
        address.params["role"] = vText(role)
    return address


def event_for(
    appointment: Appointment, *, stamp: dt.datetime | None = None, private: bool = True
) -> Event:
    """The appointment's VEVENT. `private`: for the owner's own calendar (the objective and
    notes go in the description); not private: for the other side (they do not)."""
    event = Event()
    event.add("uid", appointment.uid)
    event.add("dtstamp", (stamp or timezone.now()).astimezone(dt.UTC))
    event.add("dtstart", appointment.starts_at.astimezone(dt.UTC))
    event.add("dtend", appointment.ends_at.astimezone(dt.UTC))
    event.add("summary", title_of(appointment))
    event.add("sequence", appointment.sequence)
    event.add("status", "CANCELLED" if appointment.cancelled_at else "CONFIRMED")
    event.add("categories", [appointment.get_kind_display()])
    if appointment.address:
        event.add("location", appointment.address)
    if appointment.latitude is not None and appointment.longitude is not None:
        event.add("geo", (appointment.latitude, appointment.longitude))
    lines = []
    if private and appointment.objective:
        lines.append(f"Objective: {appointment.objective}")
    if private and appointment.notes:
        lines.append(appointment.notes)
    if lines:
        event.add("description", "\n\n".join(lines))
    owner = appointment.owner
    event.add("organizer", _address(owner.email, owner.full_name))
    for attendee in appointment.attendees or []:
        email = (attendee or {}).get("email")
        if email:
            event.add("attendee", _address(email, attendee.get("name") or "", "REQ-PARTICIPANT"))
    return event


def calendar_text(
    appointments: Iterable[Appointment],
    *,
    name: str = "",
    method: str | None = None,
    private: bool = True,
) -> str:
    """A VCALENDAR holding one VEVENT per appointment. `method` (REQUEST, CANCEL) makes it an
    invitation (iTIP); a feed has none."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
    stamp = timezone.now()
    for appointment in appointments:
        calendar.add_component(event_for(appointment, stamp=stamp, private=private))
    return calendar.to_ical().decode()
