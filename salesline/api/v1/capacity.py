"""The capacity planner (docs/capacity.md): the calculator any member may call, and saved plans
with their evaluation, activity map, transition checklist and organisation diagram (admins and
sales-support managers only: a plan holds salaries)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import BaseModel

from salesline.capacity import diagram, selectors, services
from salesline.capacity.resourcing import (
    CURRENT_KEYS,
    CUSTOMER_SERVICE_KEYS,
    INCREMENTAL_KEYS,
    ROLES,
    PlanInvalid,
    PlanResult,
    evaluate,
    parse_plan,
    plain_number,
)
from salesline.capacity.simulation import check_plan
from salesline.capacity.transition import check_activities
from salesline.core import boundedjson
from salesline.core.errors import NotFound, ProblemList
from salesline.core.ids import MAX_ID
from salesline.core.text import first_unstorable

from .common import actor_of, expected_version, with_etag
from .schemas import Strict

router = Router(tags=["capacity planner"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
#: The longest period the calendars are counted over in one request.
MAX_MEASURED_DAYS = 366


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False}


_NUMBER = {"type": "number", "minimum": 0}
_COUNT = {"type": "integer", "minimum": 0}
_ROLE_NUMBERS = _object({role: _NUMBER for role in ROLES})
_ROLE_COUNTS = _object({role: _COUNT for role in ROLES})
#: The plan file (docs/capacity.md) as the OpenAPI document shows it; `resourcing.parse_plan`
#: is what checks a body, so every problem is named the same way here and in the CLI.
PLAN_FILE_SCHEMA: dict[str, Any] = _object(
    {
        "currency": {"type": "string", "example": "EUR"},
        "capacity_per_salesperson": {"type": "number", "exclusiveMinimum": 0, "default": 20},
        "current": _object(dict.fromkeys(CURRENT_KEYS, _NUMBER)),
        "incremental": _object(dict.fromkeys(INCREMENTAL_KEYS, _NUMBER)),
        "project_share": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
        "project_half_days": {**_NUMBER, "default": 0},
        "customer_service": _object(dict.fromkeys(CUSTOMER_SERVICE_KEYS, _NUMBER)),
        "language_regions": {**_COUNT, "default": 1},
        "support_locations": {**_COUNT, "default": 1},
        "salaries": _ROLE_NUMBERS,
        "before": _ROLE_COUNTS,
        "simulation": {"type": "object", "description": "read by the simulator"},
        "scenarios": {"type": "array", "items": {"type": "object"}},
    }
)
PLAN_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": PLAN_FILE_SCHEMA}},
    }
}


# ---------------------------------------------------------------- schemas


class RolesOut(BaseModel):
    salesperson: int
    sales_coordinator: int
    project_leader: int
    customer_service: int
    promotions_coordinator: int
    sales_support_manager: int
    sales_manager: int


class BeforeAfterOut(BaseModel):
    before: float
    after: float


class PayrollOut(BaseModel):
    before: float
    after: float
    delta: float


class WarningOut(BaseModel):
    rule: str
    message: str


class PlanAnswerOut(BaseModel):
    """The contract's answer (docs/capacity.md)."""

    roles: RolesOut
    meetings_per_week: BeforeAfterOut
    payroll: PayrollOut
    warnings: list[WarningOut]


class SavedPlanIn(Strict):
    """`name` is required when creating; without a `document`, a starting plan file (today's
    salespeople counted from the members, indicative salaries). `measured_from`: the first day
    of the month whose held business-development meetings are counted (null: the last four
    complete weeks)."""

    name: str | None = None
    document: dict[str, Any] | None = Field(None, description="the plan file (docs/capacity.md)")
    measured_from: dt.date | None = None


class SavedPlanOut(BaseModel):
    id: int
    name: str
    document: dict[str, Any]
    measured_from: dt.date | None
    version: int
    deleted: bool


class SavedPlanList(BaseModel):
    items: list[SavedPlanOut]
    count: int
    limit: int
    offset: int


class PlanListQuery(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)
    deleted: bool = Field(False, description="true: the deleted plans (to restore one)")


class ActivityIn(Strict):
    id: int | None = Field(None, description="ignored: the map is saved whole")
    name: str | None = None
    inside: bool | None = Field(None, description="true: inside; false: must be done outside")
    selling: bool | None = None
    role: str | None = Field(None, description="a planned role key or inside_sales; null: nobody")


class ActivitiesIn(Strict):
    activities: list[ActivityIn]


class ActivityOut(BaseModel):
    id: int
    name: str
    inside: bool
    selling: bool
    role: str | None


