"""Reads of messages, scoped to the actor's organisation (another organisation's is NotFound)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet

from salesline.core.actors import Actor
from salesline.core.errors import NotFound

from .models import Document, Message, MessageTemplate

STATUSES = tuple(Message.Status.values)


def _base(actor: Actor) -> QuerySet[Message]:
    return Message.objects.filter(organisation=actor.organisation).prefetch_related(
        Prefetch("attachments", queryset=Document.objects.order_by("id"))
    )


def message_list(
    *,
    actor: Actor,
    opportunity_id: int | None = None,
    lead_id: int | None = None,
    status: str | None = None,
) -> QuerySet[Message]:
    """Messages newest first, filtered by record and status (attachments prefetched)."""
    rows = _base(actor)
    if opportunity_id is not None:
        rows = rows.filter(opportunity_id=opportunity_id)
    if lead_id is not None:
        rows = rows.filter(lead_id=lead_id)
    if status is not None:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")


def message_get_for(*, actor: Actor, message_id: Any) -> Message:
    try:
        pk = int(message_id)
    except (TypeError, ValueError):
        raise NotFound(f"No message with id {message_id}.") from None
    message = _base(actor).filter(pk=pk).first()
    if message is None:
        raise NotFound(f"No message with id {message_id}.")
    return message


def message_template_choices(*, actor: Actor) -> list[tuple[str, str]]:
    """(key, name) of the organisation's message templates, by name."""
    return list(
        MessageTemplate.objects.filter(organisation=actor.organisation)
        .order_by("name", "key")
        .values_list("key", "name")
    )


@dataclass(frozen=True)
class MessageEvent:
    """A message as a line of the record's timeline."""

    at: Any
    who: str
    text: str


def message_timeline(*, actor: Actor, kind: str, record_id: int, limit: int) -> list[MessageEvent]:
    """The record's messages for its timeline: when drafted, and when sent or failed."""
    if kind not in ("opportunity", "lead"):
        return []
    rows = (
        Message.objects.filter(organisation=actor.organisation, **{f"{kind}_id": record_id})
        .select_related("sender")
        .order_by("-created_at", "-id")[:limit]
    )
    events: list[MessageEvent] = []
    for message in rows:
        who = (message.sender.full_name or message.sender.email) if message.sender else "system"
        to = ", ".join(message.to)
        events.append(MessageEvent(message.created_at, who, f"Drafted “{message.subject}” to {to}"))
        if message.status == Message.Status.SENT and message.sent_at:
            events.append(MessageEvent(message.sent_at, "", f"Sent “{message.subject}” to {to}"))
        elif message.status == Message.Status.FAILED:
            events.append(
                MessageEvent(
                    message.updated_at,
                    "",
                    f"Sending “{message.subject}” to {to} failed: {message.error}",
                )
            )
        elif message.status == Message.Status.QUEUED and message.queued_at:
            events.append(
                MessageEvent(message.queued_at, who, f"Queued “{message.subject}” to {to}")
            )
    return events
