"""Messages: drafts from templates, edits, sending through the worker (docs/mail-delivery.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel, PlainValidator
from pydantic_core import PydanticCustomError

from salesline.core.errors import ProblemList
from salesline.core.ids import MAX_ID
from salesline.playbooks import message_selectors, message_services
from salesline.records.filters import MAX_LIMIT, MAX_OFFSET

from .common import actor_of, expected_version, with_etag
from .schemas import Strict

router = Router(tags=["messages"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
MessageStatus = Literal["draft", "queued", "sent", "failed"]
MAX_RECIPIENTS = message_services.MAX_RECIPIENTS
TO_TEXT_MAX = 20_000  # characters of a recipients string: 50 long addresses and separators


def _recipients(value: Any) -> list[str] | str | None:
    """One address as a string, or a list of them: only the shape is checked here (one error
    at `to`, not one per union member); the service checks each address and names it."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > TO_TEXT_MAX:
            raise PydanticCustomError(
                "too_long", "Recipients must be at most {max} characters.", {"max": TO_TEXT_MAX}
            )
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        if len(value) > MAX_RECIPIENTS:
            raise PydanticCustomError(
                "too_long", "A message goes to at most {max} recipients.", {"max": MAX_RECIPIENTS}
            )
        return value
    raise PydanticCustomError(
        "recipients",
        "Give the recipients as a list of e-mail addresses, or one address as a string "
        '("a@example.org").',
    )


Recipients = Annotated[
    list[str] | str | None,
    PlainValidator(_recipients, json_schema_input_type=list[str] | str | None),
]
TO_DESCRIPTION = 'A list of addresses, or one address as a string ("a@example.org").'


class MessageIn(Strict):
    template: str = Field(max_length=80)
    opportunity_id: Id | None = None
    lead_id: Id | None = None
    to: Recipients = Field(default=None, description=TO_DESCRIPTION)
    subject: str | None = None
    body: str | None = None
    attachments: list[Id] | None = Field(default=None, max_length=50)


class MessagePatch(Strict):
    to: Recipients = Field(default=None, description=TO_DESCRIPTION)
    subject: str | None = None
    body: str | None = None
    attachments: list[Id] | None = Field(default=None, max_length=50)


class MessageOut(BaseModel):
    id: int
    template: str
    status: str
    to: list[str]
    subject: str
    body: str
    from_email: str
    message_id: str
    attachments: list[str]
    attachment_ids: list[int]
    opportunity_id: int | None
    lead_id: int | None
    created_at: datetime
    queued_at: datetime | None
    sent_at: datetime | None
    attempts: int
    error: str
    version: int


class MessageList(BaseModel):
    items: list[MessageOut]
    count: int
    limit: int
    offset: int


class MessageFilters(Schema):
    opportunity_id: Id | None = None
    lead_id: Id | None = None
    status: MessageStatus | None = None
    limit: int = 50
    offset: int = 0


def message_out(message) -> dict:
    documents = list(message.attachments.all())
    return {
        "id": message.pk,
        "template": message.template,
        "status": message.status,
        "to": list(message.to),
        "subject": message.subject,
        "body": message.body,
        "from_email": message.from_email,
        "message_id": message.message_id,
        # Generated documents, then the text files carried in the message (an invitation).
        "attachments": [d.file_name for d in documents]
        + [a["file_name"] for a in message.inline_attachments or []],
        "attachment_ids": [d.pk for d in documents],
        "opportunity_id": message.opportunity_id,
        "lead_id": message.lead_id,
        "created_at": message.created_at,
        "queued_at": message.queued_at,
        "sent_at": message.sent_at,
        "attempts": message.attempts,
        "error": message.error,
        "version": message.version,
    }


def register(api) -> None:
    """The /messages endpoints, mounted on `api`."""

    def answer(request, message, status=200):
        message = message_selectors.message_get_for(actor=actor_of(request), message_id=message.pk)
        return with_etag(api.create_response(request, message_out(message), status=status), message)

    @router.get("", response=MessageList, operation_id="list_messages", summary="List messages")
    def list_messages(request: HttpRequest, filters: Query[MessageFilters]):
        problems = ProblemList()
        for name, number, lower, upper in (
            ("limit", filters.limit, 1, MAX_LIMIT),
            ("offset", filters.offset, 0, MAX_OFFSET),
        ):
            if not lower <= number <= upper:
                problems.add(
                    ("query", name), f"'{name}' must be a whole number between {lower} and {upper}."
                )
        problems.raise_if_any("The list query is not valid.")
        rows = message_selectors.message_list(
            actor=actor_of(request),
            opportunity_id=filters.opportunity_id,
            lead_id=filters.lead_id,
            status=filters.status,
        )
        page = rows[filters.offset : filters.offset + filters.limit]
        return {
            "items": [message_out(m) for m in page],
            "count": rows.count(),
            "limit": filters.limit,
            "offset": filters.offset,
        }

    @router.post(
        "",
        response={201: MessageOut},
        operation_id="create_message",
        summary="Draft a message from a template",
    )
    def create_message(request: HttpRequest, payload: MessageIn):
        data = payload.model_dump()
        message = message_services.message_draft(
            actor=actor_of(request), template_key=data.pop("template"), **data
        )
        return answer(request, message, status=201)

    @router.get("/{message_id}", response=MessageOut, operation_id="get_message")
    def get_message(request: HttpRequest, message_id: int):
        message = message_selectors.message_get_for(actor=actor_of(request), message_id=message_id)
        return with_etag(api.create_response(request, message_out(message), status=200), message)

    @router.patch(
        "/{message_id}", response=MessageOut, operation_id="update_message", summary="Edit a draft"
    )
    def update_message(request: HttpRequest, message_id: int, payload: MessagePatch):
        message = message_services.message_update(
            actor=actor_of(request),
            message_id=message_id,
            data=payload.model_dump(exclude_unset=True),
            expected_version=expected_version(request, message_id),
        )
        return answer(request, message)

    @router.post(
        "/{message_id}/send",
        response={202: MessageOut},
        operation_id="send_message",
        summary="Queue a draft (or a failed message) for delivery",
    )
    def send_message(request: HttpRequest, message_id: int):
        message = message_services.message_send(
            actor=actor_of(request),
            message_id=message_id,
            expected_version=expected_version(request, message_id),
        )
        return answer(request, message, status=202)

    @router.delete(
        "/{message_id}",
        response={204: None},
        operation_id="delete_message",
        summary="Cancel a draft",
    )
    def delete_message(request: HttpRequest, message_id: int):
        message_services.message_cancel(actor=actor_of(request), message_id=message_id)
        return Status(204, None)

    api.add_router("/messages", router)
