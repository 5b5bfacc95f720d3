"""The defect log and the daily work-in-progress review."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from salesline.core.ids import MAX_ID
from salesline.playbooks import defects as defect_services
from salesline.playbooks import work_selectors

from .common import actor_of, expected_version, with_etag
from .schemas import Strict

Id = Annotated[int, Field(ge=1, le=MAX_ID)]

defects = Router(tags=["work review"])
review = Router(tags=["work review"])


class DefectIn(Strict):
    description: str | None = None
    found_on: dt.date | None = None
    cause: str | None = None
    fix: str | None = None
    queue: str | None = None
    task_id: Id | None = None
    opportunity_id: Id | None = None
    fixed_on: dt.date | None = None


class DefectPatch(Strict):
    """Only the fields sent change; null (or "") clears an optional one, `fixed_on` null
    reopens the defect."""

    description: str | None = None
    found_on: dt.date | None = None
    cause: str | None = None
    fix: str | None = None
    queue: str | None = None
    task_id: Id | None = None
    opportunity_id: Id | None = None
    fixed_on: dt.date | None = None


class DefectOut(BaseModel):
    id: int
    found_on: dt.date
    description: str
    cause: str
    fix: str
    queue: str | None
    task_id: int | None
    opportunity_id: int | None
    recorded_by_id: int | None
    state: str
    fixed_on: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class DefectList(BaseModel):
    items: list[DefectOut]
    count: int
    limit: int
    offset: int


class DefectQuery(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)
    state: Literal["open", "fixed"] | None = Field(None, description="open or fixed")
    deleted: bool = Field(False, description="true: the deleted defects (to restore one)")


class ProblemReason(BaseModel):
    kind: str
    text: str
    days: int | None = None
    detail: str | None = None


class ProblemCase(BaseModel):
    task_id: int
    title: str
    queue: str
    work_type: str | None
    workflow_step: str | None
    due: dt.date | None
    late_after: dt.date | None
    reasons: list[ProblemReason]
    reason: str
    actions: list[str]
    action: str | None


class ProblemsOut(BaseModel):
    date: dt.date
    items: list[ProblemCase]
    count: int


@defects.get("", response=DefectList, operation_id="list_defects", summary="The defect log")
def list_defects(request: HttpRequest, query: Query[DefectQuery]) -> Any:
    """Open defects first, then fixed ones; newest found first within each. `state` keeps
    the open or the fixed ones; `deleted=true` lists the deleted ones instead."""
    rows = defect_services.defect_list(
        actor=actor_of(request), state=query.state, deleted=query.deleted
    )
    page = rows[query.offset : query.offset + query.limit]
    return {
        "items": [defect_services.defect_out(d) for d in page],
        "count": rows.count(),
        "limit": query.limit,
        "offset": query.offset,
    }


@defects.post("", response={201: DefectOut}, operation_id="create_defect", summary="Log a defect")
def create_defect(request: HttpRequest, payload: DefectIn) -> Any:
    """`description` is required; `found_on` defaults to today; `queue` (a role key) defaults
    to the linked task's."""
    data = {k: v for k, v in payload.model_dump().items() if v is not None}
    defect = defect_services.defect_create(actor=actor_of(request), data=data)
    return Status(201, defect_services.defect_out(defect))


def _defect_response(api, request: HttpRequest, defect, status: int = 200) -> Any:
    response = api.create_response(request, defect_services.defect_out(defect), status=status)
    return with_etag(response, defect)


def register_defect_items(api) -> None:
    @defects.get(
        "/{defect_id}", response=DefectOut, operation_id="get_defect", summary="Get a defect"
    )
    def get_defect(request: HttpRequest, defect_id: int) -> Any:
        defect = defect_services.defect_get_for(actor=actor_of(request), defect_id=defect_id)
        return _defect_response(api, request, defect)

    @defects.patch(
        "/{defect_id}",
        response=DefectOut,
        operation_id="update_defect",
        summary="Edit a defect: its cause and fix, or mark it fixed (If-Match: its ETag)",
    )
    def update_defect(request: HttpRequest, defect_id: int, payload: DefectPatch) -> Any:
        """Only the fields sent change. `{"fixed_on": "YYYY-MM-DD"}` marks it fixed,
        `{"fixed_on": null}` reopens it. `If-Match` with the ETag refuses a stale edit (412);
        422 names each wrong field."""
        defect = defect_services.defect_update(
            actor=actor_of(request),
            defect_id=defect_id,
            data=payload.model_dump(exclude_unset=True),
            expected_version=expected_version(request, defect_id),
        )
        return _defect_response(api, request, defect)

    @defects.delete(
        "/{defect_id}",
        response={204: None},
        operation_id="delete_defect",
        summary="Delete a defect (restorable)",
    )
    def delete_defect(request: HttpRequest, defect_id: int) -> Any:
        """It leaves the log and the review; `POST /defects/{id}/restore` brings it back."""
        defect_services.defect_delete(actor=actor_of(request), defect_id=defect_id)
        return Status(204, None)

    @defects.post(
        "/{defect_id}/restore",
        response=DefectOut,
        operation_id="restore_defect",
        summary="Restore a deleted defect",
    )
    def restore_defect(request: HttpRequest, defect_id: int) -> Any:
        defect = defect_services.defect_restore(actor=actor_of(request), defect_id=defect_id)
        return _defect_response(api, request, defect)


@review.get(
    "",
    response=dict[str, Any],
    operation_id="wip_review",
    summary="The daily work-in-progress review",
)
def wip_review(request: HttpRequest) -> Any:
    """Query `date` (default today), `from`/`to` (the on-time period, default the 30 days to
    `date`), `late_within` (working days ahead a job is likely to be late, 0–30, default 2).
    Answers `{"on_time_pct", "queues", "late_risk", "defects", "flow"}`: see
    docs/wip-review.md."""
    query = work_selectors.parse_review_query(request.GET)
    result = work_selectors.wip_review(actor=actor_of(request), **query)
    return result.as_json()


@review.get(
    "/problems",
    response=ProblemsOut,
    operation_id="wip_review_problems",
    summary="The review's problem cases, each with why and the action to take",
)
def wip_review_problems(request: HttpRequest) -> Any:
    """Query `date` (default today). Open items overdue, escalated, or taken from a role's
    queue and untouched for 3 days or more; most overdue first (at most 100)."""
    date = work_selectors.parse_problems_query(request.GET)
    items = work_selectors.problem_cases(actor=actor_of(request), date=date)
    return {"date": date, "items": items, "count": len(items)}


def register(api) -> None:
    register_defect_items(api)
    api.add_router("/defects", defects)
    api.add_router("/wip-review", review)
