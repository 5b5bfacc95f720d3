"""Reads of enquiries, scoped by actor: a member sees the enquiries of the networks its
organisation is a member of (docs/networks.md); anything else is NotFound. The list's filters
are parsed once here for the API and the web."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from salesline.core.actors import Actor
from salesline.core.errors import NotFound, ProblemList
from salesline.core.ids import is_id

from .access import member_networks
from .models import Category, Enquiry, EnquiryStatus

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
MAX_OFFSET = 10**9
MAX_QUERY = 200


@dataclass(frozen=True)
class EnquiryFilters:
    status: str = ""
    category: str = ""
    chair_org: str = ""  # a member organisation's slug
    network: str = ""  # a network's slug
    q: str = ""
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_filters(raw: Mapping[str, Any]) -> EnquiryFilters:
    """Filters from a query string; every value that cannot be one is named (422)."""
    problems = ProblemList()
    values: dict[str, Any] = {}
    for name, allowed in (("status", EnquiryStatus.values), ("category", Category.values)):
        value = raw.get(name)
        if _blank(value):
            continue
        if str(value).strip() not in allowed:
            problems.add(("query", name), f"'{name}' must be one of: {', '.join(allowed)}.")
        else:
            values[name] = str(value).strip()
    for name in ("chair_org", "network"):
        value = raw.get(name)
        if not _blank(value):
            text = str(value).strip()
            if len(text) > 100:
                problems.add(("query", name), f"'{name}' must be a slug.")
            else:
                values[name] = text
    q = raw.get("q")
    if not _blank(q):
        text = str(q).strip()
        if len(text) > MAX_QUERY or "\x00" in text:
            problems.add(("query", "q"), f"'q' must be at most {MAX_QUERY} characters of text.")
        else:
            values["q"] = text
    for name, lower, upper in (("limit", 1, MAX_LIMIT), ("offset", 0, MAX_OFFSET)):
        value = raw.get(name)
        if _blank(value):
            continue
        try:
            number = int(str(value))
        except (TypeError, ValueError):
            number = lower - 1
        if isinstance(value, bool) or not lower <= number <= upper:
            problems.add(
                ("query", name), f"'{name}' must be a whole number between {lower} and {upper}."
            )
        else:
            values[name] = number
    problems.raise_if_any("The list query is not valid.")
    return EnquiryFilters(**values)


def _visible(actor: Actor) -> QuerySet[Enquiry]:
    return (
        Enquiry.objects.filter(network__in=member_networks(actor).values("pk"))
        .select_related("network", "chair_org", "chair_person")
        .prefetch_related("attachments")
    )


def enquiry_list(*, actor: Actor, filters: EnquiryFilters) -> tuple[list[Enquiry], int]:
    """One page of the enquiries the actor may see, newest first, and the number matching."""
    rows = _visible(actor)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.category:
        rows = rows.filter(category=filters.category)
    if filters.chair_org:
        rows = rows.filter(chair_org__slug=filters.chair_org)
    if filters.network:
        rows = rows.filter(network__slug=filters.network)
    if filters.q:
        q = filters.q
        rows = rows.filter(
            Q(name__icontains=q)
            | Q(email__icontains=q)
            | Q(organisation_name__icontains=q)
            | Q(reference__icontains=q)
        )
    count = rows.count()
    page = list(
        rows.order_by("-received_at", "-pk")[filters.offset : filters.offset + filters.limit]
    )
    return page, count


def enquiry_get_for(*, actor: Actor, enquiry_id: Any, lock: bool = False) -> Enquiry:
    """One enquiry the actor may see (`lock`: for update, inside the caller's transaction)."""
    try:
        pk = int(enquiry_id)
    except (TypeError, ValueError):
        pk = 0
    if isinstance(enquiry_id, bool) or not is_id(pk):
        raise NotFound(f"No enquiry with id {enquiry_id}.")
    rows = _visible(actor)
    if lock:
        rows = rows.select_for_update(of=("self",))
    enquiry = rows.filter(pk=pk).first()
    if enquiry is None:
        raise NotFound(f"No enquiry with id {enquiry_id}.")
    return enquiry


def visible_enquiry(*, actor: Actor, enquiry_id: Any) -> dict[str, Any] | None:
    """`{"id", "reference", "network"}` (the network's slug) of an enquiry the actor's
    organisation may see, else None: what other engine apps learn of an enquiry through
    core.measures ("visible_enquiry"), e.g. analytics when time is logged on it."""
    try:
        enquiry = enquiry_get_for(actor=actor, enquiry_id=enquiry_id)
    except NotFound:
        return None
    return {"id": enquiry.pk, "reference": enquiry.reference, "network": enquiry.network.slug}
