"""Reads of to-do tasks, scoped by actor; the list's filters parsed once for the API and the web."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from salesline.core.actors import Actor
from salesline.core.errors import NotFound, ProblemList
from salesline.core.ids import is_id
from salesline.core.models import AuditEvent

from .models import Task
from .task_services import QUEUES, STATUSES

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
MAX_OFFSET = 10**9
FILTER_NAMES = (
    "opportunity_id",
    "lead_id",
    "assignee_id",
    "queue",
    "location",
    "status",
    "overdue",
    "limit",
    "offset",
)
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


@dataclass(frozen=True)
class TaskFilters:
    opportunity_id: int | None = None
    lead_id: int | None = None
    assignee_id: int | None = None
    queue: str = ""
    #: The one queue open tasks sit in: a role key (nobody has them) or "user:<id>".
    location: str = ""
    status: str = ""
    overdue: bool | None = None  # True: open and past due (tolerance allowed); False: the rest
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def parse_task_filters(raw: Mapping[str, Any]) -> TaskFilters:
    """Filters from a query string (or typed values): every value that cannot be one is a 422
    naming it (`status=bogus`, `queue=bogus`, `assignee_id=x`). Unknown names are ignored, as
    the other lists do."""
    problems = ProblemList()
    values: dict[str, Any] = {}
    value: Any

    def blank(value: Any) -> bool:
        return value is None or (isinstance(value, str) and not value.strip())

    for name in ("opportunity_id", "lead_id", "assignee_id"):
        value = raw.get(name)
        if blank(value):
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if isinstance(value, bool) or not is_id(number):
            problems.add(("query", name), f"'{name}' must be an id.")
        else:
            values[name] = number
    for name, allowed in (("queue", QUEUES), ("status", STATUSES)):
        value = raw.get(name)
        if blank(value):
            continue
        if not isinstance(value, str) or value.strip() not in allowed:
            problems.add(("query", name), f"'{name}' must be one of: {', '.join(allowed)}.")
        else:
            values[name] = value.strip()
    location = raw.get("location")
    if not blank(location):
        parsed = parse_location(location)
        if parsed is None:
            problems.add(
                ("query", "location"),
                f"'location' must be a role key ({', '.join(QUEUES)}) or user:<id>.",
            )
        else:
            values["location"] = str(location).strip()
    overdue = raw.get("overdue")
    if isinstance(overdue, bool):
        values["overdue"] = overdue
    elif not blank(overdue):
        word = str(overdue).strip().lower()
        if word in _TRUE | _FALSE:
            values["overdue"] = word in _TRUE
        else:
            problems.add(("query", "overdue"), "'overdue' must be true or false.")
    for name, lower, upper in (("limit", 1, MAX_LIMIT), ("offset", 0, MAX_OFFSET)):
        value = raw.get(name)
        if blank(value):
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = lower - 1
        if isinstance(value, bool) or not lower <= number <= upper:
            problems.add(
                ("query", name), f"'{name}' must be a whole number between {lower} and {upper}."
            )
        else:
            values[name] = number
    problems.raise_if_any("The list query is not valid.")
    return TaskFilters(**values)


def parse_location(value: Any) -> tuple[str, int | None] | None:
    """("role", None) for a role's queue, ("", user id) for a person's, None if neither."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value in QUEUES:
        return value, None
    if value.startswith("user:"):
        raw = value.removeprefix("user:")
        if raw.isascii() and raw.isdecimal() and is_id(int(raw)):
            return "", int(raw)
    return None


def location_filter(location: str) -> Q:
    """The open tasks sitting in `location` (a role's queue or user:<id>)."""
    parsed = parse_location(location)
    if parsed is None:
        return Q(pk__in=[])
    role, user_id = parsed
    if user_id is not None:
        return Q(status=Task.Status.OPEN, assignee_id=user_id)
    return Q(status=Task.Status.OPEN, queue=role, assignee__isnull=True)


