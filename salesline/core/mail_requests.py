"""Asking for an e-mail without knowing who sends it: an engine app (scheduling's invitations
and booking confirmations, a network's acknowledgements) emits `mail_requested` through the
event seam; the app that owns messages (playbooks) turns it into a Message — drafted, or queued
for the worker's one mail path — exactly once per event, attachments included. The payload is
plain data, so the request commits with the caller's rows and survives a crash."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from django.db import models

from .actors import Actor
from .events import emit
from .models import DomainEvent

MAIL_REQUESTED = "mail_requested"


class Attachment(TypedDict):
    file_name: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    text: str  # the attachment's content (text attachments only: an ICS file)


def request_mail(
    *,
    actor: Actor,
    to: Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
    opportunity_id: int | None = None,
    lead_id: int | None = None,
    send: bool = True,
    about: models.Model | None = None,
) -> DomainEvent:
    """Ask for one message to `to`: sent (queued for the worker) when `send`, else left as a
    draft for a person to review. `about` is the object the mail concerns (an appointment),
    named on the event."""
    payload: dict[str, Any] = {
        "to": list(to),
        "subject": subject,
        "body": body,
        "attachments": [dict(attachment) for attachment in attachments],
        "opportunity_id": opportunity_id,
        "lead_id": lead_id,
        "send": send,
    }
    return emit(actor=actor, kind=MAIL_REQUESTED, obj=about, payload=payload)
