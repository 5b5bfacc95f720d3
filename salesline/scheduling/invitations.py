"""Confirmation and invitation e-mails for an appointment, each with the meeting as an ICS
file: one to the other side (the attendees: the client, the booker) and one to the calendar's
owner. Asked for through `core.mail_requests` (the app that owns messages sends them by the
worker's one mail path, once); drafts when `send` is false (a coordinator reviews a plan's
invitations before they go)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from salesline.core.actors import Actor
from salesline.core.mail_requests import Attachment, request_mail
from salesline.core.models import DomainEvent

from . import capacity, ics
from .models import Appointment

REQUEST = "REQUEST"
CANCEL = "CANCEL"


def _when(appointment: Appointment, zone: ZoneInfo) -> str:
    start = appointment.starts_at.astimezone(zone)
    end = appointment.ends_at.astimezone(zone)
    return f"{start:%A %d %B %Y, %H:%M}–{end:%H:%M} ({zone.key})"


def _body(appointment: Appointment, zone: ZoneInfo, *, cancelled: bool, private: bool) -> str:
    owner = appointment.owner
    host = owner.full_name or owner.email
    lines = [
        f"{ics.title_of(appointment)} {'is cancelled' if cancelled else 'is confirmed'}.",
        "",
        f"When: {_when(appointment, zone)}",
    ]
    if appointment.address:
        lines.append(f"Where: {appointment.address}")
    lines.append(f"With: {host} ({owner.email})")
    if private and appointment.objective:
        lines += ["", f"Objective: {appointment.objective}"]
    lines += ["", "The attached calendar file adds it to your calendar."]
    return "\n".join(lines)


def invite(
    actor: Actor, appointment: Appointment, *, send: bool, method: str = REQUEST
) -> list[DomainEvent]:
    """Ask for the appointment's e-mails (both sides; the other side only when it has an
    address). `method` CANCEL tells both that it no longer happens."""
    zone = capacity.zone_of(capacity.pattern_for(appointment.organisation, appointment.owner_id))
    cancelled = method == CANCEL
    prefix = "Cancelled" if cancelled else "Invitation"
    subject = f"{prefix}: {ics.title_of(appointment)}, {_when(appointment, zone)}"
    guests = [a["email"] for a in appointment.attendees or [] if (a or {}).get("email")]
    owner_email = appointment.owner.email
    requests = []
    for to, private in ((guests, False), ([owner_email], True)):
        to = [address for address in to if address]
        if not to:
            continue
        attachment: Attachment = {
            "file_name": "invitation.ics" if not cancelled else "cancellation.ics",
            "content_type": ics.CONTENT_TYPE,
            "text": ics.calendar_text([appointment], method=method, private=private),
        }
        requests.append(
            request_mail(
                actor=actor,
                to=to,
                subject=subject,
                body=_body(appointment, zone, cancelled=cancelled, private=private),
                attachments=[attachment],
                opportunity_id=appointment.opportunity_id,
                lead_id=appointment.lead_id,
                send=send,
                about=appointment,
            )
        )
    return requests
