"""Every write to campaigns: create, update, soft delete and restore, each audited.

A campaign's fields are cleaned by the records' one rule per field type (`_clean_value`: text,
dates, money, currencies), so a campaign accepts what a record would. Its name is unique among
the organisation's live campaigns (the `campaign_unique_name` constraint, checked first so the
answer names the field). Any member may write campaigns: they are the team's shared list and
the audit trail says who changed what.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, Problem, ProblemList
from salesline.core.ids import is_id

from .fields import FieldDef
from .models import Campaign
from .services import _clean_value, _restore, check_version, locked_row

FIELDS: dict[str, FieldDef] = {
    "name": FieldDef("name", "name", "Name", "text", max_length=200),
    "kind": FieldDef(
        "kind", "kind", "Kind", "choice", max_length=20, choices=tuple(Campaign.Kind.values)
    ),
    "starts_on": FieldDef("starts_on", "starts_on", "Start date", "date"),
    "ends_on": FieldDef("ends_on", "ends_on", "End date", "date"),
    "cost": FieldDef("cost", "cost", "Cost", "decimal"),
    "currency": FieldDef("currency", "currency", "Currency", "text", max_length=3),
    "description": FieldDef("description", "description", "Description", "longtext"),
}


def _apply(actor: Actor, campaign: Campaign, data: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Validate `data` and set it on `campaign`; returns {field: [before, after]} or raises
    ValidationFailed naming every problem at once."""
    problems = ProblemList()
    changes: dict[str, list[Any]] = {}
    for name, value in data.items():
        field = FIELDS.get(name)
        if field is None:
            problems.add((name,), f"Unknown field '{name}'.", type="unknown_field")
            continue
        try:
            cleaned = _clean_value(actor, field, value)
        except ValueError as exc:
            problems.add((name,), f"{field.label} {exc}.")
            continue
        if name == "cost" and cleaned is None:
            cleaned = 0
        if name == "kind" and not cleaned:
            cleaned = Campaign.Kind.OTHER
        before = getattr(campaign, name)
        if before != cleaned:
            setattr(campaign, name, cleaned)
            changes[name] = [before, cleaned]
    if not campaign.name.strip() and not any(p.loc == ("name",) for p in problems.problems):
        problems.add(("name",), "A campaign needs a name.", type="missing")
    if not campaign.currency and not any(p.loc == ("currency",) for p in problems.problems):
        problems.add(("currency",), "Currency is required (a three-letter code such as EUR).")
    if campaign.starts_on and campaign.ends_on and campaign.ends_on < campaign.starts_on:
        problems.add(("ends_on",), "The end date must not be before the start date.")
    problems.raise_if_any("The campaign was not saved.")
    return changes


def _duplicate_name(name: str) -> Conflict:
    return Conflict(
        f"A campaign named '{name}' already exists.",
        [Problem(loc=("name",), msg=f"a campaign named '{name}' already exists", type="duplicate")],
    )


def _name_taken(actor: Actor, name: str, exclude: int | None = None) -> bool:
    rows = Campaign.objects.filter(
        organisation=actor.organisation, name__iexact=name, deleted_at=None
    )
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return rows.exists()


def _saved(campaign: Campaign, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            campaign.save(update_fields=update_fields)
    except IntegrityError:  # the same name saved at the same moment
        raise _duplicate_name(campaign.name) from None


def campaign_create(*, actor: Actor, data: Mapping[str, Any]) -> Campaign:
    campaign = Campaign(organisation=actor.organisation)
    changes = _apply(actor, campaign, data)
    with transaction.atomic():
        if _name_taken(actor, campaign.name):
            raise _duplicate_name(campaign.name)
        _saved(campaign)
        audit.record(
            actor=actor,
            action="create",
            obj=campaign,
            changes={name: [None, after] for name, (_, after) in changes.items()},
        )
    return campaign


def _locked(actor: Actor, campaign_id: Any, *, deleted: bool = False) -> Campaign:
    # An id no database could hold is simply not found (never a 500).
    pk = campaign_id if isinstance(campaign_id, int) and is_id(campaign_id) else 0
    return locked_row(Campaign, actor=actor, pk=pk, what="campaign", deleted=deleted)


def campaign_update(
    *,
    actor: Actor,
    campaign_id: Any,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> Campaign:
    with transaction.atomic():
        campaign = _locked(actor, campaign_id)
        check_version(campaign, expected_version)
        changes = _apply(actor, campaign, data)
        if not changes:
            return campaign
        if "name" in changes and _name_taken(actor, campaign.name, exclude=campaign.pk):
            raise _duplicate_name(campaign.name)
        campaign.version += 1
        campaign.updated_at = timezone.now()
        _saved(campaign, update_fields=[*changes, "version", "updated_at"])
        audit.record(actor=actor, action="update", obj=campaign, changes=changes)
    return campaign


def campaign_delete(
    *, actor: Actor, campaign_id: Any, expected_version: int | None = None
) -> Campaign:
    """Soft delete, restorable for 30 days like the records. Leads and opportunities keep
    pointing at it; the report leaves a deleted campaign and what it brought in out."""
    with transaction.atomic():
        campaign = _locked(actor, campaign_id)
        check_version(campaign, expected_version)
        campaign.deleted_at = timezone.now()
        campaign.version += 1
        campaign.save(update_fields=["deleted_at", "version"])
        audit.record(
            actor=actor,
            action="delete",
            obj=campaign,
            changes={"deleted_at": [None, campaign.deleted_at]},
        )
    return campaign


def campaign_restore(*, actor: Actor, campaign_id: Any) -> Campaign:
    """Refused (409) when a live campaign has taken its name meanwhile."""
    with transaction.atomic():
        campaign = _locked(actor, campaign_id, deleted=True)
        if _name_taken(actor, campaign.name):
            raise Conflict(
                f"A campaign named '{campaign.name}' exists now: rename it before restoring "
                "this one."
            )
        _restore(actor, campaign, "campaign", announce=False)
    return campaign
