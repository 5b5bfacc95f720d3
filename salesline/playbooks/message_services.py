"""Writes of canned messages: drafting from a template, editing a draft, sending (through the
worker, `delivery.message_deliver`) and cancelling a draft. docs/mail-delivery.md tells the story.

Sending enqueues the delivery task in the same transaction as the status change: with the
database task backend the task row commits, or rolls back, with the message row, so a queued
message always has its delivery task and a task never finds its message missing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from email.utils import make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template import TemplateSyntaxError
from django.utils import timezone

from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, PreconditionFailed, ProblemList
from salesline.core.events import _uses_database_backend
from salesline.core.tasks import organisation_marker
from salesline.core.text import LONG_TEXT_MAX, text_problem
from salesline.pipeline.models import Opportunity
from salesline.records.models import Lead
from salesline.records.normalise import Normaliser

from . import merge
from .agreement_selectors import agreement_of_opportunity
from .models import Document, Message, MessageTemplate

#: Fields of a draft a person may change (`message_update`).
EDITABLE = ("to", "subject", "body", "attachments")
MAX_RECIPIENTS = 50
SUBJECT_MAX = 255


# ---------------------------------------------------------------- checks


def _clean_to(value: Any, problems: ProblemList) -> list[str]:
    """The recipients as normalised addresses; every bad one named."""
    if isinstance(value, str):
        value = [part for part in value.replace(";", ",").split(",")]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        problems.add(("to",), "Give the recipients as a list of e-mail addresses.")
        return []
    normaliser = Normaliser()
    addresses: list[str] = []
    for index, raw in enumerate(value):
        if not raw.strip():
            continue
        try:
            address = normaliser.email(raw)
        except ValueError as error:
            problems.add(("to", index), f"'{raw.strip()[:80]}': {error}.")
            continue
        if address not in addresses:
            addresses.append(address)
    if not addresses and not any(p.loc[:1] == ("to",) for p in problems.problems):
        problems.add(("to",), "A message needs at least one recipient.", type="missing")
    if len(addresses) > MAX_RECIPIENTS:
        problems.add(("to",), f"A message goes to at most {MAX_RECIPIENTS} recipients.")
    return addresses


def _clean_subject(value: Any, problems: ProblemList) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.add(("subject",), "A message needs a subject.", type="missing")
        return ""
    value = value.strip()
    reason = text_problem(value, max_length=SUBJECT_MAX)
    if reason:
        problems.add(("subject",), f"The subject {reason}.")
    return value


def _clean_body(value: Any, problems: ProblemList) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.add(("body",), "A message needs some text.", type="missing")
        return ""
    reason = text_problem(value, max_length=LONG_TEXT_MAX, multiline=True)
    if reason:
        problems.add(("body",), f"The body {reason}.")
    return value


def _documents(actor: Actor, ids: Any, problems: ProblemList) -> list[Document]:
    """Documents of the actor's organisation by id; an unknown (or another organisation's) id is
    named as a problem, never attached."""
    if not isinstance(ids, list | tuple) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        problems.add(("attachments",), "Give the attachments as a list of document ids.")
        return []
    found = {d.pk: d for d in Document.objects.filter(organisation=actor.organisation, pk__in=ids)}
    for index, pk in enumerate(ids):
        if pk not in found:
            problems.add(("attachments", index), f"No document with id {pk}.")
    return [found[pk] for pk in dict.fromkeys(ids) if pk in found]


def _record(actor: Actor, opportunity_id: Any, lead_id: Any, problems: ProblemList):
    """The opportunity and lead the message is about (either may be None), read with what the
    merge fields need; NotFound for another organisation's or a deleted one."""
    if opportunity_id is None and lead_id is None:
        problems.add(
            ("opportunity_id",),
            "A message is about an opportunity or a lead: give opportunity_id or lead_id.",
            type="missing",
        )
        return None, None
    opportunity = lead = None
    if opportunity_id is not None:
        opportunity = (
            Opportunity.objects.select_related("stage", "owner", "primary_contact", "company")
            .filter(organisation=actor.organisation, pk=opportunity_id, deleted_at=None)
            .first()
        )
        if opportunity is None:
            raise NotFound(f"No opportunity with id {opportunity_id}.")
    if lead_id is not None:
        lead = Lead.objects.filter(
            organisation=actor.organisation, pk=lead_id, deleted_at=None
        ).first()
        if lead is None:
            raise NotFound(f"No lead with id {lead_id}.")
    return opportunity, lead


