"""Calendar times in the owner's zone, and the appointments panel of an opportunity's or a
lead's page."""

from __future__ import annotations

import datetime as dt

from django import template

from salesline.scheduling import appointment_selectors, capacity

register = template.Library()
RECORD_LIMIT = 10


@register.filter
def clock(value: dt.datetime | None, zone) -> str:
    """HH:MM of an instant in `zone`."""
    if value is None:
        return ""
    return value.astimezone(zone).strftime("%H:%M")


@register.filter
def local_day(value: dt.datetime | None, zone) -> str:
    if value is None:
        return ""
    return value.astimezone(zone).strftime("%a %d %b %Y")


@register.inclusion_tag("web/calendar/_record_panel.html", takes_context=True)
def record_appointments(context) -> dict:
    """The meetings about an opportunity or a lead (latest first), with a link to add one."""
    kind, obj, actor = context.get("kind"), context.get("obj"), context.get("actor")
    key = getattr(kind, "key", "")
    if key not in ("opportunity", "lead") or obj is None or actor is None:
        return {"show": False}
    items = appointment_selectors.for_record(
        actor=actor, limit=RECORD_LIMIT, **{f"{key}_id": obj.pk}
    )
    rows = []
    zones: dict[int, object] = {}
    for appointment in items:
        zone = zones.get(appointment.owner_id)
        if zone is None:
            pattern = capacity.pattern_for(actor.organisation, appointment.owner_id)
            zone = zones[appointment.owner_id] = capacity.zone_of(pattern)
        rows.append((appointment, zone))
    return {"show": True, "rows": rows, "kind": kind, "obj": obj}
