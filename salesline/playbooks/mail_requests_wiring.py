"""The messages other apps ask for (core.mail_requests): this app owns messages, so it turns
each `mail_requested` event into one — the event's delivery row makes that happen once."""

from __future__ import annotations

from salesline.accounts.models import User
from salesline.accounts.services import system_actor
from salesline.core import events
from salesline.core.actors import Actor
from salesline.core.mail_requests import MAIL_REQUESTED
from salesline.core.models import DomainEvent

from .message_services import message_requested


def _actor_of(event: DomainEvent) -> Actor:
    actor = system_actor(event.organisation, event.actor_label or "worker")
    if event.actor_id is not None:
        user = User.objects.filter(pk=event.actor_id).first()
        if user is not None:
            # Sent on behalf of the person who caused it (the sender shown on the message).
            actor = Actor(organisation=event.organisation, user=user)
    return actor


def on_mail_requested(event: DomainEvent) -> None:
    if event.organisation is None:
        return
    payload = event.payload
    message_requested(
        actor=_actor_of(event),
        to=list(payload.get("to") or []),
        subject=payload.get("subject", ""),
        body=payload.get("body", ""),
        inline_attachments=list(payload.get("attachments") or []),
        opportunity_id=payload.get("opportunity_id"),
        lead_id=payload.get("lead_id"),
        send=bool(payload.get("send", True)),
    )


def register() -> None:
    events.register(MAIL_REQUESTED, on_mail_requested, name="playbooks.mail_requested")
