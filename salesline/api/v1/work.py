"""The defect log and the daily work-in-progress review."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from salesline.core.ids import MAX_ID
from salesline.playbooks import defects as defect_services
from salesline.playbooks import work_selectors

from .common import actor_of
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
    created_at: dt.datetime


class DefectList(BaseModel):
    items: list[DefectOut]
    count: int
    limit: int
    offset: int


class DefectQuery(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)


@defects.get("", response=DefectList, operation_id="list_defects", summary="The defect log")
def list_defects(request: HttpRequest, query: Query[DefectQuery]) -> Any:
    """Newest found first."""
    rows = defect_services.defect_list(actor=actor_of(request))
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


@review.get(
    "",
    response=dict[str, Any],
    operation_id="wip_review",
    summary="The daily work-in-progress review",
)
def wip_review(request: HttpRequest) -> Any:
    """Query `date` (default today), `from`/`to` (the on-time period, default the 30 days to
    `date`). Answers `{"on_time_pct", "queues", "late_risk", "defects", "flow"}`: see
    docs/wip-review.md."""
    dates = work_selectors.parse_review_query(request.GET)
    result = work_selectors.wip_review(actor=actor_of(request), **dates)
    return result.as_json()


def register(api) -> None:
    api.add_router("/defects", defects)
    api.add_router("/wip-review", review)
