"""Every write to to-do tasks: create, update (edit, complete, reopen, cancel), claim,
reassign and escalate; customer-service work items (tasks with a work type) advance through
their type's workflow and tick its checklist.

The queue invariant: every open task sits in exactly one queue — a person's (`user:<id>`, its
assignee set) or, with nobody assigned, its role's (`queue`, a role key). `queue` also stays as
the team a claimed task came from. Every write here keeps it, and a check constraint backs it.

Who may: any member of the organisation may create, edit, complete, reopen, cancel and take any
task of that organisation (a team's to-do list, not a permission system). Another
organisation's task is NotFound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from salesline.accounts.models import Membership, Organisation, Role
from salesline.core import audit, events
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, ProblemList
from salesline.core.ids import is_id
from salesline.core.text import LONG_TEXT_MAX, text_problem
from salesline.core.workdays import add_working_days
from salesline.pipeline.models import Opportunity
from salesline.process.selectors import definition_for
from salesline.records.models import Lead
from salesline.records.services import check_version

from .models import PlaybookRun, Task
from .work_types import MAX_TOLERANCE_DAYS, WorkType, work_types_of

TITLE_MAX = Task._meta.get_field("title").max_length or 200
KEY_MAX = Task._meta.get_field("playbook").max_length or 80
STATUSES = tuple(Task.Status.values)
QUEUES = tuple(Role.values)
EDITABLE = (
    "title",
    "instructions",
    "due_date",
    "assignee_id",
    "queue",
    "status",
    "promised_date",
    "tolerance_days",
    "workflow_step",
    "checklist",
)
#: Where an open task nobody else is given goes (the system's loose tasks).
FALLBACK_QUEUE = Role.SALES_SUPPORT_MANAGER.value
REASON_MAX = 1000


class TaskAlreadyOpen(Conflict):
    """A playbook's step already has an open task on this record; `.task` is that task."""

    def __init__(self, task: Task):
        self.task = task
        super().__init__(
            f"The task '{task.title}' of playbook '{task.playbook}', step '{task.step}', is "
            f"still open on this record (task {task.pk})."
        )


def working_days_country(organisation: Organisation) -> str:
    """Whose public holidays count: the organisation's country, else its phone region's."""
    return organisation.country or organisation.phone_region or ""


def due_date_for(*, organisation: Organisation, start: dt.date, working_days: int) -> dt.date:
    """`working_days` working days after `start` in the organisation's country (see
    core.workdays.add_working_days)."""
    return add_working_days(start, working_days, country=working_days_country(organisation))


# -- validation -----------------------------------------------------------------------------


def _clean_title(value: Any, problems: ProblemList) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.add(("title",), "Title is required.", type="missing")
        return ""
    if not isinstance(value, str):
        problems.add(("title",), "Title must be text.")
        return ""
    title = value.strip()
    reason = text_problem(title, max_length=TITLE_MAX, multiline=False)
    if reason:
        problems.add(("title",), f"Title {reason}.")
    return title


def _clean_instructions(value: Any, problems: ProblemList) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add(("instructions",), "Instructions must be text.")
        return ""
    text = value.strip()
    reason = text_problem(text, max_length=LONG_TEXT_MAX, multiline=True)
    if reason:
        problems.add(("instructions",), f"Instructions {reason}.")
    return text


def _clean_due_date(
    value: Any, problems: ProblemList, name: str = "due_date", label: str = "Due date"
) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        problems.add((name,), f"{label} must be a date (YYYY-MM-DD), not a time.")
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.add((name,), f"{label} must be a date (YYYY-MM-DD).")
    return None


def _clean_promised_date(value: Any, problems: ProblemList) -> dt.date | None:
    return _clean_due_date(value, problems, "promised_date", "Promised date")


def _clean_tolerance(value: Any, problems: ProblemList) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if isinstance(value, bool | float) or not 0 <= number <= MAX_TOLERANCE_DAYS:
        problems.add(
            ("tolerance_days",),
            f"Tolerance must be a whole number of days from 0 to {MAX_TOLERANCE_DAYS}.",
        )
        return None
    return number


def _clean_reason(value: Any, problems: ProblemList, *, required: bool) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.add(("reason",), "Reason is required: say why.", type="missing")
        return ""
    if not isinstance(value, str):
        problems.add(("reason",), "Reason must be text.")
        return ""
    text = value.strip()
    problem = text_problem(text, max_length=REASON_MAX, multiline=True)
    if problem:
        problems.add(("reason",), f"Reason {problem}.")
    return text