class ActivitiesOut(BaseModel):
    activities: list[ActivityOut]
    unowned: list[str] = Field(..., description="activities nobody is given")
    unstaffed: list[str] = Field(..., description="activities given to a role with nobody planned")
    roles_without_activity: list[str]


class TransitionIn(Strict):
    start: dt.date
    owner_id: Id | None = None


class StepPatch(Strict):
    owner_id: Id | None = None
    due_date: dt.date | None = None
    done: bool | None = None


class StepOut(BaseModel):
    id: int
    key: str
    number: int
    title: str
    guidance: str
    owner_id: int | None
    due_date: dt.date | None
    done: bool
    done_at: dt.datetime | None
    done_by_id: int | None


class TransitionOut(BaseModel):
    steps: list[StepOut]


class MeasuredQuery(Schema):
    from_: dt.date | None = Field(None, alias="from", description="YYYY-MM-DD, included")
    to: dt.date | None = Field(None, description="YYYY-MM-DD, included")


# ---------------------------------------------------------------- helpers


def _plan_body(request: HttpRequest) -> Any:
    """The raw plan file: parse_plan, not a schema, checks it, so its problems read the same
    in the API and the CLI."""
    try:
        data = boundedjson.loads(request.body)
    except (ValueError, boundedjson.JsonTooDeep) as exc:
        raise HttpError(400, "bad body") from exc
    reason = first_unstorable(data)
    if reason:
        problems = ProblemList()
        problems.add((), f"The plan file {reason}.")
        problems.raise_if_any()
    return data


def _problems_of(invalid: PlanInvalid) -> ProblemList:
    problems = ProblemList()
    for key, message in invalid.problems:
        # A list's index as a number, as /capacity/simulations and the schema errors give it.
        problems.add(
            tuple(int(part) if part.isdecimal() else part for part in key.split(".") if part),
            message,
        )
    return problems


def _saved(api, request: HttpRequest, plan, status: int = 200) -> HttpResponse:
    response = api.create_response(request, services.plan_out(plan), status=status)
    return with_etag(response, plan)


def _activities_out(plan) -> dict[str, Any]:
    activities = list(plan.activities.all())
    check = check_activities(((a.name, a.role) for a in activities), _roles_of(plan))
    return {
        "activities": [services.activity_out(a) for a in activities],
        "unowned": check.unowned,
        "unstaffed": check.unstaffed,
        "roles_without_activity": check.roles_without_activity,
    }


def _roles_of(plan) -> dict[str, int]:
    return evaluate(parse_plan(plan.document)).roles


def result_out(view: selectors.PlanView) -> dict[str, Any]:
    """The evaluation a plan's page shows, as JSON."""
    result: PlanResult = view.result
    measured = view.measured
    measured_figure = (
        measured.get("per_salesperson_per_week") if measured and measured.get("meetings") else None
    )
    entered = result.plan.meetings_per_salesperson
    return {
        **result.as_json(),
        "verdict": result.verdict(),
        "currency": result.plan.currency,
        "meetings_per_salesperson": {
            "entered": plain_number(entered),
            "measured": measured_figure,
            "difference": (
                round(entered - measured_figure, 2) if measured_figure is not None else None
            ),
        },
        "measured": measured,
        "steps": [
            {"key": s.key, "title": s.title, "explanation": s.explanation, "figure": s.figure}
            for s in result.steps
        ],
        "economics": [
            {
                "role": row.role,
                "label": row.label,
                "before": row.before,
                "after": row.after,
                "salary": None if row.salary is None else plain_number(row.salary),
                "payroll_before": plain_number(row.payroll_before),
                "payroll_after": plain_number(row.payroll_after),
                "delta": plain_number(row.delta),
            }
            for row in result.economics
        ],
        "sensitivity": [
            {
                "incremental_per_week": plain_number(row.incremental_per_week),
                "volume_per_week": plain_number(row.volume_per_week),
                "salespeople": row.salespeople,
                "capacity_per_week": plain_number(row.capacity_per_week),
                "planned": row.planned,
            }
            for row in result.sensitivity
        ],
        "capacity_ratio": result.capacity_ratio,
        "project_leader_ratio": result.project_leader_ratio,
        "project_half_days_per_week": plain_number(result.project_half_days_per_week),
        "customer_service_hours_per_week": round(result.service_hours_per_week, 2),
        "hints": {
            "existing_accounts": view.hints.existing_accounts,
            "neglected_opportunities": view.hints.neglected_opportunities,
            "open_opportunities": view.hints.open_opportunities,
        },
        "activity_check": {
            "complete": not view.unowned_activities and not view.unstaffed_activities,
            "unowned": view.unowned_activities,
            "unstaffed": view.unstaffed_activities,
            "roles_without_activity": view.roles_without_activity,
        },
    }


