"""To-do tasks and customer-service work items: list (mine, a queue's, a record's), create,
read, edit and complete; claim, reassign and escalate; the queues' summary."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel

from salesline.core.ids import MAX_ID
from salesline.playbooks import task_selectors, task_services, work_selectors
from salesline.playbooks.models import Task

from .common import actor_of, expected_version, with_etag
from .schemas import Strict

router = Router(tags=["tasks"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class TaskIn(Strict):
    title: str
    instructions: str = ""
    due_date: dt.date | None = None
    assignee_id: Id | None = None
    queue: str | None = None
    opportunity_id: Id | None = None
    lead_id: Id | None = None
    work_type: str | None = None
    promised_date: dt.date | None = None
    tolerance_days: int | None = None


class ChecklistTick(Strict):
    item: str
    done: bool


class TaskPatch(Strict):
    title: str | None = None
    instructions: str | None = None
    due_date: dt.date | None = None
    assignee_id: Id | None = None
    queue: str | None = None
    status: str | None = None
    promised_date: dt.date | None = None
    tolerance_days: int | None = None
    workflow_step: str | None = None
    checklist: list[ChecklistTick] | None = None


class EscalateIn(Strict):
    # Optional here so that a missing one is the service's 422 naming it.
    queue: str | None = None
    reason: str | None = None


class ReassignIn(Strict):
    assignee_id: Id | None = None
    queue: str | None = None
    reason: str | None = None


class ChecklistEntry(BaseModel):
    item: str
    done: bool


class QueueOut(BaseModel):
    queue: str
    size: int
    oldest_age_hours: float
    overdue: int


class TaskOut(BaseModel):
    id: int
    title: str
    instructions: str
    status: str
    due_date: dt.date | None
    assignee_id: int | None
    queue: str | None
    opportunity_id: int | None
    lead_id: int | None
    playbook: str | None
    step: str | None
    completed_at: dt.datetime | None
    completed_by_id: int | None
    on_time: bool | None
    overdue: bool
    location: str
    work_type: str | None
    workflow_step: str | None
    checklist: list[ChecklistEntry]
    promised_date: dt.date | None
    tolerance_days: int
    escalated_at: dt.datetime | None
    escalation_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class TaskList(BaseModel):
    items: list[TaskOut]
    count: int
    limit: int
    offset: int


class TaskQuery(Schema):
    """Documented as text: every value is checked by the one parser the web pages use too, so
    `status=bogus` is a 422 naming `status`."""

    opportunity_id: str | None = None
    lead_id: str | None = None
    assignee_id: str | None = None
    queue: str | None = Field(None, description="A role key, e.g. sales_coordinator")
    location: str | None = Field(
        None, description="The queue open tasks sit in: a role key (nobody has them) or user:<id>"
    )
    status: str | None = Field(None, description="open, done or cancelled")
    overdue: str | None = Field(None, description="true: open and past due")
    limit: str | None = None
    offset: str | None = None


def task_out(task: Task, today: dt.date | None = None) -> dict:
    return {
        "id": task.pk,
        "title": task.title,
        "instructions": task.instructions,
        "status": task.status,
        "due_date": task.due_date,
        "assignee_id": task.assignee_id,
        "queue": task.queue or None,
        "opportunity_id": task.opportunity_id,
        "lead_id": task.lead_id,
        "playbook": task.playbook or None,
        "step": task.step or None,
        "completed_at": task.completed_at,
        "completed_by_id": task.completed_by_id,
        "on_time": task.on_time,
        "overdue": task_selectors.is_overdue(task, today),
        "location": task.location,
        "work_type": task.work_type or None,
        "workflow_step": task.workflow_step or None,
        "checklist": task.checklist,
        "promised_date": task.promised_date,
        "tolerance_days": task.tolerance_days,
        "escalated_at": task.escalated_at,
        "escalation_reason": task.escalation_reason or None,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "version": task.version,
    }


def register(api) -> None:
    @router.get("", response=TaskList, operation_id="list_tasks", summary="List tasks")
    def list_tasks(request: HttpRequest, query: Query[TaskQuery]):
        """Filters: `opportunity_id`, `lead_id`, `assignee_id`, `queue` (a role key), `status`
        (`open`, `done`, `cancelled`), `overdue` (`true`: open and due before today);
        `limit`/`offset`. Ordered by due date (tasks without one last), then id."""
        filters = task_selectors.parse_task_filters(query.dict())
        items, count = task_selectors.task_list(actor=actor_of(request), filters=filters)
        return {
            "items": [task_out(t) for t in items],
            "count": count,
            "limit": filters.limit,
            "offset": filters.offset,
        }

    @router.post("", response={201: TaskOut}, operation_id="create_task", summary="Create a task")
    def create_task(request: HttpRequest, payload: TaskIn):
        """Without `assignee_id` or `queue` the task is the caller's own."""
        data = payload.model_dump()
        data["queue"] = data["queue"] or ""
        data["work_type"] = data["work_type"] or ""
        task = task_services.task_create(actor=actor_of(request), **data)
        return with_etag(api.create_response(request, task_out(task), status=201), task)

    @router.get("/{task_id}", response=TaskOut, operation_id="get_task", summary="Get a task")
    def get_task(request: HttpRequest, task_id: int):
        task = task_selectors.task_get_for(actor=actor_of(request), task_id=task_id)
        return with_etag(api.create_response(request, task_out(task), status=200), task)

    @router.patch(
        "/{task_id}",
        response=TaskOut,
        operation_id="update_task",
        summary="Edit, complete, reopen or cancel a task",
    )
    def update_task(request: HttpRequest, task_id: int, payload: TaskPatch):
        """`{"status": "done"}` completes it (completing a done task changes nothing);
        `If-Match` with the task's ETag refuses a stale edit (412). `queue` without
        `assignee_id` moves it to that role's queue (nobody has it); a work item's
        `workflow_step` is one of its type's steps, `checklist` ticks its items
        (`[{"item": ..., "done": true}]`), and it is done only with every item ticked."""
        task = task_services.task_update(
            actor=actor_of(request),
            task_id=task_id,
            data=payload.model_dump(exclude_unset=True),
            expected_version=expected_version(request, task_id),
        )
        return with_etag(api.create_response(request, task_out(task), status=200), task)

    @router.post(
        "/{task_id}/claim",
        response=TaskOut,
        operation_id="claim_task",
        summary="Take a task from its role's queue",
    )
    def claim_task(request: HttpRequest, task_id: int):
        """The task moves to the caller's queue. Of two people claiming at once one wins; the
        other (and anyone claiming a task someone holds) gets 409 naming who has it."""
        task = task_services.task_claim(actor=actor_of(request), task_id=task_id)
        task = task_selectors.task_get_for(actor=actor_of(request), task_id=task.pk)
        return with_etag(api.create_response(request, task_out(task), status=200), task)

    @router.post(
        "/{task_id}/escalate",
        response=TaskOut,
        operation_id="escalate_task",
        summary="Send a task to another role's queue, with the reason",
    )
    def escalate_task(request: HttpRequest, task_id: int, payload: EscalateIn):
        """`{"queue": "<role key>", "reason": "..."}`: nobody has it until someone of that
        role takes it; the reason is on the record's timeline. 422 naming `queue` or
        `reason` when missing or unknown; 409 when the task is not open."""
        task = task_services.task_escalate(
            actor=actor_of(request), task_id=task_id, queue=payload.queue, reason=payload.reason
        )
        return with_etag(api.create_response(request, task_out(task), status=200), task)

    @router.post(
        "/{task_id}/reassign",
        response=TaskOut,
        operation_id="reassign_task",
        summary="Give a task to a member or put it in a role's queue",
    )
    def reassign_task(request: HttpRequest, task_id: int, payload: ReassignIn):
        """`{"assignee_id": N}` or `{"queue": "<role key>"}`, with an optional `reason` for
        the timeline. `If-Match` refuses a stale reassign (412)."""
        task = task_services.task_reassign(
            actor=actor_of(request),
            task_id=task_id,
            assignee_id=payload.assignee_id,
            queue=payload.queue or "",
            reason=payload.reason or "",
            expected_version=expected_version(request, task_id),
        )
        return with_etag(api.create_response(request, task_out(task), status=200), task)

    @router.post(
        "/{task_id}/advance",
        response=TaskOut,
        operation_id="advance_task",
        summary="Move a work item to its workflow's next step",
    )
    def advance_task(request: HttpRequest, task_id: int):
        task = task_services.task_advance(
            actor=actor_of(request),
            task_id=task_id,
            expected_version=expected_version(request, task_id),
        )
        return with_etag(api.create_response(request, task_out(task), status=200), task)

    api.add_router("/tasks", router)
    api.add_router("/queues", queues)


queues = Router(tags=["tasks"])


@queues.get(
    "",
    response=list[QueueOut],
    operation_id="list_queues",
    summary="Every queue: size, age of the oldest item, items past due",
)
def list_queues(request: HttpRequest) -> Any:
    """Every role's queue (empty ones too), then each person's (`user:<id>`) with open items:
    `size` (open items), `oldest_age_hours` (from the oldest item's creation; 0 when empty)
    and `overdue` (past the due or promised date plus the work item's tolerance)."""
    # An empty queue's oldest item is 0 hours old: the field is always a number.
    return [
        {**row, "oldest_age_hours": row["oldest_age_hours"] or 0.0}
        for row in work_selectors.queue_summary(actor=actor_of(request))
    ]