def work_type_for(organisation: Organisation, key: str) -> WorkType | None:
    """The work type `key` of the organisation's definition in force, or None."""
    return work_types_of(definition_for(organisation)).get(key)


def _clean_work_type(actor: Actor, value: Any, problems: ProblemList) -> WorkType | None:
    if value in (None, ""):
        return None
    types = work_types_of(definition_for(actor.organisation))
    if not isinstance(value, str) or value.strip() not in types:
        known = ", ".join(types) or "none are defined in the process definition"
        problems.add(("work_type",), f"Work type must be one of: {known}.")
        return None
    return types[value.strip()]


def _clean_step(work_type: WorkType | None, value: Any, problems: ProblemList) -> str | None:
    if work_type is None:
        problems.add(("workflow_step",), "Only a work item (a task with a work type) has steps.")
        return None
    if not isinstance(value, str) or value.strip() not in work_type.workflow:
        problems.add(
            ("workflow_step",),
            f"Workflow step must be one of: {', '.join(work_type.workflow)}.",
        )
        return None
    return value.strip()


def _clean_checklist(
    current: list[dict[str, Any]], value: Any, problems: ProblemList
) -> list[dict[str, Any]] | None:
    """Ticks of the task's own checklist: [{"item": ..., "done": bool}], items as listed on
    the task (any order; an item left out keeps its tick)."""
    items = [entry["item"] for entry in current]
    if not items:
        problems.add(("checklist",), "This task has no checklist.")
        return None
    if not isinstance(value, list):
        problems.add(("checklist",), 'Checklist must be a list of {"item": ..., "done": ...}.')
        return None
    ticks = {entry["item"]: bool(entry.get("done")) for entry in current}
    for index, entry in enumerate(value):
        if (
            not isinstance(entry, Mapping)
            or not isinstance(entry.get("item"), str)
            or not isinstance(entry.get("done"), bool)
        ):
            problems.add(
                ("checklist", index), 'Each checklist entry is {"item": text, "done": true|false}.'
            )
            continue
        if entry["item"] not in ticks:
            problems.add(
                ("checklist", index),
                f"'{entry['item']}' is not on this task's checklist: {'; '.join(items)}.",
            )
            continue
        ticks[entry["item"]] = entry["done"]
    return [{"item": item, "done": ticks[item]} for item in items]


def _clean_id(name: str, value: Any, problems: ProblemList) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        problems.add((name,), f"{_label(name)} must be an id.")
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        problems.add((name,), f"{_label(name)} must be an id.")
        return None
    if not is_id(number):
        problems.add((name,), f"{_label(name)} must be an id.")
        return None
    return number


def _label(name: str) -> str:
    return {
        "assignee_id": "Assignee",
        "opportunity_id": "Opportunity",
        "lead_id": "Lead",
        "queue": "Queue",
        "status": "Status",
        "work_type": "Work type",
    }.get(name, name)


def _clean_assignee(actor: Actor, value: Any, problems: ProblemList) -> int | None:
    user_id = _clean_id("assignee_id", value, problems)
    if user_id is None:
        return None
    member = Membership.objects.filter(
        organisation=actor.organisation, user_id=user_id, user__is_active=True
    ).exists()
    if not member:
        problems.add(
            ("assignee_id",),
            f"Assignee {user_id} is not an active member of this organisation.",
            type="not_found",
        )
        return None
    return user_id


def _clean_queue(value: Any, problems: ProblemList) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or value.strip() not in QUEUES:
        problems.add(("queue",), f"Queue must be a role: one of {', '.join(QUEUES)}.")
        return ""
    return value.strip()


def _clean_status(value: Any, problems: ProblemList) -> str | None:
    if not isinstance(value, str) or value.strip() not in STATUSES:
        problems.add(("status",), f"Status must be one of: {', '.join(STATUSES)}.")
        return None
    return value.strip()


def _clean_key(name: str, value: Any, problems: ProblemList) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        problems.add((name,), f"{name.capitalize()} must be text.")
        return ""
    reason = text_problem(value.strip(), max_length=KEY_MAX, multiline=False)
    if reason:
        problems.add((name,), f"{name.capitalize()} {reason}.")
    return value.strip()


