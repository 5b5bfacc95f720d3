"""The "Time and expenses" panel of a lead's, an opportunity's or a network enquiry's page.

`{% load cost_tags %}{% costs_panel %}` (it reads `actor`, `obj` and `kind` from the page), or
`{% costs_panel "enquiry" enquiry %}` naming what it is on: the entries the actor's organisation
logged on it, newest first, their totals per currency, and a form to log more."""

from __future__ import annotations

from django import template
from django.utils import timezone

from salesline.analytics import cost_selectors
from salesline.analytics.cost_models import CostEntry

from ..formatting import money

register = template.Library()
PANEL_LIMIT = 20


@register.inclusion_tag("web/costs/_record_panel.html", takes_context=True)
def costs_panel(context, key: str = "", obj=None) -> dict:
    actor = context.get("actor")
    if not key:
        key, obj = getattr(context.get("kind"), "key", ""), context.get("obj")
    if key not in ("opportunity", "lead", "enquiry") or obj is None or actor is None:
        return {"show": False}
    rows = cost_selectors.cost_entry_list(
        actor=actor, filters=cost_selectors.CostFilters(**{f"{key}_id": obj.pk})
    )
    entries = list(rows[: PANEL_LIMIT + 1])
    totals = cost_selectors.cost_totals(rows)
    settings = cost_selectors.cost_settings_for(actor=actor)
    request = context.get("request")
    return {
        "show": True,
        "key": key,
        "obj": obj,
        "entries": [
            {
                "entry": entry,
                "amount": money(entry.amount, entry.currency),
                "what": _what(entry),
                "who": (entry.person.full_name or entry.person.email) if entry.person else "",
            }
            for entry in entries[:PANEL_LIMIT]
        ],
        "more": len(entries) > PANEL_LIMIT,
        "totals": [
            {"amount": money(t.amount, t.currency), "hours": _hours(t.minutes)} for t in totals
        ],
        "rate": money(settings.hourly_rate, settings.currency),
        "currency": settings.currency,
        "today": timezone.localdate().isoformat(),
        "next": request.get_full_path() if request else "",
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }


def _hours(minutes: int) -> str:
    if not minutes:
        return ""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _what(entry: CostEntry) -> str:
    if entry.kind == CostEntry.Kind.TIME:
        return f"Time: {_hours(entry.minutes or 0)} at {money(entry.hourly_rate, entry.currency)}/h"
    return "Expense"
