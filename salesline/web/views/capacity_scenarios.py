"""The scenario comparison of a saved capacity plan (/capacity/<id>/scenarios/): a form (weeks,
replications, seed) that starts the simulation in the worker, its progress while it runs (the
page looks again by itself, no JavaScript needed), then the scenarios side by side with their
charts (capacity.scenario_charts), each with its text alternative and its table.

Admins and sales-support managers only (capacity.services.may_manage). The planner's pages
(/capacity/, /capacity/<id>/) link here.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from salesline.capacity.resourcing import ROLE_LABELS
from salesline.capacity.scenario_charts import scenario_charts
from salesline.capacity.selectors import plan_get_for
from salesline.capacity.simulation import SIMULATED_ROLES
from salesline.capacity.simulation_jobs import plan_simulate_start, run_state
from salesline.core.charts import figure_text
from salesline.core.errors import DomainError

from ..errors import bind_problems, on_refusal
from .common import member_page, page_context

PAGE = "web/capacity_scenarios/scenarios.html"
DEFAULTS = {"weeks": 52, "replications": 10, "seed": 0}
#: Seconds between two looks while a run is on.
REFRESH_SECONDS = 2


def _whole(text: str | None) -> int | str:
    """A form's number as int when it is one (the service names the field otherwise)."""
    text = (text or "").strip()
    try:
        return int(text)
    except ValueError:
        return text


def _interval(figure: dict[str, float] | None, *, percent: bool = False, digits: int = 1) -> str:
    if not figure:
        return "—"
    scale, unit = (100, " %") if percent else (1, "")
    return (
        f"{figure['mean'] * scale:.{digits}f}{unit} "
        f"({figure['low'] * scale:.{digits}f}–{figure['high'] * scale:.{digits}f})"
    )


def _scenarios(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Each scenario's figures as the side-by-side table shows them."""
    out = []
    for scenario in answer.get("scenarios", []):
        out.append(
            {
                "name": scenario["name"],
                "people": [
                    (ROLE_LABELS.get(role, role), count)
                    for role, count in scenario.get("roles", {}).items()
                    if count
                ],
                "roles": [
                    {
                        "label": ROLE_LABELS[role],
                        "utilisation": _interval(
                            scenario["utilisation"].get(role), percent=True, digits=0
                        ),
                        "queue": _interval(scenario.get("queue", {}).get(role)),
                        "waiting": _interval(scenario.get("waiting_hours", {}).get(role)),
                        "constraint": role == scenario["constraint"],
                    }
                    for role in SIMULATED_ROLES
                    if role in scenario.get("queue", {}) or role in scenario["utilisation"]
                ],
                "meetings": _interval(scenario["meetings_per_week"]),
                "won": _interval(scenario["won_per_week"], digits=2),
                "constraint": ROLE_LABELS.get(scenario["constraint"], scenario["constraint"]),
                "constraint_reason": scenario.get("constraint_reason", ""),
                # Stored answers from before the rule have no warnings.
                "warnings": scenario.get("warnings", []),
            }
        )
    return out


def _charts(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "key": chart.key,
            "title": chart.title,
            "description": chart.description,
            "spec": chart.spec,
            "spec_json": json.dumps(chart.spec, separators=(",", ":")) if chart.spec else "",
            "columns": chart.columns,
            "rows": [[figure_text(cell) for cell in row] for row in chart.rows],
        }
        for chart in scenario_charts(answer)
    ]


@require_http_methods(["GET", "POST"])
@member_page
def scenarios_page(request: HttpRequest, actor, plan_id: int) -> HttpResponse:
    plan = plan_get_for(actor=actor, plan_id=plan_id)
    values: dict[str, Any] = dict(DEFAULTS)
    simulation = plan.simulation or {}
    values.update((simulation.get("parameters") or {}) if isinstance(simulation, dict) else {})

    def show(status: int = 200, problems: list[str] | None = None, errors=None) -> HttpResponse:
        run = run_state(plan)
        answer = simulation if isinstance(simulation, dict) and simulation.get("scenarios") else {}
        running = bool(run and run.get("status") in ("queued", "running"))
        total = (run or {}).get("total") or 0
        context = page_context(
            request,
            actor,
            plan=plan,
            values=values,
            problems=problems or [],
            errors=errors or {},
            run=run,
            running=running,
            percent=round(100 * (run or {}).get("done", 0) / total) if total else 0,
            refresh=REFRESH_SECONDS,
            answer=answer,
            scenarios=_scenarios(answer) if answer else [],
            charts=_charts(answer) if answer else [],
        )
        return render(request, PAGE, context, status=status)

    if request.method == "POST":
        values = {name: _whole(request.POST.get(name)) for name in DEFAULTS}

        def refused(error: DomainError) -> HttpResponse:
            errors: dict[str, list[str]] = {}
            general = []
            for problem in error.problems:
                name = str(problem.loc[0]) if problem.loc else ""
                if name in DEFAULTS:
                    errors.setdefault(name, []).append(problem.msg)
                else:
                    general.append(f"{'.'.join(map(str, problem.loc))}: {problem.msg}")
            if not error.problems:
                general = bind_problems(None, error)
            return show(status=error.status, problems=general, errors=errors)

        on_refusal(request, refused)
        try:
            plan_simulate_start(actor=actor, plan_id=plan.pk, **values)
        except DomainError as error:
            if error.status == 403 or error.status == 404:
                raise
            return refused(error)
        return redirect("web:capacity-scenarios", plan_id=plan.pk)
    return show()


urlpatterns = [
    path("capacity/<int:plan_id>/scenarios/", scenarios_page, name="capacity-scenarios"),
]