def from_address(template: MessageTemplate | None, organisation) -> str:
    """The template's From, else the organisation's, else the installation's."""
    return (
        (template.from_email if template is not None else "")
        or organisation.from_email
        or settings.DEFAULT_FROM_EMAIL
    )


def new_message_id(from_email: str) -> str:
    """A unique RFC 5322 Message-ID in the From address's domain."""
    domain = parseaddr(from_email)[1].rpartition("@")[2].strip().lower()
    return make_msgid(domain=domain or "salesline.localhost")


def default_recipients(opportunity, lead) -> list[str]:
    """The contact's address: an opportunity's primary contact, else the lead's own."""
    if opportunity is not None and opportunity.primary_contact_id:
        email = opportunity.primary_contact.email
        if email:
            return [email]
    if lead is not None and lead.email:
        return [lead.email]
    return []


def render_template(
    template: MessageTemplate, *, actor: Actor, opportunity=None, lead=None
) -> tuple[str, str]:
    """The template's subject (one line) and body rendered with the record's merge fields."""
    problems = merge.template_problems(template.subject) + merge.template_problems(template.body)
    if problems:
        raise_template_problem(template.key, problems)
    # A message about an opportunity may speak of its agreement (a renewal notice's end date).
    agreement = (
        agreement_of_opportunity(actor=actor, opportunity_id=opportunity.pk)
        if opportunity is not None
        else None
    )
    context = merge.merge_context(
        organisation=actor.organisation,
        opportunity=opportunity,
        lead=lead,
        agreement=agreement,
        sender=actor.user,
    )
    try:
        subject = merge.render(template.subject, context)
        body = merge.render(template.body, context)
    except TemplateSyntaxError as error:
        raise_template_problem(template.key, [str(error)])
    return " ".join(subject.split())[:SUBJECT_MAX], body


def raise_template_problem(key: str, problems: Iterable[str]) -> None:
    found = ProblemList()
    found.add(("template",), f"The template '{key}' cannot be used: {'; '.join(problems)}.")
    found.raise_if_any("The message was not drafted.")


def _template_documents(actor: Actor, template: MessageTemplate, opportunity, lead):
    """The latest version of each document the template attaches, for this record; one is
    generated when the record has none yet."""
    documents = []
    for key in template.attachments or []:
        rows = Document.objects.filter(organisation=actor.organisation, template=key)
        rows = rows.filter(opportunity=opportunity) if opportunity is not None else rows
        rows = rows.filter(lead=lead) if opportunity is None and lead is not None else rows
        latest = rows.order_by("-version", "-id").first()
        if latest is None:
            latest = _generate_document(actor, key, opportunity, lead)
        if latest is not None:
            documents.append(latest)
    return documents


def _generate_document(actor: Actor, key: str, opportunity, lead) -> Document | None:
    try:
        from .document_services import document_generate
    except ImportError:
        problems = ProblemList()
        problems.add(
            ("attachments",),
            f"The template attaches the document '{key}', which this record does not have yet.",
        )
        problems.raise_if_any("The message was not drafted.")
        return None
    return document_generate(
        actor=actor,
        template_key=key,
        opportunity_id=opportunity.pk if opportunity is not None else None,
        lead_id=lead.pk if lead is not None and opportunity is None else None,
    )


# ---------------------------------------------------------------- services


