"""Every write to time and expense entries and to the organisation's hourly rate, audited.

Any member may log time or an expense on a lead or an opportunity of the organisation, or on
a network enquiry the organisation may see (the enquiry is in the network's books; the entry
stays the member's, as the cost is theirs); an entry is deleted by whoever logged it, the
member it is for, or an admin. The hourly rate is an admin's to set. A time entry copies the
rate in force (or the one it gives) and stores its amount, so a later change of rate never
rewrites what was logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from salesline.accounts.models import Membership, Role
from salesline.core import audit, measures
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, PermissionDenied, ProblemList
from salesline.core.ids import is_id
from salesline.pipeline.models import Opportunity
from salesline.records.fields import FieldDef
from salesline.records.models import Lead
from salesline.records.services import _clean_value, check_version

from .cost_models import CostEntry, CostSettings
from .cost_selectors import cost_settings_for

# A month of someone's working hours is far beyond any single entry: a bound that catches a
# typing slip (minutes typed as seconds) without refusing a long trade show.
MAX_MINUTES = 60 * 24 * 31
ENTRY_FIELDS = (
    "kind",
    "minutes",
    "hourly_rate",
    "amount",
    "currency",
    "description",
    "date",
    "person_id",
    "lead_id",
    "opportunity_id",
    "enquiry_id",
)
_DATE = FieldDef("date", "date", "Date", "date")
_MONEY = {
    "amount": FieldDef("amount", "amount", "Amount", "decimal"),
    "hourly_rate": FieldDef("hourly_rate", "hourly_rate", "Hourly rate", "decimal"),
}
_CURRENCY = FieldDef("currency", "currency", "Currency", "text", max_length=3)
_DESCRIPTION = FieldDef("description", "description", "Description", "text", max_length=500)
TARGETS: dict[str, Any] = {"lead_id": Lead, "opportunity_id": Opportunity, "enquiry_id": None}


def _clean(actor: Actor, field: FieldDef, value: Any, problems: ProblemList) -> Any:
    try:
        return _clean_value(actor, field, value)
    except ValueError as exc:
        problems.add((field.name,), f"{field.label} {exc}.")
        return None


def _minutes(value: Any, problems: ProblemList) -> int | None:
    if value in (None, ""):
        problems.add(("minutes",), "Time needs its minutes.", type="missing")
        return None
    if isinstance(value, bool):
        value = "not a number"
    try:
        minutes = int(str(value).strip())
    except ValueError:
        problems.add(("minutes",), "Minutes must be a whole number.")
        return None
    if not 1 <= minutes <= MAX_MINUTES:
        problems.add(("minutes",), f"Minutes must be between 1 and {MAX_MINUTES:,}.")
        return None
    return minutes


def _target(actor: Actor, data: Mapping[str, Any], problems: ProblemList) -> dict[str, Any]:
    """{"lead_id": pk} or {"opportunity_id": pk} of a live record of the organisation, or
    {"enquiry_id": pk, "enquiry_reference": ...} of an enquiry the organisation may see; another
    organisation's (or a deleted) record, or an enquiry of a network the organisation is not a
    member of, is NotFound, as for notes."""
    given = {name: data[name] for name in TARGETS if data.get(name) not in (None, "")}
    if len(given) != 1:
        # An enquiry given with a record is named by enquiry_id; otherwise as before, lead_id.
        problems.add(
            ("enquiry_id" if len(given) > 1 and "enquiry_id" in given else "lead_id",),
            "A cost belongs to exactly one record: give one of lead_id, opportunity_id or "
            "enquiry_id.",
        )
        return {}
    ((name, value),) = given.items()
    try:
        pk = int(str(value))
    except ValueError:
        problems.add((name,), f"{name} must be an id.")
        return {}
    what = name.removesuffix("_id")
    if name == "enquiry_id":
        # The enquiries app answers, through the read-side seam (analytics may not import it).
        seen = is_id(pk) and measures.measure("visible_enquiry", actor=actor, enquiry_id=pk)
        if not seen:
            raise NotFound(f"No enquiry with id {value}.")
        return {"enquiry_id": seen["id"], "enquiry_reference": seen["reference"]}
    alive = TARGETS[name].objects.filter(organisation=actor.organisation, deleted_at=None)
    if not is_id(pk) or not alive.filter(pk=pk).exists():
        raise NotFound(f"No {what} with id {value}.")
    return {name: pk}


def _person(actor: Actor, value: Any, problems: ProblemList) -> int | None:
    if value in (None, ""):
        return actor.user.pk if actor.user is not None else None
    try:
        pk = int(str(value))
    except ValueError:
        pk = 0
    if (
        not is_id(pk)
        or not Membership.objects.filter(organisation=actor.organisation, user_id=pk).exists()
    ):
        problems.add(("person_id",), f"Person refers to no member with id {value}.")
        return None
    return pk


def cost_entry_create(*, actor: Actor, data: Mapping[str, Any]) -> CostEntry:
    """Log time (`minutes`, at `hourly_rate` or the organisation's) or an expense (`amount`)
    on one lead or opportunity. Every problem is reported at once."""
    problems = ProblemList()
    for name in data:
        if name not in ENTRY_FIELDS:
            problems.add((name,), f"Unknown field '{name}'.", type="unknown_field")
    settings = cost_settings_for(actor=actor)
    kind = data.get("kind")
    if kind not in CostEntry.Kind.values:
        problems.add(("kind",), "Kind must be one of: time, expense.")
    entry = CostEntry(organisation=actor.organisation, kind=kind or "", created_by=actor.user)
    entry.date = _clean(actor, _DATE, data.get("date"), problems) or timezone.localdate()
    entry.currency = _clean(actor, _CURRENCY, data.get("currency"), problems) or settings.currency
    entry.description = _clean(actor, _DESCRIPTION, data.get("description", ""), problems) or ""
    entry.person_id = _person(actor, data.get("person_id"), problems)
    if kind == CostEntry.Kind.TIME:
        if data.get("amount") not in (None, ""):
            problems.add(("amount",), "The amount of time is its minutes × the hourly rate.")
        entry.minutes = _minutes(data.get("minutes"), problems)
        rate = _clean(actor, _MONEY["hourly_rate"], data.get("hourly_rate"), problems)
        if rate is None and data.get("hourly_rate") in (None, ""):
            rate = settings.hourly_rate
            if rate is None:
                problems.add(
                    ("hourly_rate",),
                    "Give an hourly rate, or have an admin set the organisation's (Reports › "
                    "Campaigns and costs).",
                    type="missing",
                )
            elif not data.get("currency"):
                entry.currency = settings.currency
        entry.hourly_rate = rate
        if entry.minutes is not None and rate is not None:
            entry.amount = (Decimal(entry.minutes) * rate / 60).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            )
    elif kind == CostEntry.Kind.EXPENSE:
        for name in ("minutes", "hourly_rate"):
            if data.get(name) not in (None, ""):
                problems.add((name,), f"An expense has no {name.replace('_', ' ')}.")
        amount = _clean(actor, _MONEY["amount"], data.get("amount"), problems)
        if amount is None and data.get("amount") in (None, ""):
            problems.add(("amount",), "An expense needs its amount.", type="missing")
        entry.amount = amount
    target = _target(actor, data, problems)
    problems.raise_if_any("The cost was not saved.")
    for name, value in target.items():
        setattr(entry, name, value)
    with transaction.atomic():
        entry.save()
        audit.record(
            actor=actor,
            action="create",
            obj=entry,
            changes={name: [None, value] for name, value in entry_values(entry).items()},
        )
    return entry


def entry_values(entry: CostEntry) -> dict[str, Any]:
    """An entry's fields, as the audit trail keeps them."""
    return {
        "kind": entry.kind,
        "minutes": entry.minutes,
        "hourly_rate": entry.hourly_rate,
        "amount": entry.amount,
        "currency": entry.currency,
        "description": entry.description,
        "date": entry.date,
        "person_id": entry.person_id,
        "lead_id": entry.lead_id,
        "opportunity_id": entry.opportunity_id,
        "enquiry_id": entry.enquiry_id,
        "enquiry_reference": entry.enquiry_reference,
    }


def cost_entry_delete(*, actor: Actor, cost_entry_id: Any) -> None:
    """Removes the entry (the audit trail keeps what it was)."""
    pk = cost_entry_id if isinstance(cost_entry_id, int) and is_id(cost_entry_id) else 0
    with transaction.atomic():
        entry = (
            CostEntry.objects.select_for_update()
            .filter(organisation=actor.organisation, pk=pk)
            .first()
        )
        if entry is None:
            raise NotFound(f"No cost with id {cost_entry_id}.")
        user_id = actor.user.pk if actor.user is not None else None
        if (
            actor.user is not None
            and user_id not in (entry.created_by_id, entry.person_id)
            and not actor.has_role(Role.ADMIN)
        ):
            raise PermissionDenied(
                "Only whoever logged this cost, the member it is for, or an admin can delete it."
            )
        audit.record(
            actor=actor,
            action="delete",
            obj=entry,
            changes={name: [value, None] for name, value in entry_values(entry).items()},
        )
        entry.delete()


def cost_settings_update(
    *, actor: Actor, data: Mapping[str, Any], expected_version: int | None = None
) -> CostSettings:
    """Set the hourly rate (blank: none, so time must give its own) and the default
    currency. Admins only."""
    if actor.user is not None and not actor.has_role(Role.ADMIN):
        raise PermissionDenied("Only an admin can set the hourly rate.")
    problems = ProblemList()
    for name in data:
        if name not in ("hourly_rate", "currency"):
            problems.add((name,), f"Unknown field '{name}'.", type="unknown_field")
    cleaned: dict[str, Any] = {}
    if "hourly_rate" in data:
        cleaned["hourly_rate"] = _clean(actor, _MONEY["hourly_rate"], data["hourly_rate"], problems)
    if "currency" in data:
        currency = _clean(actor, _CURRENCY, data["currency"], problems)
        if not currency:
            problems.add(("currency",), "Currency is required (a three-letter code such as EUR).")
        cleaned["currency"] = currency
    problems.raise_if_any("The cost settings were not saved.")
    with transaction.atomic():
        settings, _ = CostSettings.objects.select_for_update().get_or_create(
            organisation=actor.organisation
        )
        check_version(settings, expected_version)
        changes = {
            name: [getattr(settings, name), value]
            for name, value in cleaned.items()
            if getattr(settings, name) != value
        }
        if changes:
            for name, (_, value) in changes.items():
                setattr(settings, name, value)
            settings.version += 1
            settings.updated_at = timezone.now()
            settings.save(update_fields=[*changes, "version", "updated_at"])
            audit.record(actor=actor, action="update", obj=settings, changes=changes)
    return settings
