"""The defect log: quality problems found internally, with their cause and fix (the daily
work-in-progress review reads it). Writes and reads, scoped by actor; every write audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, ProblemList
from salesline.core.ids import is_id
from salesline.core.text import LONG_TEXT_MAX, text_problem
from salesline.pipeline.models import Opportunity
from salesline.records.services import check_version, locked_row

from .models import Defect, Task
from .task_services import QUEUES

FIELDS = (
    "found_on",
    "description",
    "cause",
    "fix",
    "queue",
    "task_id",
    "opportunity_id",
    "fixed_on",
)
#: The model attribute of a field, where the API's name differs (audit uses the API's).
ATTRS = {"task": "task_id", "opportunity": "opportunity_id"}
#: States of the log: open (not fixed yet) or fixed.
STATES = ("open", "fixed")


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


def _date(data: Mapping[str, Any], name: str, label: str, problems: ProblemList) -> dt.date | None:
    raw = data.get(name)
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        value = raw
    elif raw in (None, ""):
        return None
    else:
        try:
            value = dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            problems.add((name,), f"{label} must be a date (YYYY-MM-DD).")
            return None
    if value > timezone.localdate():
        problems.add((name,), f"{label} cannot be in the future.")
    return value


def _clean(
    *, actor: Actor, data: Mapping[str, Any], defect: Defect | None, fields: tuple[str, ...]
) -> tuple[dict[str, Any], ProblemList]:
    """The values of `data` (checked; each problem names its field), for a new defect
    (`defect` None: every field) or an edit (only the fields sent). Empty clears."""
    problems = ProblemList()
    for name in data:
        if name not in fields:
            problems.add((name,), f"Unknown field '{name}'.", type="unknown_field")
    sent = set(data) if defect is not None else set(fields)
    values: dict[str, Any] = {}
    if "found_on" in sent:
        found_on = _date(data, "found_on", "Found on", problems)
        if defect is not None and data.get("found_on") in (None, ""):
            problems.add(("found_on",), "Found on is required.", type="missing")
        values["found_on"] = found_on or (defect.found_on if defect else timezone.localdate())
    if "description" in sent:
        values["description"] = _text(data, "description", "Description", problems, required=True)
    for name, label in (("cause", "Cause"), ("fix", "Fix")):
        if name in sent:
            values[name] = _text(data, name, label, problems, required=False)
    if "queue" in sent:
        queue = data.get("queue") or ""
        if queue and (not isinstance(queue, str) or queue not in QUEUES):
            problems.add(("queue",), f"Queue must be a role: one of {', '.join(QUEUES)}.")
            queue = ""
        values["queue"] = queue
    if "task_id" in sent:
        task_id = _id(data, "task_id", "Task", problems)
        task = None
        if task_id is not None:
            task = Task.objects.filter(organisation=actor.organisation, pk=task_id).first()
            if task is None:
                problems.add(("task_id",), f"Task {task_id} does not exist.", type="not_found")
        values["task"] = task
    if "opportunity_id" in sent:
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
        values["opportunity"] = opportunity
    if "fixed_on" in sent:
        values["fixed_on"] = _date(data, "fixed_on", "Fixed on", problems)
    found_on = values.get("found_on", defect.found_on if defect else None)
    fixed_on = values.get("fixed_on", defect.fixed_on if defect else None)
    if found_on and fixed_on and fixed_on < found_on and not problems.problems:
        where = "fixed_on" if "fixed_on" in sent else "found_on"
        problems.add((where,), "Fixed on cannot be before the day it was found.")
    return values, problems


def _audited(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Task | Opportunity):
        return value.pk
    return value


def defect_create(*, actor: Actor, data: Mapping[str, Any]) -> Defect:
    """Log a defect: `description` required; `found_on` (a date, default today), `cause`,
    `fix`, `queue` (a role key), `task_id`/`opportunity_id` (the organisation's), `fixed_on`
    (the day it was fixed; none: still open). 422 naming each field that is wrong."""
    values, problems = _clean(actor=actor, data=data, defect=None, fields=FIELDS)
    problems.raise_if_any("The defect was not logged.")
    if not values["queue"] and values["task"] is not None:
        values["queue"] = values["task"].queue
    defect = Defect(organisation=actor.organisation, recorded_by=actor.user, **values)
    with transaction.atomic():
        defect.save()
        audit.record(
            actor=actor,
            action="create",
            obj=defect,
            changes={
                ATTRS.get(name, name): [None, _audited(value)]
                for name, value in values.items()
                if value not in (None, "")
            },
        )
    return defect


def defect_get_for(*, actor: Actor, defect_id: Any) -> Defect:
    """One of the organisation's defects (not deleted), else NotFound."""
    try:
        pk = int(defect_id)
    except (TypeError, ValueError):
        pk = 0
    defect = (
        Defect.objects.filter(organisation=actor.organisation, pk=pk, deleted_at=None)
        .select_related("recorded_by", "task", "opportunity")
        .first()
        if is_id(pk)
        else None
    )
    if defect is None:
        raise NotFound(f"No defect with id {defect_id}.")
    return defect


def _locked(actor: Actor, defect_id: Any, *, deleted: bool = False) -> Defect:
    try:
        pk = int(defect_id)
    except (TypeError, ValueError):
        pk = 0
    if not is_id(pk):
        raise NotFound(f"No {'deleted ' if deleted else ''}defect with id {defect_id}.")
    return locked_row(Defect, actor=actor, pk=pk, what="defect", deleted=deleted)


def defect_update(
    *,
    actor: Actor,
    defect_id: Any,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> Defect:
    """Change the fields sent (the same ones as `defect_create`; empty clears an optional one,
    `fixed_on` empty reopens it). A stale `expected_version` is 412; audited with each
    change; sending nothing that differs changes nothing."""
    with transaction.atomic():
        defect = _locked(actor, defect_id)
        check_version(defect, expected_version)
        values, problems = _clean(actor=actor, data=data, defect=defect, fields=FIELDS)
        problems.raise_if_any("The defect was not changed.")
        changes: dict[str, list[Any]] = {}
        for name, value in values.items():
            before = getattr(defect, name)
            if before != value:
                changes[ATTRS.get(name, name)] = [_audited(before), _audited(value)]
                setattr(defect, name, value)
        if changes:
            defect.version += 1
            defect.updated_at = timezone.now()
            defect.save()
            audit.record(actor=actor, action="update", obj=defect, changes=changes)
    return defect


def defect_delete(*, actor: Actor, defect_id: Any) -> Defect:
    """Soft delete: it leaves the log and the review; `defect_restore` brings it back.
    Defects are never purged (the log is the team's memory of what went wrong)."""
    with transaction.atomic():
        defect = _locked(actor, defect_id)
        defect.deleted_at = timezone.now()
        defect.version += 1
        defect.save(update_fields=["deleted_at", "version"])
        audit.record(
            actor=actor,
            action="delete",
            obj=defect,
            changes={"deleted_at": [None, defect.deleted_at.isoformat()]},
        )
    return defect


def defect_restore(*, actor: Actor, defect_id: Any) -> Defect:
    """A deleted defect back in the log; NotFound unless it is deleted."""
    with transaction.atomic():
        defect = _locked(actor, defect_id, deleted=True)
        deleted_at, defect.deleted_at = defect.deleted_at, None
        defect.version += 1
        defect.save(update_fields=["deleted_at", "version"])
        audit.record(
            actor=actor,
            action="restore",
            obj=defect,
            changes={"deleted_at": [deleted_at.isoformat() if deleted_at else None, None]},
        )
    return defect


def defect_list(
    *,
    actor: Actor,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    state: str | None = None,
    deleted: bool = False,
) -> QuerySet[Defect]:
    """The organisation's defects: open ones first, then fixed; newest found first within
    each. `state` "open" or "fixed" keeps those; `deleted` lists the deleted ones instead."""
    rows = Defect.objects.filter(
        organisation=actor.organisation, deleted_at__isnull=not deleted
    ).select_related("recorded_by", "task", "opportunity")
    if date_from is not None:
        rows = rows.filter(found_on__gte=date_from)
    if date_to is not None:
        rows = rows.filter(found_on__lte=date_to)
    if state == "open":
        rows = rows.filter(fixed_on__isnull=True)
    elif state == "fixed":
        rows = rows.filter(fixed_on__isnull=False)
    return rows.annotate(
        fixed_last=Case(When(fixed_on__isnull=True, then=Value(0)), default=Value(1))
    ).order_by("fixed_last", "-found_on", "-id")


def review_defects(*, actor: Actor, date_from: dt.date, date: dt.date) -> QuerySet[Defect]:
    """The review's defect log: every defect still open (found by `date`), and those found
    in the period `date_from`..`date`; open first."""
    return defect_list(actor=actor, date_to=date).filter(
        Q(fixed_on__isnull=True) | Q(found_on__gte=date_from)
    )


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
        "state": "fixed" if defect.fixed_on else "open",
        "fixed_on": defect.fixed_on.isoformat() if defect.fixed_on else None,
        "created_at": defect.created_at.isoformat(),
        "updated_at": defect.updated_at.isoformat(),
        "version": defect.version,
    }