def message_draft(
    *,
    actor: Actor,
    template_key: str,
    opportunity_id: int | None = None,
    lead_id: int | None = None,
    to: list[str] | None = None,
    subject: str | None = None,
    body: str | None = None,
    attachments: list[int] | None = None,
    run=None,
) -> Message:
    """A draft from the organisation's template `template_key`, rendered for the record, with
    the given overrides; every problem is reported at once (422)."""
    problems = ProblemList()
    template = MessageTemplate.objects.filter(
        organisation=actor.organisation, key=template_key
    ).first()
    if template is None:
        known = sorted(
            MessageTemplate.objects.filter(organisation=actor.organisation).values_list(
                "key", flat=True
            )
        )
        problems.add(
            ("template",),
            f"No message template '{template_key}'"
            + (f" (templates: {', '.join(known)})." if known else "."),
        )
    opportunity, lead = _record(actor, opportunity_id, lead_id, problems)
    problems.raise_if_any("The message was not drafted.")
    assert template is not None  # noqa: S101 - problems raised above otherwise
    rendered_subject, rendered_body = render_template(
        template, actor=actor, opportunity=opportunity, lead=lead
    )
    wanted = to if to is not None else default_recipients(opportunity, lead)
    recipients = _clean_to(wanted, problems)
    if to is None and not recipients:
        problems.problems[:] = [p for p in problems.problems if p.loc[:1] != ("to",)]
        problems.add(
            ("to",),
            "The record has no contact with an e-mail address: give the recipients.",
            type="missing",
        )
    subject = _clean_subject(rendered_subject if subject is None else subject, problems)
    body = _clean_body(rendered_body if body is None else body, problems)
    documents = _documents(actor, attachments, problems) if attachments is not None else []
    problems.raise_if_any("The message was not drafted.")
    from_email = from_address(template, actor.organisation)
    now = timezone.now()
    with transaction.atomic():
        for document in _template_documents(actor, template, opportunity, lead):
            if document not in documents:
                documents.append(document)
        message = Message.objects.create(
            organisation=actor.organisation,
            template=template.key,
            status=Message.Status.DRAFT,
            from_email=from_email,
            to=recipients,
            subject=subject,
            body=body,
            message_id=new_message_id(from_email),
            opportunity=opportunity,
            lead=lead,
            run=run,
            sender=actor.user,
            created_at=now,
            updated_at=now,
        )
        if documents:
            message.attachments.set(documents)
        audit.record(
            actor=actor,
            action="create",
            obj=message,
            changes={
                "template": [None, template.key],
                "to": [None, recipients],
                "subject": [None, subject],
                "attachments": [None, [d.file_name for d in documents]],
            },
        )
    return message


def _locked(actor: Actor, message_id: Any) -> Message:
    try:
        pk = int(message_id)
    except (TypeError, ValueError):
        raise NotFound(f"No message with id {message_id}.") from None
    message = (
        Message.objects.select_for_update().filter(organisation=actor.organisation, pk=pk).first()
    )
    if message is None:
        raise NotFound(f"No message with id {message_id}.")
    return message


def _check_version(message: Message, expected_version: int | None) -> None:
    if expected_version is not None and message.version != expected_version:
        raise PreconditionFailed(
            f"This message was changed by someone else (version {message.version}, you edited "
            f"version {expected_version}). Reload it and apply your change again."
        )


