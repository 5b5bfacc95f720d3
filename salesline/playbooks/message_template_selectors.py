"""Reads of message templates, always scoped to the actor's organisation, and previews."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from salesline.core.actors import Actor
from salesline.core.errors import NotFound, ProblemList
from salesline.records.selectors import record_get_for

from . import merge
from .agreement_selectors import agreement_of_opportunity
from .models import MessageTemplate


def message_template_list(*, actor: Actor) -> QuerySet[MessageTemplate]:
    """The organisation's templates, by name."""
    return MessageTemplate.objects.filter(organisation=actor.organisation).order_by("name", "pk")


def message_template_get_for(*, actor: Actor, template_id: Any) -> MessageTemplate:
    """One template of the actor's organisation — another organisation's is NotFound."""
    try:
        pk = int(template_id)
    except (TypeError, ValueError):
        raise NotFound(f"No message template with id {template_id}.") from None
    template = message_template_list(actor=actor).filter(pk=pk).first()
    if template is None:
        raise NotFound(f"No message template with id {template_id}.")
    return template


def message_template_get_by_key(*, actor: Actor, key: str) -> MessageTemplate:
    """The template with `key` in the actor's organisation (what playbook steps and the
    messages API name), or NotFound."""
    template = message_template_list(actor=actor).filter(key=key).first()
    if template is None:
        raise NotFound(f"No message template with key '{key}'.")
    return template


def preview_context(
    *, actor: Actor, opportunity_id: Any = None, lead_id: Any = None
) -> dict[str, Any]:
    """The merge context a preview renders with: a record of the organisation's (404 across
    organisations), or the sample data when none is named. The sender is the actor."""
    organisation = actor.organisation
    if opportunity_id is not None:
        opportunity = record_get_for(actor=actor, kind="opportunity", record_id=opportunity_id)
        return merge.merge_context(
            organisation=organisation,
            opportunity=opportunity,
            agreement=agreement_of_opportunity(actor=actor, opportunity_id=opportunity.pk),
            sender=actor.user,
        )
    if lead_id is not None:
        lead = record_get_for(actor=actor, kind="lead", record_id=lead_id)
        return merge.merge_context(organisation=organisation, lead=lead, sender=actor.user)
    return merge.sample_context(organisation=organisation, sender=actor.user)


def message_template_preview(
    *,
    actor: Actor,
    template_id: Any = None,
    subject: str | None = None,
    body: str | None = None,
    opportunity_id: Any = None,
    lead_id: Any = None,
) -> tuple[str, str]:
    """(subject, body) rendered: a saved template's, or the `subject` and `body` given (which
    override the saved template's, for a live preview while editing). A subject or body the
    sandbox refuses is a 422 naming its problems."""
    if template_id is not None:
        template = message_template_get_for(actor=actor, template_id=template_id)
        subject = template.subject if subject is None else subject
        body = template.body if body is None else body
    subject, body = subject or "", body or ""
    problems = ProblemList()
    for name, text in (("subject", subject), ("body", body)):
        for message in merge.template_problems(text):
            problems.add((name,), message, type="merge_field")
    context = preview_context(actor=actor, opportunity_id=opportunity_id, lead_id=lead_id)
    problems.raise_if_any("The template cannot be rendered.")
    return merge.render(subject, context), merge.render(body, context)
