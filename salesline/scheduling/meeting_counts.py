"""The business-development meetings held, counted from the calendars (seed 004: "examine
their calendars page by page and count the business-development meetings over a one-month
period"), provided to other apps through core.measures as "business_development_meetings".

Held: a business-development appointment, not cancelled, that started in [start, end) and
before now. Salespeople: the members with the salesperson role and anyone else who held one —
so a salesperson with an empty month counts, at zero.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from salesline.accounts.models import Membership, Role
from salesline.core.actors import Actor

from .models import Appointment

DAYS_PER_WEEK = 7


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo("UTC"))


def business_development_meetings(*, actor: Actor, start: date, end: date) -> dict[str, Any]:
    """{"start", "end", "weeks", "meetings", "salespeople", "per_salesperson_per_week",
    "by_person": [{"user_id", "name", "meetings", "per_week"}]} for [start, end)."""
    weeks = max((end - start).days, 1) / DAYS_PER_WEEK
    until = min(_day_start(end), timezone.now())
    counts = dict(
        Appointment.objects.filter(
            organisation=actor.organisation,
            kind=Appointment.Kind.BUSINESS_DEVELOPMENT,
            cancelled_at__isnull=True,
            starts_at__gte=_day_start(start),
            starts_at__lt=until,
        )
        .values_list("owner_id")
        .annotate(meetings=Count("pk"))
        .values_list("owner_id", "meetings")
    )
    members: dict[int, str] = {}
    for user_id, full_name, email in Membership.objects.filter(
        Q(role=Role.SALESPERSON) | Q(user_id__in=list(counts)),
        organisation=actor.organisation,
    ).values_list("user_id", "user__full_name", "user__email"):
        members.setdefault(user_id, full_name or email)
    by_person: list[dict[str, Any]] = sorted(
        (
            {
                "user_id": user_id,
                "name": name,
                "meetings": counts.get(user_id, 0),
                "per_week": round(counts.get(user_id, 0) / weeks, 2),
            }
            for user_id, name in members.items()
        ),
        key=lambda row: (-int(row["meetings"]), str(row["name"])),
    )
    total = sum(counts.get(user_id, 0) for user_id in members)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "weeks": round(weeks, 2),
        "meetings": total,
        "salespeople": len(members),
        "per_salesperson_per_week": round(total / weeks / len(members), 2) if members else None,
        "by_person": by_person,
    }


def business_development_meetings_by_day(
    *, actor: Actor, date_from: date, date_to: date, owner_id: int | None = None
) -> list[tuple[int, date, int]]:
    """(owner id, day, meetings) of the held business-development appointments from
    `date_from` to `date_to` inclusive, days in the server's time zone — the shape analytics'
    people report counts by ISO week. Provided as "business_development_meetings_by_day"."""
    appointments = Appointment.objects.filter(
        organisation=actor.organisation,
        kind=Appointment.Kind.BUSINESS_DEVELOPMENT,
        cancelled_at__isnull=True,
        starts_at__lt=timezone.now(),
    )
    if owner_id is not None:
        appointments = appointments.filter(owner_id=owner_id)
    rows = (
        appointments.annotate(day=TruncDate("starts_at"))
        .filter(day__gte=date_from, day__lte=date_to)
        .values("owner_id", "day")
        .annotate(meetings=Count("pk"))
        .order_by()
    )
    return [(row["owner_id"], row["day"], row["meetings"]) for row in rows]
