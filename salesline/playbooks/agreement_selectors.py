"""Reads of agreements and their invoices, scoped by actor."""

from __future__ import annotations

from django.db.models import QuerySet

from salesline.core.actors import Actor
from salesline.core.errors import NotFound

from .models import Agreement, Invoice


def agreement_list(
    *, actor: Actor, opportunity_id: int | None = None, status: str | None = None
) -> QuerySet[Agreement]:
    """The organisation's agreements (of live opportunities), newest first."""
    rows = Agreement.objects.filter(
        organisation=actor.organisation, opportunity__deleted_at__isnull=True
    ).select_related("opportunity")
    if opportunity_id is not None:
        rows = rows.filter(opportunity_id=opportunity_id)
    if status is not None:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")


def agreement_get_for(*, actor: Actor, agreement_id: int) -> Agreement:
    agreement = agreement_list(actor=actor).filter(pk=agreement_id).first()
    if agreement is None:
        raise NotFound(f"No agreement with id {agreement_id}.")
    return agreement


def agreement_of_opportunity(*, actor: Actor, opportunity_id: int) -> Agreement | None:
    """The opportunity's agreement: the one not ended, else the latest."""
    rows = list(agreement_list(actor=actor, opportunity_id=opportunity_id)[:10])
    live = [a for a in rows if a.status != Agreement.Status.ENDED]
    return live[0] if live else (rows[0] if rows else None)


def invoice_list(*, actor: Actor, agreement_id: int | None = None) -> QuerySet[Invoice]:
    """The organisation's invoices, by agreement and issue date."""
    rows = Invoice.objects.filter(
        organisation=actor.organisation, agreement__opportunity__deleted_at__isnull=True
    )
    if agreement_id is not None:
        rows = rows.filter(agreement_id=agreement_id)
    return rows.order_by("agreement_id", "issue_date", "period")