def _tasks(actor: Actor) -> QuerySet[Task]:
    return Task.objects.filter(organisation=actor.organisation).select_related(
        "assignee", "completed_by", "opportunity", "lead"
    )


def task_get_for(*, actor: Actor, task_id: Any) -> Task:
    try:
        pk = int(task_id)
    except (TypeError, ValueError):
        pk = 0
    task = _tasks(actor).filter(pk=pk).first() if is_id(pk) else None
    if task is None:
        raise NotFound(f"No task with id {task_id}.")
    return task


def _filtered(actor: Actor, filters: TaskFilters, today: dt.date) -> QuerySet[Task]:
    rows = _tasks(actor)
    for name in ("opportunity_id", "lead_id", "assignee_id"):
        value = getattr(filters, name)
        if value is not None:
            rows = rows.filter(**{name: value})
    if filters.queue:
        rows = rows.filter(queue=filters.queue)
    if filters.location:
        rows = rows.filter(location_filter(filters.location))
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.overdue is True:
        rows = rows.filter(status=Task.Status.OPEN, late_after__lt=today)
    elif filters.overdue is False:
        rows = rows.exclude(status=Task.Status.OPEN, late_after__lt=today)
    return rows


def task_list(*, actor: Actor, filters: TaskFilters | Mapping[str, Any]) -> tuple[list[Task], int]:
    """One page of the organisation's tasks and how many match: by due date (none last), then
    by id. Overdue means open past its due (or promised) date plus its tolerance. Two queries,
    whatever the page."""
    if not isinstance(filters, TaskFilters):
        filters = parse_task_filters(filters)
    rows = _filtered(actor, filters, timezone.localdate())
    page = rows.order_by(F("due_date").asc(nulls_last=True), "id")[
        filters.offset : filters.offset + filters.limit
    ]
    return list(page), rows.count()


def is_overdue(task: Task, today: dt.date | None = None) -> bool:
    """Open past its due (or promised) date plus its tolerance."""
    today = today or timezone.localdate()
    late_after = task.compute_late_after()
    return task.status == Task.Status.OPEN and late_after is not None and late_after < today


def open_tasks_on(
    *, actor: Actor, opportunity_id: int | None = None, lead_id: int | None = None, limit: int = 20
) -> tuple[list[Task], int]:
    """A record's tasks for its page: open ones first, then done, then cancelled, each by due
    date (none last); at most `limit`, and how many there are."""
    target = {"opportunity_id": opportunity_id} if opportunity_id else {"lead_id": lead_id}
    rows = _tasks(actor).filter(**target)
    open_first = rows.order_by(
        F("status").desc(),  # "open" sorts after "done" and "cancelled"
        F("due_date").asc(nulls_last=True),
        "-id",
    )
    return list(open_first[:limit]), rows.count()


# What a task's audit event says on its record's timeline.
_STATUS_WORDS = {"done": "Task done", "open": "Task reopened", "cancelled": "Task cancelled"}
_FIELD_WORDS = {
    "title": "title",
    "instructions": "instructions",
    "due_date": "due date",
    "assignee_id": "assignee",
    "queue": "queue",
    "workflow_step": "workflow step",
    "checklist": "checklist",
    "promised_date": "promised date",
    "tolerance_days": "tolerance",
}


def _reason_of(event: AuditEvent) -> str:
    reason = (event.changes or {}).get("reason")
    if isinstance(reason, list) and reason:
        reason = reason[-1]
    return reason if isinstance(reason, str) else ""


def _timeline_text(event: AuditEvent) -> str:
    title = event.object_repr
    if event.action == "create":
        return f"Task added: {title}"
    if event.action == "claim":
        return f"Task taken: {title}"
    if event.action == "escalate":
        reason = _reason_of(event)
        return f"Task escalated: {title}" + (f" — {reason}" if reason else "")
    if event.action == "reassign":
        reason = _reason_of(event)
        return f"Task reassigned: {title}" + (f" — {reason}" if reason else "")
    status = (event.changes or {}).get("status")
    if isinstance(status, list) and len(status) == 2 and status[1] in _STATUS_WORDS:
        return f"{_STATUS_WORDS[status[1]]}: {title}"
    fields = sorted(_FIELD_WORDS[name] for name in event.changes or {} if name in _FIELD_WORDS)
    return f"Task changed ({', '.join(fields) or 'details'}): {title}"