def _linked_record(
    actor: Actor, opportunity_id: Any, lead_id: Any, problems: ProblemList
) -> Opportunity | Lead | None:
    """The opportunity or lead a task is about (at most one), alive in the organisation."""
    opportunity_pk = _clean_id("opportunity_id", opportunity_id, problems)
    lead_pk = _clean_id("lead_id", lead_id, problems)
    if opportunity_pk is not None and lead_pk is not None:
        problems.add(
            ("lead_id",),
            "A task is about one record: an opportunity or a lead, not both.",
        )
        return None
    for name, model, pk in (
        ("opportunity_id", Opportunity, opportunity_pk),
        ("lead_id", Lead, lead_pk),
    ):
        if pk is None:
            continue
        obj = model.objects.filter(organisation=actor.organisation, pk=pk, deleted_at=None).first()
        if obj is None:
            problems.add(
                (name,),
                f"{_label(name)} {pk} does not exist in this organisation (or was deleted).",
                type="not_found",
            )
        return obj
    return None


# -- writes ---------------------------------------------------------------------------------


def _open_duplicate(task: Task) -> Task | None:
    """The open task the partial unique constraints found for `task`'s playbook step."""
    target = (
        {"opportunity_id": task.opportunity_id}
        if task.opportunity_id
        else {"lead_id": task.lead_id}
    )
    return (
        Task.objects.filter(
            organisation_id=task.organisation_id,
            playbook=task.playbook,
            step=task.step,
            status=Task.Status.OPEN,
            **target,
        )
        .exclude(pk=task.pk)
        .first()
    )


def _guarded_save(task: Task, save) -> None:
    """Run `save` in a savepoint; a playbook step's second open task on the same record (the
    partial unique constraints) becomes TaskAlreadyOpen naming the open one."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                save()
            return
        except IntegrityError:
            if not task.playbook or not (task.opportunity_id or task.lead_id):
                raise
            existing = _open_duplicate(task)
            if existing is not None:
                raise TaskAlreadyOpen(existing) from None
            # The open one was closed between our insert and our look: try again.
    raise Conflict("The task could not be saved: try again.")


def _changes_of(task: Task) -> dict[str, list[Any]]:
    """A new task's fields, as audit changes (nothing existed before)."""
    changes: dict[str, list[Any]] = {"title": [None, task.title], "status": [None, task.status]}
    for name, value in (
        ("instructions", task.instructions),
        ("due_date", task.due_date.isoformat() if task.due_date else None),
        ("assignee_id", task.assignee_id),
        ("queue", task.queue),
        ("opportunity_id", task.opportunity_id),
        ("lead_id", task.lead_id),
        ("playbook", task.playbook),
        ("step", task.step),
        ("work_type", task.work_type),
        ("workflow_step", task.workflow_step),
        ("promised_date", task.promised_date.isoformat() if task.promised_date else None),
        ("tolerance_days", task.tolerance_days or None),
    ):
        if value not in (None, ""):
            changes[name] = [None, value]
    return changes


