"""Reads of campaigns, always scoped to the actor's organisation."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from salesline.core.actors import Actor
from salesline.core.errors import NotFound
from salesline.core.ids import is_id

from .models import Campaign


def campaign_list(*, actor: Actor, deleted: bool = False) -> QuerySet[Campaign]:
    """The organisation's live campaigns (or those in the trash), newest start first, then by
    name."""
    return Campaign.objects.filter(
        organisation=actor.organisation, deleted_at__isnull=not deleted
    ).order_by(F("starts_on").desc(nulls_last=True), "name", "pk")


def campaign_get_for(*, actor: Actor, campaign_id: Any, deleted: bool = False) -> Campaign:
    """One campaign of the actor's organisation; another organisation's is NotFound."""
    try:
        pk = int(campaign_id)
    except (TypeError, ValueError):
        pk = 0
    campaign = (
        campaign_list(actor=actor, deleted=deleted).filter(pk=pk).first() if is_id(pk) else None
    )
    if campaign is None:
        raise NotFound(f"No campaign with id {campaign_id}.")
    return campaign


def campaign_find(*, actor: Actor, reference: Any) -> Campaign | None:
    """A live campaign named by its id or by its name (ignoring case), as an import's constant
    or a form may give it; None when there is none."""
    text = str(reference).strip()
    rows = campaign_list(actor=actor)
    if text.isdecimal():
        number = int(text)
        found = rows.filter(pk=number).first() if is_id(number) else None
        if found is not None:
            return found
    return rows.filter(name__iexact=text).first() if text else None


def campaign_choices(*, actor: Actor) -> list[tuple[str, str]]:
    """(id, name) of every live campaign, by name: a form's or a filter's options."""
    return [
        (str(pk), name)
        for pk, name in campaign_list(actor=actor).order_by("name", "pk").values_list("pk", "name")
    ]