def message_update(
    *,
    actor: Actor,
    message_id: int,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> Message:
    """Change a draft's recipients, subject, body or attachments (document ids); 409 once it
    has been sent."""
    problems = ProblemList()
    for name in data:
        if name not in EDITABLE:
            problems.add((name,), f"'{name}' cannot be changed (fields: {', '.join(EDITABLE)}).")
    with transaction.atomic():
        message = _locked(actor, message_id)
        _check_version(message, expected_version)
        if message.status != Message.Status.DRAFT:
            raise Conflict(f"This message is {message.status}: only a draft can be changed.")
        values: dict[str, Any] = {}
        if "to" in data:
            values["to"] = _clean_to(data["to"], problems)
        if "subject" in data:
            values["subject"] = _clean_subject(data["subject"], problems)
        if "body" in data:
            values["body"] = _clean_body(data["body"], problems)
        documents = None
        if "attachments" in data:
            documents = _documents(actor, data["attachments"], problems)
        problems.raise_if_any("The message was not saved.")
        changes = {
            name: [getattr(message, name), value]
            for name, value in values.items()
            if getattr(message, name) != value
        }
        if documents is not None:
            before = sorted(message.attachments.values_list("file_name", flat=True))
            after = sorted(d.file_name for d in documents)
            if {d.pk for d in documents} != set(message.attachments.values_list("pk", flat=True)):
                message.attachments.set(documents)
                changes["attachments"] = [before, after]
        if changes:
            for name, value in values.items():
                setattr(message, name, value)
            message.version += 1
            message.updated_at = timezone.now()
            message.save(update_fields=[*values, "version", "updated_at"])
            audit.record(actor=actor, action="update", obj=message, changes=changes)
    return message


def _enqueue_delivery(message: Message) -> None:
    from .delivery import message_deliver

    args = (message.pk, message.delivery_token)
    # Marked with the organisation: its admins see the delivery on the jobs page (core.jobs).
    marker = organisation_marker(message_deliver, message.organisation_id)
    if _uses_database_backend():
        # The task row is the outbox: it commits, or rolls back, with the queued message.
        message_deliver.enqueue(*args, **marker)
    else:
        transaction.on_commit(lambda: message_deliver.enqueue(*args, **marker), robust=True)


def message_send(*, actor: Actor, message_id: int, expected_version: int | None = None) -> Message:
    """Queue a draft (or a failed message, to retry it) for the worker to deliver; 409 when it
    is queued or sent already."""
    with transaction.atomic():
        message = _locked(actor, message_id)
        _check_version(message, expected_version)
        if message.status not in (Message.Status.DRAFT, Message.Status.FAILED):
            raise Conflict(
                f"This message is {message.status} already: only a draft or a failed message "
                "can be sent."
            )
        problems = ProblemList()
        if not message.to:
            problems.add(("to",), "A message needs at least one recipient.", type="missing")
        problems.raise_if_any("The message was not sent.")
        before = message.status
        message.status = Message.Status.QUEUED
        message.queued_at = message.updated_at = timezone.now()
        message.delivery_token = uuid.uuid4().hex
        message.claimed_at = None
        message.attempts = 0
        message.error = ""
        message.version += 1
        message.save(
            update_fields=[
                "status",
                "queued_at",
                "updated_at",
                "delivery_token",
                "claimed_at",
                "attempts",
                "error",
                "version",
            ]
        )
        audit.record(
            actor=actor,
            action="send" if before == Message.Status.DRAFT else "retry",
            obj=message,
            changes={"status": [before, message.status]},
        )
        _enqueue_delivery(message)
    return message


def message_create_and_send(
    *,
    actor: Actor,
    template_key: str,
    opportunity_id: int | None = None,
    lead_id: int | None = None,
    to: list[str] | None = None,
    subject: str | None = None,
    body: str | None = None,
    attachments: list[int] | None = None,
    run=None,
) -> Message:
    """Draft and queue in one transaction (a playbook step that sends directly)."""
    with transaction.atomic():
        message = message_draft(
            actor=actor,
            template_key=template_key,
            opportunity_id=opportunity_id,
            lead_id=lead_id,
            to=to,
            subject=subject,
            body=body,
            attachments=attachments,
            run=run,
        )
        return message_send(actor=actor, message_id=message.pk)


def message_cancel(*, actor: Actor, message_id: int) -> None:
    """Throw a draft away: the row is deleted (the contract's statuses have no `cancelled`);
    the audit trail keeps what it was. 409 once it has been sent."""
    with transaction.atomic():
        message = _locked(actor, message_id)
        if message.status != Message.Status.DRAFT:
            raise Conflict(f"This message is {message.status}: only a draft can be cancelled.")
        audit.record(
            actor=actor,
            action="delete",
            obj=message,
            changes={
                "status": [message.status, None],
                "to": [message.to, None],
                "subject": [message.subject, None],
            },
        )
        message.delete()


def message_requested(
    *,
    actor: Actor,
    to: list[str],
    subject: str,
    body: str,
    inline_attachments: list[dict[str, str]],
    opportunity_id: int | None = None,
    lead_id: int | None = None,
    send: bool = True,
) -> Message:
    """The message another app asked for (core.mail_requests): no template; text attachments
    carried in the message; sent at once or left as a draft. A record deleted since the asking
    is no longer linked, rather than the message being lost."""
    problems = ProblemList()
    opportunity = lead = None
    if opportunity_id is not None:
        opportunity = Opportunity.objects.filter(
            organisation=actor.organisation, pk=opportunity_id, deleted_at=None
        ).first()
    if lead_id is not None:
        lead = Lead.objects.filter(
            organisation=actor.organisation, pk=lead_id, deleted_at=None
        ).first()
    recipients = _clean_to(to, problems)
    subject = _clean_subject(subject, problems)
    body = _clean_body(body, problems)
    problems.raise_if_any("The message was not drafted.")
    from_email = from_address(None, actor.organisation)
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            organisation=actor.organisation,
            status=Message.Status.DRAFT,
            from_email=from_email,
            to=recipients,
            subject=subject,
            body=body,
            inline_attachments=list(inline_attachments),
            message_id=new_message_id(from_email),
            opportunity=opportunity,
            lead=lead,
            sender=actor.user,
            created_at=now,
            updated_at=now,
        )
        audit.record(
            actor=actor,
            action="create",
            obj=message,
            changes={
                "to": [None, recipients],
                "subject": [None, subject],
                "attachments": [None, [a["file_name"] for a in inline_attachments]],
            },
        )
        if send:
            message = message_send(actor=actor, message_id=message.pk)
    return message