def task_create(
    *,
    actor: Actor,
    title: str,
    instructions: str = "",
    due_date: dt.date | None = None,
    assignee_id: int | None = None,
    queue: str = "",
    opportunity_id: int | None = None,
    lead_id: int | None = None,
    playbook: str = "",
    step: str = "",
    run: PlaybookRun | None = None,
    # Raw values, checked like the others (a 422 naming each).
    work_type: Any = "",
    promised_date: Any = None,
    tolerance_days: Any = None,
) -> Task:
    """A task for a member or a role's queue, about at most one opportunity or lead.

    Every invalid field is reported at once (422). Given neither an assignee nor a queue, the
    task is the actor's own; a system actor's (a playbook run by the worker) goes to the linked
    record's owner, and stays unassigned in no queue when there is none. A playbook step's task
    (`playbook` and `step` set) on a record that still has that step's task open raises
    TaskAlreadyOpen carrying the open task — decided by the database's partial unique
    constraints, so two workers cannot both create it.

    A `work_type` (a key of the definition's work types) makes it a customer-service work
    item: at its workflow's first step, with the type's checklist unticked, the type's tolerance
    (unless given) and, given no queue or assignee, in the type's queue; without a due date it
    is due the type's `due_in_working_days` from today, and promised then unless told otherwise.
    """
    problems = ProblemList()
    kind = _clean_work_type(actor, work_type, problems)
    cleaned_promised = _clean_promised_date(promised_date, problems)
    cleaned_tolerance = _clean_tolerance(tolerance_days, problems)
    cleaned_title = _clean_title(title, problems)
    cleaned_instructions = _clean_instructions(instructions, problems)
    cleaned_due = _clean_due_date(due_date, problems)
    cleaned_assignee = _clean_assignee(actor, assignee_id, problems)
    cleaned_queue = _clean_queue(queue, problems)
    record = _linked_record(actor, opportunity_id, lead_id, problems)
    cleaned_playbook = _clean_key("playbook", playbook, problems)
    cleaned_step = _clean_key("step", step, problems)
    if run is not None and run.organisation_id != actor.organisation.pk:
        problems.add(("run",), "The playbook run belongs to another organisation.")
    problems.raise_if_any("The task was not saved.")

    if kind is not None:
        if cleaned_assignee is None and not cleaned_queue:
            cleaned_queue = kind.queue
        if cleaned_due is None and kind.due_in_working_days is not None:
            cleaned_due = due_date_for(
                organisation=actor.organisation,
                start=timezone.localdate(),
                working_days=kind.due_in_working_days,
            )
        if cleaned_promised is None:
            cleaned_promised = cleaned_due
        if cleaned_tolerance is None:
            cleaned_tolerance = kind.tolerance_days
    if cleaned_assignee is None and not cleaned_queue:
        if actor.user is not None:
            cleaned_assignee = actor.user.pk
        elif record is not None and record.owner_id is not None:
            cleaned_assignee = record.owner_id
        else:
            cleaned_queue = FALLBACK_QUEUE  # every open task sits in a queue
    task = Task(
        organisation=actor.organisation,
        title=cleaned_title,
        instructions=cleaned_instructions,
        due_date=cleaned_due,
        assignee_id=cleaned_assignee,
        queue=cleaned_queue,
        opportunity=record if isinstance(record, Opportunity) else None,
        lead=record if isinstance(record, Lead) else None,
        playbook=cleaned_playbook,
        step=cleaned_step,
        run=run,
        created_by_label=actor.label,
        work_type=kind.key if kind else "",
        workflow_step=kind.workflow[0] if kind else "",
        checklist=[{"item": item, "done": False} for item in kind.checklist] if kind else [],
        promised_date=cleaned_promised,
        tolerance_days=cleaned_tolerance or 0,
    )

    def save() -> None:
        task.save()
        audit.record(actor=actor, action="create", obj=task, changes=_changes_of(task))

    with transaction.atomic():
        _guarded_save(task, save)
    return task


def _locked_task(actor: Actor, task_id: Any) -> Task:
    try:
        pk = int(task_id)
    except (TypeError, ValueError):
        pk = 0
    task = None
    if is_id(pk):
        task = (
            Task.objects.select_for_update().filter(organisation=actor.organisation, pk=pk).first()
        )
    if task is None:
        raise NotFound(f"No task with id {task_id}.")
    return task


