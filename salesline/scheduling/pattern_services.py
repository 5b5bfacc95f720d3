"""A person's working pattern: time zone, working hours and weekdays, and the
business-development capacity per day and week (the calendar rules of capacity.py).

Read by the person, their coordinator or an admin; changed by the person or an admin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.db import transaction
from django.utils import timezone

from salesline.accounts.models import Membership, Role
from salesline.accounts.selectors import may_manage_calendar
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, PermissionDenied, ProblemList

from . import capacity
from .models import WorkingPattern

FIELDS = (
    "time_zone",
    "day_starts",
    "day_ends",
    "weekdays",
    "business_development_per_day",
    "business_development_per_week",
)


def _member(actor: Actor, user_id: int) -> None:
    if not Membership.objects.filter(organisation=actor.organisation, user_id=user_id).exists():
        raise NotFound(f"No member with id {user_id}.")


def pattern_as_dict(pattern: WorkingPattern) -> dict[str, Any]:
    return {
        "user_id": pattern.user_id,
        "time_zone": pattern.time_zone,
        "day_starts": pattern.day_starts.strftime("%H:%M"),
        "day_ends": pattern.day_ends.strftime("%H:%M"),
        "weekdays": sorted(pattern.working_weekdays),
        "business_development_per_day": pattern.business_development_per_day,
        "business_development_per_week": pattern.business_development_per_week,
    }


def working_pattern_get(*, actor: Actor, user_id: int) -> WorkingPattern:
    _member(actor, user_id)
    if not may_manage_calendar(actor, user_id):
        raise PermissionDenied("Only the person, their coordinator or an admin sees this.")
    return capacity.pattern_for(actor.organisation, user_id)


def _time(name: str, value: Any, problems: ProblemList) -> dt.time | None:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value.strip()).replace(second=0, microsecond=0)
        except ValueError:
            pass
    problems.add((name,), f"'{name}' must be a time of day, HH:MM.")
    return None


def _count(name: str, value: Any, upper: int, problems: ProblemList) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= upper:
        return value
    problems.add((name,), f"'{name}' must be a whole number from 0 to {upper}.")
    return None


def working_pattern_set(*, actor: Actor, user_id: int, data: Mapping[str, Any]) -> WorkingPattern:
    """Change any of FIELDS (the rest keep their values). `time_zone` must be an IANA zone
    (zoneinfo), the day must start before it ends, weekdays are ISO (1 Monday ... 7 Sunday)."""
    _member(actor, user_id)
    if not (actor.user is None or actor.user.pk == user_id or actor.has_role(Role.ADMIN)):
        raise PermissionDenied("Only the person or an admin may change a working pattern.")
    problems = ProblemList()
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name == "time_zone":
            zone = value.strip() if isinstance(value, str) else ""
            try:
                ok = bool(zone) and ZoneInfo(zone) is not None and zone in available_timezones()
            except (ZoneInfoNotFoundError, ValueError):
                ok = False
            if ok:
                cleaned[name] = zone
            else:
                problems.add(
                    (name,), f"'{value}' is not a time zone: use an IANA name, e.g. Europe/London."
                )
        elif name in ("day_starts", "day_ends"):
            cleaned[name] = _time(name, value, problems)
        elif name == "weekdays":
            if (
                isinstance(value, list)
                and value
                and all(
                    isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in value
                )
            ):
                cleaned[name] = sorted(set(value))
            else:
                problems.add(
                    (name,), "'weekdays' must list ISO weekdays, 1 (Monday) to 7 (Sunday)."
                )
        elif name == "business_development_per_day":
            cleaned[name] = _count(name, value, 48, problems)
        elif name == "business_development_per_week":
            cleaned[name] = _count(name, value, 336, problems)
        else:
            problems.add((name,), f"Unknown field '{name}'.", type="unknown_field")
    with transaction.atomic():
        pattern = capacity.lock_calendar(actor.organisation, user_id)
        starts = cleaned.get("day_starts") or pattern.day_starts
        ends = cleaned.get("day_ends") or pattern.day_ends
        if not problems and starts >= ends:
            problems.add(("day_ends",), "The working day must end after it starts.")
        problems.raise_if_any("The working pattern was not saved.")
        before = pattern_as_dict(pattern)
        for name, value in cleaned.items():
            setattr(pattern, name, value)
        after = pattern_as_dict(pattern)
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if changes:
            pattern.updated_at = timezone.now()
            pattern.save()
            audit.record(
                actor=actor,
                action="update",
                obj=pattern,
                object_type="working_pattern",
                changes=changes,
            )
    return pattern
