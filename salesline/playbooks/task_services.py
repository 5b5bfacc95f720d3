"""Every write to to-do tasks: create, update (edit, complete, reopen, cancel) and claim.

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
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, ProblemList
from salesline.core.ids import is_id
from salesline.core.text import LONG_TEXT_MAX, text_problem
from salesline.pipeline.models import Opportunity
from salesline.records.models import Lead
from salesline.records.services import check_version

from .models import PlaybookRun, Task
from .workdays import add_working_days

TITLE_MAX = Task._meta.get_field("title").max_length or 200
KEY_MAX = Task._meta.get_field("playbook").max_length or 80
STATUSES = tuple(Task.Status.values)
QUEUES = tuple(Role.values)
EDITABLE = ("title", "instructions", "due_date", "assignee_id", "queue", "status")


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
    workdays.add_working_days)."""
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


def _clean_due_date(value: Any, problems: ProblemList) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        problems.add(("due_date",), "Due date must be a date (YYYY-MM-DD), not a time.")
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.add(("due_date",), "Due date must be a date (YYYY-MM-DD).")
    return None


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
) -> Task:
    """A task for a member or a role's queue, about at most one opportunity or lead.

    Every invalid field is reported at once (422). Given neither an assignee nor a queue, the
    task is the actor's own; a system actor's (a playbook run by the worker) goes to the linked
    record's owner, and stays unassigned in no queue when there is none. A playbook step's task
    (`playbook` and `step` set) on a record that still has that step's task open raises
    TaskAlreadyOpen carrying the open task — decided by the database's partial unique
    constraints, so two workers cannot both create it.
    """
    problems = ProblemList()
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

    if cleaned_assignee is None and not cleaned_queue:
        if actor.user is not None:
            cleaned_assignee = actor.user.pk
        elif record is not None:
            cleaned_assignee = record.owner_id
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
) -> Task:
    """Change a task's title, instructions, due date, assignee, queue or status.

    `status` "done" records when and by whom; "open" again (reopening) or "cancelled" clears
    that. Asking for the status a task already has (completing a done task, from a second tab)
    changes nothing and is not an error. A stale `expected_version` is PreconditionFailed (412).
    Reopening a playbook step's task while that step has another open task on the record is
    TaskAlreadyOpen (409).
    """
    problems = ProblemList()
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name == "title":
            cleaned[name] = _clean_title(value, problems)
        elif name == "instructions":
            cleaned[name] = _clean_instructions(value, problems)
        elif name == "due_date":
            cleaned[name] = _clean_due_date(value, problems)
        elif name == "assignee_id":
            cleaned[name] = _clean_assignee(actor, value, problems)
        elif name == "queue":
            cleaned[name] = _clean_queue(value, problems)
        elif name == "status":
            cleaned[name] = _clean_status(value, problems)
        else:
            problems.add((name,), f"Unknown field '{name}'.", type="unknown_field")
    with transaction.atomic():
        task = _locked_task(actor, task_id)
        check_version(task, expected_version)
        problems.raise_if_any("The task was not saved.")
        changes: dict[str, list[Any]] = {}
        for name, value in cleaned.items():
            before = getattr(task, name)
            if before != value:
                setattr(task, name, value)
                changes[name] = [_audit_value(before), _audit_value(value)]
        if not changes:
            return task
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

        def save() -> None:
            task.save(update_fields=update_fields)
            audit.record(actor=actor, action="update", obj=task, changes=changes)

        _guarded_save(task, save)
    return task


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