# ---------------------------------------------------------------- routes


def register(api) -> None:
    @router.post(
        "/plan",
        response=PlanAnswerOut,
        operation_id="capacity_plan_answer",
        summary="Resource a sales function from a plan file",
        openapi_extra=PLAN_BODY,
    )
    def plan_answer(request: HttpRequest):
        """The body is the plan file as JSON (docs/capacity.md); the answer is the contract's:
        `roles`, `meetings_per_week` before and after, `payroll` before, after and delta, and
        `warnings` (`rule`, `message`). Stores nothing; any member may call it. A key not in
        the format, or a value out of range, is a 422 naming its dotted key."""
        try:
            plan = check_plan(_plan_body(request))
        except PlanInvalid as invalid:
            _problems_of(invalid).raise_if_any()
            raise
        return api.create_response(request, evaluate(plan).as_json(), status=200)

    @router.get(
        "/measured-meetings",
        operation_id="capacity_measured_meetings",
        summary="Business-development meetings held, counted from the calendars",
        response=dict[str, Any],
    )
    def measured_meetings(request: HttpRequest, query: Query[MeasuredQuery]):
        """Held business-development appointments (not cancelled, started before now) in
        `from`..`to` (both included; default: the last four complete weeks), per salesperson
        and per week: the figure the chapter says to count rather than estimate."""
        actor = actor_of(request)
        services.require_manage(actor)
        default_start, default_end = selectors.measurement_period(None)
        start = query.from_ or default_start
        end = query.to + dt.timedelta(days=1) if query.to else default_end
        problems = ProblemList()
        if end <= start:
            problems.add(("query", "to"), "Must be on or after `from`.")
        elif (end - start).days > MAX_MEASURED_DAYS:
            problems.add(("query", "to"), f"At most {MAX_MEASURED_DAYS} days from `from`.")
        problems.raise_if_any()
        measured = selectors.measured_meetings(actor=actor, start=start, end=end)
        if measured is None:
            raise NotFound("No installed app counts the business-development meetings held.")
        return measured

    @router.get(
        "/plans", response=SavedPlanList, operation_id="list_capacity_plans", summary="Plans"
    )
    def list_plans(request: HttpRequest, query: Query[PlanListQuery]):
        """By name; `deleted=true` lists the deleted ones."""
        rows = selectors.plan_list(actor=actor_of(request), deleted=query.deleted)
        page = rows[query.offset : query.offset + query.limit]
        return {
            "items": [services.plan_out(p) for p in page],
            "count": rows.count(),
            "limit": query.limit,
            "offset": query.offset,
        }

    @router.post(
        "/plans",
        response={201: SavedPlanOut},
        operation_id="create_capacity_plan",
        summary="Save a plan",
    )
    def create_plan(request: HttpRequest, payload: SavedPlanIn):
        """The activity map starts with the chapter's example activities. Answers with an ETag
        for later `If-Match`."""
        plan = services.plan_create(
            actor=actor_of(request), data=payload.model_dump(exclude_unset=True)
        )
        return _saved(api, request, plan, status=201)

    @router.get(
        "/plans/{plan_id}",
        response=SavedPlanOut,
        operation_id="get_capacity_plan",
        summary="A plan",
    )
    def get_plan(request: HttpRequest, plan_id: int):
        plan = selectors.plan_get_for(actor=actor_of(request), plan_id=plan_id)
        return _saved(api, request, plan)

    @router.patch(
        "/plans/{plan_id}",
        response=SavedPlanOut,
        operation_id="update_capacity_plan",
        summary="Edit a plan",
    )
    def update_plan(request: HttpRequest, plan_id: int, payload: SavedPlanIn):
        """Only the fields sent change; `document` replaces the whole plan file. With
        `If-Match` (the ETag), a stale version answers 412 and changes nothing."""
        plan = services.plan_update(
            actor=actor_of(request),
            plan_id=plan_id,
            data=payload.model_dump(exclude_unset=True),
            version=expected_version(request, plan_id),
        )
        return _saved(api, request, plan)

    @router.delete(
        "/plans/{plan_id}",
        response={204: None},
        operation_id="delete_capacity_plan",
        summary="Delete a plan (restorable)",
    )
    def delete_plan(request: HttpRequest, plan_id: int):
        services.plan_delete(actor=actor_of(request), plan_id=plan_id)
        return Status(204, None)

    @router.post(
        "/plans/{plan_id}/restore",
        response=SavedPlanOut,
        operation_id="restore_capacity_plan",
        summary="Restore a deleted plan",
    )
    def restore_plan(request: HttpRequest, plan_id: int):
        """409 when a live plan has taken its name meanwhile."""
        plan = services.plan_restore(actor=actor_of(request), plan_id=plan_id)
        return _saved(api, request, plan)

    @router.get(
        "/plans/{plan_id}/result",
        response=dict[str, Any],
        operation_id="capacity_plan_result",
        summary="A plan evaluated: roles, economics, steps explained, warnings",
    )
    def plan_result(request: HttpRequest, plan_id: int):
        """The contract's answer plus `verdict`, each step of the method explained (`steps`),
        `economics` per role, `sensitivity`, the meetings per salesperson entered beside the
        ones `measured` from the calendars over the plan's month, counts from the data that
        help estimate the increment (`hints`) and the `activity_check`."""
        view = selectors.plan_view(actor=actor_of(request), plan_id=plan_id)
        return result_out(view)

    @router.put(
        "/plans/{plan_id}/activities",
        response=ActivitiesOut,
        operation_id="replace_capacity_plan_activities",
        summary="Save the whole activity-to-role map",
    )
    def replace_activities(request: HttpRequest, plan_id: int, payload: ActivitiesIn):
        """Every activity at once (`name`, `inside`, `selling`, `role`); nothing is saved
        unless every row is good. The answer checks that every activity has an owner."""
        actor = actor_of(request)
        services.activities_replace(
            actor=actor,
            plan_id=plan_id,
            activities=[a.model_dump(exclude_unset=True) for a in payload.activities],
        )
        return _activities_out(selectors.plan_get_for(actor=actor, plan_id=plan_id))

    @router.get(
        "/plans/{plan_id}/activities",
        response=ActivitiesOut,
        operation_id="get_capacity_plan_activities",
        summary="The activity-to-role map",
    )
    def get_activities(request: HttpRequest, plan_id: int):
        return _activities_out(selectors.plan_get_for(actor=actor_of(request), plan_id=plan_id))

    @router.get(
        "/plans/{plan_id}/transition",
        response=TransitionOut,
        operation_id="get_capacity_transition",
        summary="The transition checklist",
    )
    def get_transition(request: HttpRequest, plan_id: int):
        plan = selectors.plan_get_for(actor=actor_of(request), plan_id=plan_id)
        return {"steps": [services.step_out(s) for s in plan.transition_steps.all()]}

    @router.post(
        "/plans/{plan_id}/transition",
        response=TransitionOut,
        operation_id="generate_capacity_transition",
        summary="Generate the transition checklist",
    )
    def generate_transition(request: HttpRequest, plan_id: int, payload: TransitionIn):
        """The chapter's six steps, due from `start`, owned by `owner_id` (a member) when
        given. Steps already generated are kept as they are."""
        steps = services.transition_generate(
            actor=actor_of(request),
            plan_id=plan_id,
            start=payload.start,
            owner_id=payload.owner_id,
        )
        return {"steps": [services.step_out(s) for s in steps]}

    @router.patch(
        "/plans/{plan_id}/transition/{step_id}",
        response=StepOut,
        operation_id="update_capacity_transition_step",
        summary="Set a step's owner or due date, or tick it off",
    )
    def update_step(request: HttpRequest, plan_id: int, step_id: int, payload: StepPatch):
        step = services.transition_step_update(
            actor=actor_of(request),
            plan_id=plan_id,
            step_id=step_id,
            data=payload.model_dump(exclude_unset=True),
        )
        return services.step_out(step)

    @router.get(
        "/plans/{plan_id}/diagram.svg",
        operation_id="capacity_plan_diagram",
        summary="The organisation model drawn (SVG)",
        response={200: None},
        openapi_extra={
            "responses": {"200": {"description": "SVG", "content": {"image/svg+xml": {}}}}
        },
    )
    def plan_diagram(request: HttpRequest, plan_id: int):
        """Functions as groups, one circle per person, the work queues between them."""
        plan = selectors.plan_get_for(actor=actor_of(request), plan_id=plan_id)
        svg = diagram.org_model_svg(
            _roles_of(plan),
            title=plan.name,
            activities=[(a.name, a.role) for a in plan.activities.all() if a.role],
        )
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="capacity-plan-{plan_id}.svg"'
        return response

    api.add_router("/capacity", router)
