"""POST /capacity/simulations: the simulator on a plan object (docs/capacity.md, "The
simulator"). Stores nothing; any member may call it. The run happens in the request, so its
size is capped (`MAX_WORK` estimated events, a few seconds); a saved plan's larger runs go to
the worker (capacity.simulation_jobs).

GET /capacity/observed-stages: the organisation's observed stages as a plan's
`simulation.stages` (admins and sales-support managers: it reads the whole pipeline)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Body, Query, Router, Schema

from salesline.capacity.resourcing import PlanInvalid, parse_plan
from salesline.capacity.selectors import observed_stages
from salesline.capacity.services import require_manage
from salesline.capacity.simulation import (
    check_run,
    headcount_problems,
    sales_model,
    simulate,
    work_size,
)
from salesline.core.errors import Problem, ValidationFailed

from .common import actor_of

router = Router(tags=["capacity"])

DEFAULTS = {"weeks": 52, "replications": 10, "seed": 0}
#: Estimated events a request may simulate: about 6 s in one process.
MAX_WORK = 2_000_000
#: People per role of a scenario a request may simulate (the engine's own cap is 10,000).
MAX_PEOPLE = 2_000


class RunQuery(Schema):
    weeks: int | None = None
    replications: int | None = None
    seed: int | None = None


def _loc(where: str, key: str) -> tuple[str | int, ...]:
    """A dotted key as a location; the error handler puts "body" in front of body keys."""
    parts = tuple(int(part) if part.isdecimal() else part for part in key.split(".") if part)
    return ("query", *parts) if where == "query" else parts


def _refused(problems) -> ValidationFailed:
    return ValidationFailed(
        "The plan cannot be simulated.",
        [Problem(loc=_loc("body", key), msg=message) for key, message in problems],
    )


@router.post("/simulations", response=dict[str, Any], summary="Simulate a plan's scenarios")
def simulations(
    request: HttpRequest,
    plan: Body[dict[str, Any]],
    run: Query[RunQuery],
) -> dict[str, Any]:
    """The plan object (the planner's keys plus `simulation:` and `scenarios:`); `weeks`
    (default 52), `replications` (10) and `seed` (0) as query parameters or top-level keys of
    the body (the body's win). Answers each scenario's utilisation per role, meetings and won
    deals a week with 95 % intervals, and its constraint."""
    document = dict(plan)
    given: dict[str, tuple[str, Any]] = {}
    for name, default in DEFAULTS.items():
        if name in document:
            given[name] = ("body", document.pop(name))
        elif getattr(run, name) is not None:
            given[name] = ("query", getattr(run, name))
        else:
            given[name] = ("query", default)
    params = {name: value for name, (_, value) in given.items()}
    problems = check_run(**params)
    if problems:
        raise ValidationFailed(
            "The run's parameters are out of range.",
            [Problem(loc=_loc(given[key][0], key), msg=message) for key, message in problems],
        )
    try:
        parsed = parse_plan(document)
        model = sales_model(parsed)
    except PlanInvalid as invalid:
        raise _refused(invalid.problems) from None
    crowded = headcount_problems(parsed, model, MAX_PEOPLE)
    if crowded:
        raise _refused(crowded)
    work = work_size(model, weeks=params["weeks"], replications=params["replications"])
    if work > MAX_WORK:
        where = given["replications"][0]
        raise ValidationFailed(
            "The run is too large.",
            [
                Problem(
                    loc=_loc(where, "replications"),
                    msg=f"{params['weeks']} weeks × {params['replications']} replications of "
                    f"this plan's scenarios is about {work:,.0f} events, more than the "
                    f"{MAX_WORK:,} a request may simulate: give fewer replications or weeks, "
                    "or simulate a saved plan in the background.",
                    type="too_large",
                )
            ],
        )
    return simulate(parsed, processes=1, **params)


@router.get(
    "/observed-stages",
    response=dict[str, Any],
    operation_id="capacity_observed_stages",
    summary="The organisation's observed stages, as a plan's simulation.stages",
)
def observed_stages_read(request: HttpRequest) -> dict[str, Any]:
    """Per open stage of the default pipeline over the last months of its history: `name`,
    `conversion` to the next stage and median `days` in it (working days, at most 365), ready
    to be a plan's `simulation.stages`. `{"stages": null}` when there is no data to observe."""
    actor = actor_of(request)
    require_manage(actor)
    return {"stages": observed_stages(actor)}


def register(api) -> None:
    api.add_router("/capacity", router)