def _audit_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def task_update(
    *,
    actor: Actor,
    task_id: int,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    action: str = "update",
    reason: str = "",
) -> Task:
    """Change a task's title, instructions, due date, assignee, queue or status; a work
    item's promised date, tolerance, workflow step and checklist ticks.

    `status` "done" records when and by whom; "open" again (reopening) or "cancelled" clears
    that. Asking for the status a task already has (completing a done task, from a second tab)
    changes nothing and is not an error. A stale `expected_version` is PreconditionFailed (412).
    Reopening a playbook step's task while that step has another open task on the record is
    TaskAlreadyOpen (409). A work item is done only with its checklist all ticked (422 naming
    `checklist`).

    The queue invariant holds after every change: a `queue` given without `assignee_id` moves
    the task to that role's queue (nobody has it any more); an open task left with neither
    assignee nor queue is refused, naming `assignee_id`.
    """
    problems = ProblemList()
    cleaned: dict[str, Any] = {}
    later: dict[str, Any] = {}
    for name, value in data.items():
        if name == "title":
            cleaned[name] = _clean_title(value, problems)
        elif name == "instructions":
            cleaned[name] = _clean_instructions(value, problems)
        elif name == "due_date":
            cleaned[name] = _clean_due_date(value, problems)
        elif name == "promised_date":
            cleaned[name] = _clean_promised_date(value, problems)
        elif name == "tolerance_days":
            tolerance = _clean_tolerance(value, problems)
            cleaned[name] = tolerance or 0
        elif name == "assignee_id":
            cleaned[name] = _clean_assignee(actor, value, problems)
        elif name == "queue":
            cleaned[name] = _clean_queue(value, problems)
        elif name == "status":
            cleaned[name] = _clean_status(value, problems)
        elif name in ("workflow_step", "checklist"):
            later[name] = value
        else:
            problems.add((name,), f"Unknown field '{name}'.", type="unknown_field")
    if cleaned.get("queue") and "assignee_id" not in data:
        cleaned["assignee_id"] = None  # to the role's queue: nobody has it any more
    with transaction.atomic():
        task = _locked_task(actor, task_id)
        check_version(task, expected_version)
        if "workflow_step" in later:
            kind = work_type_for(actor.organisation, task.work_type) if task.work_type else None
            cleaned["workflow_step"] = _clean_step(kind, later["workflow_step"], problems)
        if "checklist" in later:
            cleaned["checklist"] = _clean_checklist(task.checklist, later["checklist"], problems)
        problems.raise_if_any("The task was not saved.")
        changes: dict[str, list[Any]] = {}
        for name, value in cleaned.items():
            before = getattr(task, name)
            if before != value:
                setattr(task, name, value)
                changes[name] = [_audit_value(before), _audit_value(value)]
        if not changes:
            return task
        _check_invariants(task, changes)
        fields = set(changes)
        if "status" in changes:
            done = task.status == Task.Status.DONE
            for name, value in (
                ("completed_at", timezone.now() if done else None),
                ("completed_by_id", actor.user.pk if done and actor.user else None),
            ):
                if getattr(task, name) != value:
                    changes[name] = [_audit_value(getattr(task, name)), _audit_value(value)]
                    setattr(task, name, value)
                    fields.add(name)
        task.version += 1
        task.updated_at = timezone.now()
        update_fields = sorted(fields | {"version", "updated_at"})
        if reason:
            changes["reason"] = [None, reason]

        def save() -> None:
            task.save(update_fields=update_fields)
            audit.record(actor=actor, action=action, obj=task, changes=changes)
            if changes.get("status", [None, None])[1] == Task.Status.DONE:
                # In the savepoint with the change: a retried save emits it once. Each
                # completion is its own event, so reopening and completing again is a new
                # occurrence of a task_done playbook (whose task steps skip while theirs is open).
                events.emit(
                    actor=actor,
                    kind="task_done",
                    obj=task,
                    payload={
                        "task_id": task.pk,
                        "playbook": task.playbook,
                        "step": task.step,
                        "opportunity_id": task.opportunity_id,
                        "lead_id": task.lead_id,
                    },
                )

        _guarded_save(task, save)
    return task


def _check_invariants(task: Task, changes: Mapping[str, Any]) -> None:
    problems = ProblemList()
    if task.status == Task.Status.OPEN and task.assignee_id is None and not task.queue:
        problems.add(
            ("assignee_id",),
            "An open task must sit in a queue: give it an assignee or a role's queue.",
        )
    if (
        task.status == Task.Status.DONE
        and "status" in changes
        and any(not entry.get("done") for entry in task.checklist)
    ):
        left = [entry["item"] for entry in task.checklist if not entry.get("done")]
        problems.add(
            ("checklist",), f"Tick every checklist item before it is done: {'; '.join(left)}."
        )
    problems.raise_if_any("The task was not saved.")


def task_reassign(
    *,
    actor: Actor,
    task_id: int,
    assignee_id: int | None = None,
    queue: str = "",
    reason: str = "",
    expected_version: int | None = None,
) -> Task:
    """Give an open task to a member (their queue) or put it in a role's queue (nobody has
    it); the reason, if given, goes on the record's timeline with the change."""
    problems = ProblemList()
    if (assignee_id in (None, "")) == (queue in (None, "")):
        problems.add(("assignee_id",), "Reassign to a person or to a role's queue (one of them).")
    cleaned_reason = _clean_reason(reason, problems, required=False)
    problems.raise_if_any("The task was not reassigned.")
    data: dict[str, Any] = (
        {"assignee_id": assignee_id} if assignee_id not in (None, "") else {"queue": queue}
    )
    with transaction.atomic():
        current = _locked_task(actor, task_id)
        if current.status != Task.Status.OPEN:
            raise Conflict(f"This task is {current.status}: only an open task is reassigned.")
        return task_update(
            actor=actor,
            task_id=task_id,
            data=data,
            expected_version=expected_version,
            action="reassign",
            reason=cleaned_reason,
        )


