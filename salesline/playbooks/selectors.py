"""Reads of playbook runs, scoped by actor."""

from __future__ import annotations

from django.db.models import QuerySet

from salesline.core.actors import Actor
from salesline.process.selectors import definition_for

from .definition import Playbook, playbooks_of
from .models import PlaybookRun


def run_list(
    *, actor: Actor, opportunity_id: int | None = None, lead_id: int | None = None, limit: int = 100
) -> QuerySet[PlaybookRun]:
    """A record's playbook runs, newest first, with their steps (two queries)."""
    runs = PlaybookRun.objects.filter(organisation=actor.organisation)
    if opportunity_id is not None:
        runs = runs.filter(opportunity_id=opportunity_id)
    if lead_id is not None:
        runs = runs.filter(lead_id=lead_id)
    return runs.prefetch_related("steps").order_by("-started_at", "-id")[:limit]


def playbook_index(*, actor: Actor) -> dict[str, Playbook]:
    """The playbooks of the definition in force, by key (runs name them by key)."""
    return {p.key: p for p in playbooks_of(definition_for(actor.organisation))}
