"""The meeting planner: meeting requests (what needs a meeting), plans (a proposal for a
salesperson's days) and accepting one onto the calendar."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from salesline.core.ids import MAX_ID
from salesline.scheduling import planner

from .common import actor_of, expected_version
from .schemas import Strict

requests_router = Router(tags=["meeting planner"])
plans_router = Router(tags=["meeting planner"])
bases_router = Router(tags=["meeting planner"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class LocationIn(Strict):
    address: str | None = None
    lat: float | None = None
    lon: float | None = None


class WindowIn(Strict):
    date: dt.date | None = None
    weekday: int | None = None
    start: str
    end: str


class RequestIn(Strict):
    opportunity_id: Id | None = None
    owner_id: Id | None = None
    duration_minutes: int | None = None
    priority: int | None = None
    deadline: dt.date | None = None
    windows: list[WindowIn] | None = None
    location: LocationIn | None = None
    objective: str | None = None


class RequestPatch(Strict):
    duration_minutes: int | None = None
    priority: int | None = None
    deadline: dt.date | None = None
    windows: list[WindowIn] | None = None
    location: LocationIn | None = None
    objective: str | None = None
    status: str | None = None


class LocationOut(BaseModel):
    address: str
    lat: float | None
    lon: float | None


class RequestOut(BaseModel):
    id: int
    owner_id: int
    opportunity_id: int
    duration_minutes: int
    priority: int
    deadline: dt.date | None
    windows: list[dict[str, Any]]
    location: LocationOut
    objective: str
    status: str
    version: int


class RequestList(BaseModel):
    items: list[RequestOut]
    count: int
    limit: int
    offset: int


class RequestQuery(Schema):
    owner_id: str | None = None
    status: str | None = Field(None, description="open, planned or cancelled")
    limit: str | None = None
    offset: str | None = None


class PlanIn(Strict):
    owner_id: Id
    start: dt.date
    days: int
    from_opportunities: bool = Field(
        True,
        description="Also plan the owner's open opportunities that have no meeting request and "
        "no business-development meeting to come (each becomes a request at its company)",
    )


class PlanMeetingOut(BaseModel):
    opportunity_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    travel_minutes_before: int


class UnplannedOut(BaseModel):
    opportunity_id: int
    reason: str


class PlanOut(BaseModel):
    id: int
    meetings: list[PlanMeetingOut]
    unplanned: list[UnplannedOut]
    total_travel_minutes: int


class PlanSummaryOut(PlanOut):
    owner_id: int
    start: dt.date
    days: int
    status: str
    created_at: dt.datetime


class PlanList(BaseModel):
    items: list[PlanSummaryOut]
    count: int
    limit: int
    offset: int


class PlanQuery(Schema):
    owner_id: str | None = None
    limit: str | None = None
    offset: str | None = None


class MeetingMove(Strict):
    starts_at: dt.datetime = Field(..., description="ISO 8601 with an offset")


class BaseIn(Strict):
    location: LocationIn | None = None
    travel_speed_kmh: int | None = None
    travel_overhead_minutes: int | None = None


class BaseOut(BaseModel):
    owner_id: int
    location: LocationOut
    travel_speed_kmh: int
    travel_overhead_minutes: int


def base_out(pattern) -> dict:
    return {
        "owner_id": pattern.user_id,
        "location": {
            "address": pattern.base_address,
            "lat": pattern.base_latitude,
            "lon": pattern.base_longitude,
        },
        "travel_speed_kmh": pattern.travel_speed_kmh,
        "travel_overhead_minutes": pattern.travel_overhead_minutes,
    }


def _request_data(payload: BaseModel) -> dict:
    data = payload.model_dump(exclude_unset=True)
    windows = data.get("windows")
    if windows is not None:
        data["windows"] = [
            {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in w.items() if v}
            for w in windows
        ]
    return data


def register(api) -> None:
    @requests_router.get(
        "", response=RequestList, operation_id="list_meeting_requests", summary="Meeting requests"
    )
    def list_requests(request: HttpRequest, query: Query[RequestQuery]):
        """Filters: `owner_id`, `status` (`open`, `planned`, `cancelled`); `limit`/`offset`.
        Highest priority first, then the earliest deadline."""
        filters = planner.parse_request_filters(query.dict())
        items, count = planner.request_list(actor=actor_of(request), filters=filters)
        return {
            "items": [planner.request_out(r) for r in items],
            "count": count,
            "limit": filters.limit,
            "offset": filters.offset,
        }

    @requests_router.post(
        "",
        response={201: RequestOut},
        operation_id="create_meeting_request",
        summary="Ask for a meeting on an opportunity",
    )
    def create_request(request: HttpRequest, payload: RequestIn):
        """`opportunity_id` and `objective` are required; `owner_id` defaults to the
        opportunity's owner, `location` to its company's (address and coordinates, else its
        town's from the places table). `windows`: `[{"date": "YYYY-MM-DD"` or `"weekday": 1-7,
        "start": "HH:MM", "end": "HH:MM"}]` in the owner's time zone; none: any working time."""
        row = planner.request_create(actor=actor_of(request), data=_request_data(payload))
        return Status(201, planner.request_out(row))

    @requests_router.get(
        "/{request_id}",
        response=RequestOut,
        operation_id="get_meeting_request",
        summary="A meeting request",
    )
    def get_request(request: HttpRequest, request_id: int):
        row = planner.request_get_for(actor=actor_of(request), request_id=request_id)
        return planner.request_out(row)

    @requests_router.patch(
        "/{request_id}",
        response=RequestOut,
        operation_id="update_meeting_request",
        summary="Edit or cancel a meeting request",
    )
    def update_request(request: HttpRequest, request_id: int, payload: RequestPatch):
        row = planner.request_update(
            actor=actor_of(request),
            request_id=request_id,
            data=_request_data(payload),
            expected_version=expected_version(request, request_id),
        )
        return planner.request_out(row)

    @requests_router.delete(
        "/{request_id}",
        response={204: None},
        operation_id="delete_meeting_request",
        summary="Cancel a meeting request",
    )
    def delete_request(request: HttpRequest, request_id: int):
        planner.request_delete(actor=actor_of(request), request_id=request_id)
        return Status(204, None)

    @plans_router.post(
        "",
        response={201: PlanOut},
        operation_id="create_plan",
        summary="Plan a salesperson's meetings",
    )
    def create_plan(request: HttpRequest, payload: PlanIn):
        """Proposes the open meeting requests of `owner_id` over `days` calendar days from
        `start` (non-working days skipped): batched by geography, within working hours, windows,
        deadlines and capacity, with the travel between them, least total travel. Meetings that
        do not fit are `unplanned`, each with its reason."""
        plan = planner.plan_create(actor=actor_of(request), data=payload.model_dump())
        return Status(201, planner.plan_out(plan))

    @plans_router.get("", response=PlanList, operation_id="list_plans", summary="Plans")
    def list_plans(request: HttpRequest, query: Query[PlanQuery]):
        """Newest first; `owner_id` filters to one salesperson's; `limit` (default 50, at most
        500) and `offset`. Each item is the plan's shape plus `owner_id`, `start`, `days`,
        `status` (`proposed` or `accepted`) and `created_at`."""
        filters = planner.parse_plan_filters(query.dict())
        items, count = planner.plan_page(actor=actor_of(request), filters=filters)
        return {
            "items": [planner.plan_summary_out(p) for p in items],
            "count": count,
            "limit": filters.limit,
            "offset": filters.offset,
        }

    @plans_router.delete(
        "/{plan_id}/meetings/{opportunity_id}",
        response=PlanOut,
        operation_id="drop_plan_meeting",
        summary="Drop a proposed meeting from a plan",
    )
    def drop_meeting(request: HttpRequest, plan_id: int, opportunity_id: int):
        """The meeting about `opportunity_id` leaves the plan and joins its `unplanned`, with
        who dropped it; the travel is counted again. 409 once the plan is accepted."""
        actor = actor_of(request)
        meeting_id = planner.meeting_id_for_opportunity(
            actor=actor, plan_id=plan_id, opportunity_id=opportunity_id
        )
        plan = planner.plan_drop_meeting(actor=actor, plan_id=plan_id, meeting_id=meeting_id)
        return planner.plan_out(plan)

    @plans_router.patch(
        "/{plan_id}/meetings/{opportunity_id}",
        response=PlanOut,
        operation_id="move_plan_meeting",
        summary="Move a proposed meeting",
    )
    def move_meeting(request: HttpRequest, plan_id: int, opportunity_id: int, payload: MeetingMove):
        """`{"starts_at": ...}`: the meeting keeps its length. Every rule is checked again
        (the plan's days, working hours, the request's windows and deadline, the calendar's
        appointments, the daily and weekly capacity with the plan's other meetings, travel
        from and to its neighbours that day): a broken one answers 422 naming it."""
        actor = actor_of(request)
        meeting_id = planner.meeting_id_for_opportunity(
            actor=actor, plan_id=plan_id, opportunity_id=opportunity_id
        )
        plan = planner.plan_move_meeting(
            actor=actor, plan_id=plan_id, meeting_id=meeting_id, starts_at=payload.starts_at
        )
        return planner.plan_out(plan)

    @plans_router.get("/{plan_id}", response=PlanOut, operation_id="get_plan", summary="A plan")
    def get_plan(request: HttpRequest, plan_id: int):
        return planner.plan_out(planner.plan_get_for(actor=actor_of(request), plan_id=plan_id))

    @plans_router.post(
        "/{plan_id}/accept",
        response=PlanOut,
        operation_id="accept_plan",
        summary="Put a plan's meetings on the calendar",
    )
    def accept_plan(request: HttpRequest, plan_id: int):
        """All or nothing: a meeting the calendar no longer allows answers 422 naming it (409
        when a request was planned or cancelled meanwhile, or the plan was accepted)."""
        plan = planner.plan_accept(actor=actor_of(request), plan_id=plan_id)
        return planner.plan_out(plan)

    @bases_router.get(
        "/{owner_id}",
        response=BaseOut,
        operation_id="get_planning_base",
        summary="Where a salesperson's days start and end",
    )
    def get_base(request: HttpRequest, owner_id: int):
        actor = actor_of(request)
        return base_out(planner.base_get_for(actor=actor, owner_id=owner_id))

    @bases_router.put(
        "/{owner_id}",
        response=BaseOut,
        operation_id="set_planning_base",
        summary="Set where a salesperson's days start and end, and their travel speed",
    )
    def set_base(request: HttpRequest, owner_id: int, payload: BaseIn):
        """`location` `{"address", "lat", "lon"}` (`null`: no base: days start at the first
        meeting); `travel_speed_kmh` (default 50) and `travel_overhead_minutes` (default 10),
        added to each journey."""
        pattern = planner.base_set(
            actor=actor_of(request), owner_id=owner_id, data=payload.model_dump(exclude_unset=True)
        )
        return base_out(pattern)

    api.add_router("/meeting-requests", requests_router)
    api.add_router("/planning-bases", bases_router)
    api.add_router("/plans", plans_router)
