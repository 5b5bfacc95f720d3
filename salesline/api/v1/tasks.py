"""To-do tasks: list (mine, a queue's, a record's), create, read, edit and complete."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel

from salesline.core.ids import MAX_ID
from salesline.playbooks import task_selectors, task_services
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


class TaskPatch(Strict):
    title: str | None = None
    instructions: str | None = None
    due_date: dt.date | None = None
    assignee_id: Id | None = None
    queue: str | None = None
    status: str | None = None


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
        `If-Match` with the task's ETag refuses a stale edit (412)."""
        task = task_services.task_update(
            actor=actor_of(request),
            task_id=task_id,
            data=payload.model_dump(exclude_unset=True),
            expected_version=expected_version(request, task_id),
        )
        return with_etag(api.create_response(request, task_out(task), status=200), task)

    api.add_router("/tasks", router)
