"""People and activity: business-development meetings per salesperson per ISO week against
capacity, and the activity logged on each open opportunity. Reads only, scoped to the actor's
organisation. (On-time task completion lives with the tasks: playbooks.task_selectors.)

Meetings come from one function, `logged_meetings`: the held business-development appointments
of the calendars (read through core.measures when the scheduling app provides them) for every
salesperson who has any in the period, and notes of kind "meeting" on opportunities and leads,
by their author, for those who log meetings instead — never both for one person, so a meeting
both booked and written up counts once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from salesline.accounts.models import Role
from salesline.accounts.selectors import member_list
from salesline.core import measures
from salesline.core.actors import Actor
from salesline.core.errors import ProblemList
from salesline.pipeline.models import Opportunity, StageChange
from salesline.records.models import Note

from .filters import MetricFilters, parse_metric_filters

DEFAULT_MEETINGS_PER_WEEK = 20
# Buckets of the distribution of activities per open opportunity: (label, low, high or None).
ACTIVITY_BUCKETS = (("0", 0, 0), ("1", 1, 1), ("2–3", 2, 3), ("4–7", 4, 7), ("8+", 8, None))


def meeting_capacity() -> int:
    """Business-development meetings a salesperson can hold in a week (the seed's 20 unless
    SALESLINE_MEETINGS_PER_WEEK says otherwise)."""
    return int(getattr(settings, "SALESLINE_MEETINGS_PER_WEEK", DEFAULT_MEETINGS_PER_WEEK))


def logged_meetings(
    *, actor: Actor, date_from: dt.date, date_to: dt.date, owner_id: int | None = None
) -> list[tuple[int, dt.date, int]]:
    """(salesperson id, day, meetings) of the meetings held from `date_from` to `date_to`
    (inclusive, days in the server's time zone): a person's held business-development
    appointments when they have any in the period, else their notes of kind "meeting" on an
    opportunity or a lead."""
    booked = (
        measures.measure(
            "business_development_meetings_by_day",
            actor=actor,
            date_from=date_from,
            date_to=date_to,
            owner_id=owner_id,
        )
        or []
    )
    with_appointments = {user_id for user_id, _, _ in booked}
    notes = Note.objects.filter(
        organisation=actor.organisation,
        deleted_at=None,
        kind=Note.Kind.MEETING,
        author__isnull=False,
    ).filter(Q(opportunity__isnull=False) | Q(lead__isnull=False))
    if owner_id is not None:
        notes = notes.filter(author_id=owner_id)
    rows = (
        notes.annotate(day=TruncDate("created_at"))
        .filter(day__gte=date_from, day__lte=date_to)
        .values("author_id", "day")
        .annotate(meetings=Count("id"))
        .order_by()
    )
    return list(booked) + [
        (row["author_id"], row["day"], row["meetings"])
        for row in rows
        if row["author_id"] not in with_appointments
    ]


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_between(date_from: dt.date, date_to: dt.date) -> list[tuple[str, dt.date]]:
    """Each ISO week that has a day in the range: its name and its Monday."""
    monday = date_from - dt.timedelta(days=date_from.weekday())
    weeks = []
    while monday <= date_to:
        weeks.append((iso_week(monday), monday))
        monday += dt.timedelta(days=7)
    return weeks


def check_period(date_from: Any, date_to: Any) -> None:
    problems = ProblemList()
    if not isinstance(date_from, dt.date):
        problems.add(("query", "from"), "Give the first day as YYYY-MM-DD.")
    if not isinstance(date_to, dt.date):
        problems.add(("query", "to"), "Give the last day as YYYY-MM-DD.")
    if not problems and date_to < date_from:
        problems.add(("query", "to"), "The last day comes before the first.")
    elif not problems and (date_to - date_from).days > 366 * 3:
        problems.add(("query", "to"), "A period of people's activity spans three years at most.")
    problems.raise_if_any("The period is not valid.")


def meetings_per_week(
    *,
    actor: Actor,
    date_from: dt.date,
    date_to: dt.date,
    owner_id: int | None = None,
) -> list[dict[str, Any]]:
    """Per salesperson and ISO week of the period: meetings held, the capacity, and the share
    of it used (meetings ÷ capacity). Every week of the period is listed, none held is 0; a
    week cut by the period's ends counts only its days inside. Salespeople (and inside sales)
    are listed even without meetings; other members once they logged one."""
    check_period(date_from, date_to)
    capacity = meeting_capacity()
    held: dict[tuple[int, str], int] = Counter()
    for user_id, day, count in logged_meetings(
        actor=actor, date_from=date_from, date_to=date_to, owner_id=owner_id
    ):
        held[(user_id, iso_week(day))] += count
    who_held = {user_id for user_id, _ in held}
    # Salespeople and inside sales hold the business-development meetings.
    listed = [
        m
        for m in member_list(actor=actor)
        if (
            m.user_id == owner_id
            if owner_id is not None
            else m.user_id in who_held or {Role.SALESPERSON, Role.INSIDE_SALES} & set(m.roles)
        )
    ]
    weeks = weeks_between(date_from, date_to)
    out = []
    for member in sorted(listed, key=lambda m: m.label.lower()):
        for week, monday in weeks:
            meetings = held.get((member.user_id, week), 0)
            out.append(
                {
                    "owner_id": member.user_id,
                    "owner": member.label,
                    "week": week,
                    "week_start": monday,
                    "meetings": meetings,
                    "capacity": capacity,
                    "utilisation": round(meetings / capacity, 4) if capacity else None,
                }
            )
    return out


def distribution(counts: list[int]) -> dict[str, Any]:
    """How activity is spread over opportunities: mean, median and 85th percentile (linear
    interpolation), the most, and how many opportunities fall in each bucket."""
    if not counts:
        return {
            "opportunities": 0,
            "mean": None,
            "median": None,
            "p85": None,
            "max": None,
            "buckets": [
                {"activities": label, "opportunities": 0} for label, *_ in ACTIVITY_BUCKETS
            ],
        }
    values = np.asarray(counts, dtype=float)
    median, p85 = np.percentile(values, [50, 85])
    return {
        "opportunities": len(counts),
        "mean": round(float(values.mean()), 2),
        "median": round(float(median), 2),
        "p85": round(float(p85), 2),
        "max": int(values.max()),
        "buckets": [
            {
                "activities": label,
                "opportunities": int(
                    ((values >= low) & (values <= (high if high is not None else np.inf))).sum()
                ),
            }
            for label, low, high in ACTIVITY_BUCKETS
        ],
    }


def activities_per_opportunity(
    *, actor: Actor, filters: MetricFilters | None = None
) -> dict[str, Any]:
    """Per open opportunity (of the filters' pipeline, matching their list filters such as
    `owner_id`; every open one without filters): the notes logged on it by kind and its stage
    moves (changes after the first entry), and their sum, its activities; then the
    distribution of activities over those opportunities and, per owner, the mean."""
    opportunities_of = Opportunity.objects.filter(
        organisation=actor.organisation, deleted_at=None, status=Opportunity.Status.OPEN
    )
    if filters is not None:
        opportunities_of = opportunities_of.filter(pipeline__key=filters.pipeline_key)
        matching = filters.opportunity_ids()
        if matching is not None:
            opportunities_of = opportunities_of.filter(pk__in=matching.tolist())
    opportunities = list(
        opportunities_of.order_by("id").values("id", "name", "owner_id", "stage__key")
    )
    ids = [o["id"] for o in opportunities]
    notes: dict[int, Counter] = defaultdict(Counter)
    moves: dict[int, int] = {}
    if ids:
        for row in (
            Note.objects.filter(organisation=actor.organisation, deleted_at=None)
            .filter(opportunity_id__in=ids)
            .values("opportunity_id", "kind")
            .annotate(count=Count("id"))
            .order_by()
        ):
            notes[row["opportunity_id"]][row["kind"]] = row["count"]
        moves = dict(
            StageChange.objects.filter(organisation=actor.organisation, opportunity_id__in=ids)
            .exclude(from_stage="")
            .values("opportunity_id")
            .annotate(count=Count("id"))
            .order_by()
            .values_list("opportunity_id", "count")
        )
    rows = []
    by_owner: dict[int | None, list[int]] = defaultdict(list)
    for o in opportunities:
        logged = {kind: notes[o["id"]].get(kind, 0) for kind in Note.Kind.values}
        moved = moves.get(o["id"], 0)
        total = sum(logged.values()) + moved
        rows.append(
            {
                "id": o["id"],
                "name": o["name"],
                "owner_id": o["owner_id"],
                "stage": o["stage__key"],
                "notes": logged,
                "stage_changes": moved,
                "activities": total,
            }
        )
        by_owner[o["owner_id"]].append(total)
    return {
        "opportunities": rows,
        "distribution": distribution([r["activities"] for r in rows]),
        "by_owner": [
            {
                "owner_id": owner,
                "open_opportunities": len(totals),
                "activities": sum(totals),
                "per_opportunity": round(sum(totals) / len(totals), 2),
            }
            for owner, totals in sorted(by_owner.items(), key=lambda item: item[0] or 0)
        ],
    }


def owner_of(filters: MetricFilters) -> int | None:
    """The salesperson the filters name (`owner_id`), if any."""
    return filters.query.lookups.get("owner_id") if filters.query is not None else None


def people_summary(
    *,
    meetings: list[dict[str, Any]],
    activities: dict[str, Any],
    on_time: dict[str, Any],
) -> list[dict[str, Any]]:
    """One row per salesperson from the three reports (`meetings_per_week`,
    `activities_per_opportunity`, the tasks' `task_on_time_rate`, given as data so this app
    needs no other engine app): their weeks, meetings in all and per week, the capacity, the
    mean activities per open opportunity, and on-time task completion."""
    people: dict[int, dict[str, Any]] = {}
    for row in meetings:
        person = people.setdefault(
            row["owner_id"],
            {
                "owner_id": row["owner_id"],
                "owner": row["owner"],
                "capacity": row["capacity"],
                "weeks": [],
            },
        )
        person["weeks"].append(
            {k: row[k] for k in ("week", "week_start", "meetings", "utilisation")}
        )
    activity = {r["owner_id"]: r for r in activities["by_owner"]}
    tasks = {r["assignee_id"]: r for r in on_time["by_assignee"]}
    out = []
    for owner_id, person in people.items():
        held = sum(week["meetings"] for week in person["weeks"])
        weeks = len(person["weeks"])
        mean = held / weeks if weeks else None
        mine = activity.get(owner_id, {})
        task_row = tasks.get(owner_id, {})
        out.append(
            {
                **person,
                "meetings": held,
                "meetings_per_week": round(mean, 2) if mean is not None else None,
                "utilisation": round(mean / person["capacity"], 4)
                if mean is not None and person["capacity"]
                else None,
                "open_opportunities": mine.get("open_opportunities", 0),
                "activities_per_opportunity": mine.get("per_opportunity"),
                "tasks_on_time": task_row.get("on_time", 0),
                "tasks_late": task_row.get("late", 0),
                "tasks_missed": task_row.get("missed", 0),
                "on_time_rate": task_row.get("rate"),
            }
        )
    return out


def people_report(
    *, actor: Actor, raw: Mapping[str, Any], on_time_rate: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """The people report of the API and the page, for the query `raw`: the measurements'
    filters (analytics.filters: `pipeline`, `from`, `to`, and list filters such as `owner_id`).
    `on_time_rate` is the tasks' `task_on_time_rate`, passed in by the interface: this app
    does not import another engine app."""
    filters = parse_metric_filters(actor, raw)
    owner_id = owner_of(filters)
    meetings = meetings_per_week(
        actor=actor, date_from=filters.date_from, date_to=filters.date_to, owner_id=owner_id
    )
    activities = activities_per_opportunity(actor=actor, filters=filters)
    on_time = on_time_rate(
        actor=actor, date_from=filters.date_from, date_to=filters.date_to, assignee_id=owner_id
    )
    return {
        "pipeline": filters.pipeline_key,
        "from": filters.date_from,
        "to": filters.date_to,
        "owner_id": owner_id,
        "capacity": meeting_capacity(),
        "people": people_summary(meetings=meetings, activities=activities, on_time=on_time),
        "activities": activities["distribution"],
        "on_time": {k: on_time[k] for k in ("on_time", "late", "missed", "rate")},
    }
