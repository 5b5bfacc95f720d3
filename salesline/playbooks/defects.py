"""The defect log: quality problems found internally, with their cause and fix (the daily
work-in-progress review reads it). Writes and reads, scoped by actor; every write audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import ProblemList
from salesline.core.ids import is_id
from salesline.core.text import LONG_TEXT_MAX, text_problem
from salesline.pipeline.models import Opportunity

from .models import Defect, Task
from .task_services import QUEUES

FIELDS = ("found_on", "description", "cause", "fix", "queue", "task_id", "opportunity_id")


def _text(
    data: Mapping[str, Any], name: str, label: str, problems: ProblemList, *, required: bool
) -> str:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.add((name,), f"{label} is required.", type="missing")
        return ""
    if not isinstance(value, str):
        problems.add((name,), f"{label} must be text.")
        return ""
    text = value.strip()
    reason = text_problem(text, max_length=LONG_TEXT_MAX, multiline=True)
    if reason:
        problems.add((name,), f"{label} {reason}.")
    return text


def _id(data: Mapping[str, Any], name: str, label: str, problems: ProblemList) -> int | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or not is_id(number):
        problems.add((name,), f"{label} must be an id.")
        return None
    return number


def defect_create(*, actor: Actor, data: Mapping[str, Any]) -> Defect:
    """Log a defect: `description` required; `found_on` (a date, default today), `cause`,
    `fix`, `queue` (a role key), `task_id`/`opportunity_id` (the organisation's). 422 naming
    each field that is wrong."""
    problems = ProblemList()
    for name in data:
        if name not in FIELDS:
            problems.add((name,), f"Unknown field '{name}'.", type="unknown_field")
    found_on: dt.date = timezone.localdate()
    raw_date = data.get("found_on")
    if isinstance(raw_date, dt.date) and not isinstance(raw_date, dt.datetime):
        found_on = raw_date
    elif raw_date not in (None, ""):
        try:
            found_on = dt.date.fromisoformat(str(raw_date).strip())
        except ValueError:
            problems.add(("found_on",), "Found on must be a date (YYYY-MM-DD).")
    if found_on > timezone.localdate():
        problems.add(("found_on",), "Found on cannot be in the future.")
    description = _text(data, "description", "Description", problems, required=True)
    cause = _text(data, "cause", "Cause", problems, required=False)
    fix = _text(data, "fix", "Fix", problems, required=False)
    queue = data.get("queue") or ""
    if queue and (not isinstance(queue, str) or queue not in QUEUES):
        problems.add(("queue",), f"Queue must be a role: one of {', '.join(QUEUES)}.")
        queue = ""
    task_id = _id(data, "task_id", "Task", problems)
    task = None
    if task_id is not None:
        task = Task.objects.filter(organisation=actor.organisation, pk=task_id).first()
        if task is None:
            problems.add(("task_id",), f"Task {task_id} does not exist.", type="not_found")
    opportunity_id = _id(data, "opportunity_id", "Opportunity", problems)
    opportunity = None
    if opportunity_id is not None:
        opportunity = Opportunity.objects.filter(
            organisation=actor.organisation, pk=opportunity_id, deleted_at=None
        ).first()
        if opportunity is None:
            problems.add(
                ("opportunity_id",),
                f"Opportunity {opportunity_id} does not exist in this organisation.",
                type="not_found",
            )
    problems.raise_if_any("The defect was not logged.")
    if not queue and task is not None:
        queue = task.queue
    defect = Defect(
        organisation=actor.organisation,
        found_on=found_on,
        description=description,
        cause=cause,
        fix=fix,
        queue=queue,
        task=task,
        opportunity=opportunity,
        recorded_by=actor.user,
    )
    with transaction.atomic():
        defect.save()
        audit.record(
            actor=actor,
            action="create",
            obj=defect,
            changes={
                name: [None, value]
                for name, value in (
                    ("found_on", defect.found_on.isoformat()),
                    ("description", description),
                    ("cause", cause),
                    ("fix", fix),
                    ("queue", queue),
                    ("task_id", defect.task_id),
                    ("opportunity_id", defect.opportunity_id),
                )
                if value not in (None, "")
            },
        )
    return defect


def defect_list(
    *,
    actor: Actor,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[Defect]:
    """The organisation's defects, newest found first."""
    rows = Defect.objects.filter(organisation=actor.organisation).select_related(
        "recorded_by", "task", "opportunity"
    )
    if date_from is not None:
        rows = rows.filter(found_on__gte=date_from)
    if date_to is not None:
        rows = rows.filter(found_on__lte=date_to)
    return rows.order_by("-found_on", "-id")


def defect_out(defect: Defect) -> dict[str, Any]:
    return {
        "id": defect.pk,
        "found_on": defect.found_on.isoformat(),
        "description": defect.description,
        "cause": defect.cause,
        "fix": defect.fix,
        "queue": defect.queue or None,
        "task_id": defect.task_id,
        "opportunity_id": defect.opportunity_id,
        "recorded_by_id": defect.recorded_by_id,
        "created_at": defect.created_at.isoformat(),
    }