def task_timeline_events(
    *, actor: Actor, kind: str, record_id: int, limit: int = 100
) -> list[tuple[AuditEvent, str]]:
    """The history of an opportunity's or a lead's tasks, newest first, each event with what a
    timeline says of it (the task's title as it was then). Two queries; none for other kinds."""
    if kind not in ("opportunity", "lead"):
        return []
    task_ids = [
        str(pk)
        for pk in Task.objects.filter(
            organisation=actor.organisation, **{f"{kind}_id": record_id}
        ).values_list("pk", flat=True)
    ]
    if not task_ids:
        return []
    events = AuditEvent.objects.filter(
        organisation=actor.organisation, object_type="task", object_id__in=task_ids
    ).order_by("-at", "-id")[:limit]
    return [(event, _timeline_text(event)) for event in events]


def task_on_time_rate(
    *,
    actor: Actor,
    date_from: dt.date,
    date_to: dt.date,
    assignee_id: int | None = None,
    include_unassigned: bool = False,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """On-time completion of the tasks due from `date_from` to `date_to` (inclusive; "due" is
    the last on-time day: the due or promised date plus the work item's tolerance): of those
    decided — done, or still open past that day (missed) — the share done on or before it
    (the completion's day in the server's time zone). Cancelled tasks and open tasks not yet
    late take no part. `rate` is None when no task is decided. Per assignee (people) and per
    role queue (`by_queue`, the team a task belongs to) too; tasks nobody has count only with
    `include_unassigned` (the team's view)."""
    today = today or timezone.localdate()
    tasks = Task.objects.filter(
        organisation=actor.organisation,
        late_after__gte=date_from,
        late_after__lte=date_to,
    )
    if not include_unassigned:
        tasks = tasks.filter(assignee__isnull=False)
    if assignee_id is not None:
        tasks = tasks.filter(assignee_id=assignee_id)
    done = Q(status=Task.Status.DONE, completed_at__isnull=False)
    rows: list[dict[str, Any]] = [
        dict(row)
        for row in tasks.annotate(completed_on=TruncDate("completed_at"))
        .values("assignee_id", "queue")
        .annotate(
            # Not named "on_time": the Task model has a property of that name.
            in_time=Count("id", filter=done & Q(completed_on__lte=F("late_after"))),
            late=Count("id", filter=done & Q(completed_on__gt=F("late_after"))),
            missed=Count("id", filter=Q(status=Task.Status.OPEN, late_after__lt=today)),
        )
        .order_by("assignee_id", "queue")
    ]

    def rated(on_time: int, late: int, missed: int) -> dict[str, Any]:
        decided = on_time + late + missed
        return {
            "on_time": on_time,
            "late": late,
            "missed": missed,
            "rate": round(on_time / decided, 4) if decided else None,
        }

    def grouped(key: str) -> dict[Any, list[int]]:
        sums: dict[Any, list[int]] = {}
        for row in rows:
            if row[key] in (None, ""):
                continue
            acc = sums.setdefault(row[key], [0, 0, 0])
            for index, name in enumerate(("in_time", "late", "missed")):
                acc[index] += row[name]
        return sums

    by_assignee = [
        {"assignee_id": pk, **rated(*counts)}
        for pk, counts in sorted(grouped("assignee_id").items())
    ]
    by_queue = [
        {"queue": queue, **rated(*counts)} for queue, counts in sorted(grouped("queue").items())
    ]
    totals = [sum(row[key] for row in rows) for key in ("in_time", "late", "missed")]
    return {**rated(*totals), "by_assignee": by_assignee, "by_queue": by_queue}
