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
    status: str = ""
    overdue: bool | None = None  # True: open and past due; False: anything else
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
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.overdue is True:
        rows = rows.filter(status=Task.Status.OPEN, due_date__lt=today)
    elif filters.overdue is False:
        rows = rows.exclude(status=Task.Status.OPEN, due_date__lt=today)
    return rows


def task_list(*, actor: Actor, filters: TaskFilters | Mapping[str, Any]) -> tuple[list[Task], int]:
    """One page of the organisation's tasks and how many match: by due date (none last), then
    by id. Overdue means open with a due date before today. Two queries, whatever the page."""
    if not isinstance(filters, TaskFilters):
        filters = parse_task_filters(filters)
    rows = _filtered(actor, filters, timezone.localdate())
    page = rows.order_by(F("due_date").asc(nulls_last=True), "id")[
        filters.offset : filters.offset + filters.limit
    ]
    return list(page), rows.count()


def is_overdue(task: Task, today: dt.date | None = None) -> bool:
    today = today or timezone.localdate()
    return task.status == Task.Status.OPEN and task.due_date is not None and task.due_date < today


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
}


def _timeline_text(event: AuditEvent) -> str:
    title = event.object_repr
    if event.action == "create":
        return f"Task added: {title}"
    if event.action == "claim":
        return f"Task taken: {title}"
    if event.action == "escalate":
        return f"Task escalated: {title}"
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
) -> dict[str, Any]:
    """On-time completion of the tasks due from `date_from` to `date_to` (inclusive): of those
    decided — done, or still open past their due date (missed) — the share done on or before
    their due date (the completion's day in the server's time zone). Cancelled tasks and open
    tasks not yet due take no part. `rate` is None when no task is decided. Per assignee too."""
    today = timezone.localdate()
    tasks = Task.objects.filter(
        organisation=actor.organisation,
        due_date__gte=date_from,
        due_date__lte=date_to,
        assignee__isnull=False,
    )
    if assignee_id is not None:
        tasks = tasks.filter(assignee_id=assignee_id)
    done = Q(status=Task.Status.DONE, completed_at__isnull=False)
    rows = (
        tasks.annotate(completed_on=TruncDate("completed_at"))
        .values("assignee_id")
        .annotate(
            # Not named "on_time": the Task model has a property of that name.
            in_time=Count("id", filter=done & Q(completed_on__lte=F("due_date"))),
            late=Count("id", filter=done & Q(completed_on__gt=F("due_date"))),
            missed=Count("id", filter=Q(status=Task.Status.OPEN, due_date__lt=today)),
        )
        .order_by("assignee_id")
    )

    def rated(on_time: int, late: int, missed: int) -> dict[str, Any]:
        decided = on_time + late + missed
        return {
            "on_time": on_time,
            "late": late,
            "missed": missed,
            "rate": round(on_time / decided, 4) if decided else None,
        }

    by_assignee = [
        {"assignee_id": row["assignee_id"], **rated(row["in_time"], row["late"], row["missed"])}
        for row in rows
    ]
    totals = [sum(row[key] for row in by_assignee) for key in ("on_time", "late", "missed")]
    return {**rated(*totals), "by_assignee": by_assignee}