def task_escalate(*, actor: Actor, task_id: int, queue: Any, reason: Any) -> Task:
    """Send an open task to another role's queue with the reason (inside sales hands a complex
    job to the project leaders): nobody has it until someone there takes it. The reason is on
    the record's timeline (audit action "escalate") and on the task; `task_escalated` is
    emitted. 422 naming `queue` or `reason` when missing or unknown; 409 when not open."""
    problems = ProblemList()
    if queue in (None, ""):
        problems.add(
            ("queue",), "Queue is required: the role's queue to escalate to.", type="missing"
        )
        target = ""
    else:
        target = _clean_queue(queue, problems)
    cleaned_reason = _clean_reason(reason, problems, required=True)
    problems.raise_if_any("The task was not escalated.")
    with transaction.atomic():
        task = _locked_task(actor, task_id)
        if task.status != Task.Status.OPEN:
            raise Conflict(f"This task is {task.status}: only an open task is escalated.")
        changes = {
            "queue": [task.queue, target],
            "assignee_id": [task.assignee_id, None],
            "reason": [None, cleaned_reason],
        }
        task.queue = target
        task.assignee_id = None
        task.escalated_at = timezone.now()
        task.escalation_reason = cleaned_reason
        task.version += 1
        task.updated_at = task.escalated_at
        task.save(
            update_fields=[
                "queue",
                "assignee",
                "escalated_at",
                "escalation_reason",
                "version",
                "updated_at",
            ]
        )
        audit.record(actor=actor, action="escalate", obj=task, changes=changes)
        events.emit(
            actor=actor,
            kind="task_escalated",
            obj=task,
            payload={"task_id": task.pk, "queue": target, "reason": cleaned_reason},
        )
    return task


def task_advance(*, actor: Actor, task_id: int, expected_version: int | None = None) -> Task:
    """Move a work item to its workflow's next step (409 at the last step)."""
    task = _locked_or_404(actor, task_id)
    if task.status != Task.Status.OPEN:
        raise Conflict(f"This task is {task.status}: only an open work item moves on.")
    kind = work_type_for(actor.organisation, task.work_type) if task.work_type else None
    if kind is None or task.workflow_step not in kind.workflow:
        raise Conflict("This task has no workflow to advance.")
    index = kind.workflow.index(task.workflow_step)
    if index + 1 >= len(kind.workflow):
        raise Conflict(f"This work item is at its last step ({task.workflow_step}).")
    return task_update(
        actor=actor,
        task_id=task.pk,
        data={"workflow_step": kind.workflow[index + 1]},
        expected_version=expected_version,
    )


def task_tick(*, actor: Actor, task_id: int, item: Any, done: bool) -> Task:
    """Tick (or untick) one item of a work item's checklist."""
    return task_update(
        actor=actor, task_id=task_id, data={"checklist": [{"item": item, "done": bool(done)}]}
    )


def _locked_or_404(actor: Actor, task_id: Any) -> Task:
    with transaction.atomic():
        return _locked_task(actor, task_id)


def task_claim(*, actor: Actor, task_id: int) -> Task:
    """Take an open task nobody has yet (one from a role's queue), for the actor.

    One conditional UPDATE decides: of two people taking the same task at once, one wins and
    the other gets a Conflict naming who has it.
    """
    if actor.user is None:
        raise Conflict("Only a person can take a task.")
    with transaction.atomic():
        taken = Task.objects.filter(
            organisation=actor.organisation,
            pk=task_id,
            status=Task.Status.OPEN,
            assignee__isnull=True,
        ).update(assignee=actor.user, version=F("version") + 1, updated_at=timezone.now())
        task = (
            Task.objects.filter(organisation=actor.organisation, pk=task_id)
            .select_related("assignee")
            .first()
        )
        if task is None:
            raise NotFound(f"No task with id {task_id}.")
        if not taken:
            if task.status != Task.Status.OPEN:
                raise Conflict(f"This task is {task.status}: there is nothing to take.")
            if task.assignee_id == actor.user.pk:
                return task  # already the actor's: taking it again changes nothing
            assignee = task.assignee
            who = (assignee.full_name or assignee.email) if assignee else "Someone"
            raise Conflict(f"{who} has already taken this task.")
        audit.record(
            actor=actor,
            action="claim",
            obj=task,
            changes={"assignee_id": [None, actor.user.pk]},
        )
    return task
