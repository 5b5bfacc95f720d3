"""Reads of time and expense entries and of the hourly rate, scoped to the actor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum

from salesline.core.actors import Actor
from salesline.core.errors import NotFound, ProblemList, ValidationFailed
from salesline.core.ids import is_id

from .cost_models import CostEntry, CostSettings

# An entry counts while its record is live: one in the trash is left out, as the record is.
# Enquiries are never deleted (and live in another app): an entry on one always counts.
ON_LIVE_RECORD = (
    Q(lead__isnull=False, lead__deleted_at__isnull=True)
    | Q(opportunity__isnull=False, opportunity__deleted_at__isnull=True)
    | Q(enquiry_id__isnull=False)
)


def cost_settings_for(*, actor: Actor) -> CostSettings:
    """The organisation's rate and default currency (unsaved defaults: no rate, EUR)."""
    found = CostSettings.objects.filter(organisation=actor.organisation).first()
    return found or CostSettings(organisation=actor.organisation)


@dataclass(frozen=True)
class CostFilters:
    lead_id: int | None = None
    opportunity_id: int | None = None
    enquiry_id: int | None = None
    campaign_id: int | None = None
    kind: str | None = None
    person_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def cost_entry_list(*, actor: Actor, filters: CostFilters | None = None) -> QuerySet[CostEntry]:
    """The organisation's entries on live records and on enquiries, newest date first. A
    campaign's are those on its leads and its opportunities."""
    filters = filters or CostFilters()
    rows = CostEntry.objects.filter(ON_LIVE_RECORD, organisation=actor.organisation)
    if filters.lead_id is not None:
        rows = rows.filter(lead_id=filters.lead_id)
    if filters.opportunity_id is not None:
        rows = rows.filter(opportunity_id=filters.opportunity_id)
    if filters.enquiry_id is not None:
        rows = rows.filter(enquiry_id=filters.enquiry_id)
    if filters.campaign_id is not None:
        rows = rows.filter(
            Q(lead__campaign_id=filters.campaign_id)
            | Q(opportunity__campaign_id=filters.campaign_id)
        )
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.person_id is not None:
        rows = rows.filter(person_id=filters.person_id)
    if filters.date_from is not None:
        rows = rows.filter(date__gte=filters.date_from)
    if filters.date_to is not None:
        rows = rows.filter(date__lte=filters.date_to)
    return rows.select_related("person").order_by("-date", "-pk")


def cost_entry_get_for(*, actor: Actor, cost_entry_id: Any) -> CostEntry:
    try:
        pk = int(cost_entry_id)
    except (TypeError, ValueError):
        pk = 0
    found = cost_entry_list(actor=actor).filter(pk=pk).first() if is_id(pk) else None
    if found is None:
        raise NotFound(f"No cost with id {cost_entry_id}.")
    return found


@dataclass(frozen=True)
class CostTotal:
    currency: str
    amount: Decimal
    minutes: int


def cost_totals(rows: QuerySet[CostEntry]) -> list[CostTotal]:
    """Per currency (never mixed): the amount and the minutes of time of `rows`."""
    grouped = (
        rows.order_by()
        .values("currency")
        .annotate(amount=Sum("amount"), minutes=Sum("minutes"))
        .order_by("currency")
    )
    return [
        # SQLite sums decimals as floats: back to the cent.
        CostTotal(
            row["currency"],
            Decimal(str(row["amount"] or 0)).quantize(Decimal("0.01")),
            row["minutes"] or 0,
        )
        for row in grouped
    ]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_period(raw: Mapping[str, Any], *, names: tuple[str, str] = ("from", "to")) -> Period:
    """A period from a query string's `from` and `to` (YYYY-MM-DD, each optional): a bad date
    or a `to` before `from` is a 422 naming the parameter."""
    problems = ProblemList()
    days: list[dt.date | None] = []
    for name in names:
        value = raw.get(name)
        if _blank(value):
            days.append(None)
            continue
        try:
            days.append(
                value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
            )
        except ValueError:
            problems.add(("query", name), f"'{name}' must be a date (YYYY-MM-DD).")
            days.append(None)
    if days[0] is not None and days[1] is not None and days[1] < days[0]:
        problems.add(("query", names[1]), f"'{names[1]}' must not be before '{names[0]}'.")
    problems.raise_if_any("The period is not valid.")
    return Period(days[0], days[1])


@dataclass(frozen=True)
class Period:
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def parse_cost_filters(raw: Mapping[str, Any]) -> tuple[CostFilters, int, int]:
    """Filters, limit and offset of the cost list from a query string; every bad value is a 422
    naming its parameter."""
    problems = ProblemList()
    values: dict[str, Any] = {}
    for name in ("lead_id", "opportunity_id", "enquiry_id", "campaign_id", "person_id"):
        value = raw.get(name)
        if _blank(value):
            continue
        try:
            number = int(str(value).strip())
        except ValueError:
            number = 0
        if not is_id(number):
            problems.add(("query", name), f"'{name}' must be an id.")
        else:
            values[name] = number
    kind = raw.get("kind")
    if not _blank(kind):
        if kind not in CostEntry.Kind.values:
            problems.add(("query", "kind"), "'kind' must be one of: time, expense.")
        else:
            values["kind"] = kind
    try:
        period = parse_period(raw)
        values["date_from"], values["date_to"] = period.date_from, period.date_to
    except ValidationFailed as error:
        problems.problems.extend(error.problems)
    paging = {}
    for name, default, lower, upper in (("limit", 50, 1, 500), ("offset", 0, 0, 10**9)):
        value = raw.get(name)
        paging[name] = default
        if _blank(value):
            continue
        try:
            number = int(str(value).strip())
            if not lower <= number <= upper:
                raise ValueError
            paging[name] = number
        except ValueError:
            problems.add(
                ("query", name), f"'{name}' must be a whole number between {lower} and {upper}."
            )
    problems.raise_if_any("The list query is not valid.")
    return CostFilters(**values), paging["limit"], paging["offset"]
