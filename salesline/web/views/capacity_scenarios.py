"""The scenario comparison of a saved capacity plan (/capacity/<id>/scenarios/): a form (weeks,
replications, seed) that starts the simulation in the worker, its progress while it runs (the
page looks again by itself, no JavaScript needed), then the scenarios side by side with their
charts (capacity.scenario_charts), each with its text alternative and its table.

The page also edits what is simulated, saved into the plan's file with
`capacity.services.plan_update` (the version guards against someone else's change): the
`scenarios:` list (a name and the headcounts that differ from the plan, rows added and removed
without JavaScript; no scenario means the defaults "today" and "plan") and the main
`simulation:` figures (arrivals a week, meeting hours). It shows the stages in use beside the
organisation's observed ones (capacity.selectors.observed_stages) and can write those into
`simulation.stages`.

Admins and sales-support managers only (capacity.services.may_manage). The planner's pages
(/capacity/, /capacity/<id>/) link here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from salesline.capacity import services
from salesline.capacity.resourcing import (
    DEFAULT_STAGES,
    ROLE_LABELS,
    ROLES,
    PlanInvalid,
    evaluate,
    parse_plan,
)
from salesline.capacity.scenario_charts import scenario_charts
from salesline.capacity.selectors import observed_stages, plan_get_for
from salesline.capacity.simulation import MAX_SCENARIOS, SIMULATED_ROLES, sales_model
from salesline.capacity.simulation_jobs import plan_simulate_start, run_state
from salesline.core.charts import figure_text
from salesline.core.errors import DomainError, PreconditionFailed, Preparing

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


# ---------------------------------------------------------------- what is simulated

#: The main `simulation:` figures the editor shows: input name -> the dotted key in the file.
SIMULATION_FIELDS = {
    "simulation-promotions": "simulation.arrivals_per_week.promotions",
    "simulation-existing_accounts": "simulation.arrivals_per_week.existing_accounts",
    "simulation-meeting_hours": "simulation.meeting_hours",
}
SIMULATION_LABELS = {
    "simulation-promotions": "New opportunities a week from promotions",
    "simulation-existing_accounts": "Opportunities a week from existing accounts",
    "simulation-meeting_hours": "Hours a meeting takes, travel included",
}
#: Rows a post may carry (the simulator refuses more than MAX_SCENARIOS scenarios by name).
MAX_ROWS = MAX_SCENARIOS + 5


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class Editor:
    """The scenario editor as shown: the raw values (typed or saved), errors per input name."""

    simulation: dict[str, str]
    rows: list[dict[str, Any]]  # {"name": str, "roles": {role: str}}
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def _saved_editor(document: dict[str, Any]) -> Editor:
    simulation = document.get("simulation") or {}
    arrivals = simulation.get("arrivals_per_week") or {}
    return Editor(
        simulation={
            "simulation-promotions": _shown(arrivals.get("promotions")),
            "simulation-existing_accounts": _shown(arrivals.get("existing_accounts")),
            "simulation-meeting_hours": _shown(simulation.get("meeting_hours")),
        },
        rows=[
            {
                "name": str(item.get("name") or ""),
                "roles": {role: _shown((item.get("roles") or {}).get(role)) for role in ROLES},
            }
            for item in document.get("scenarios") or []
            if isinstance(item, dict)
        ],
    )


def _posted_editor(post) -> Editor:
    """The rows as typed; a removed row and a wholly blank one are dropped."""
    count_text = (post.get("scenario-count") or "0").strip()
    count = min(int(count_text), MAX_ROWS) if count_text.isdecimal() else 0
    rows = []
    for index in range(count):
        if post.get(f"scenario-{index}-remove"):
            continue
        row = {
            "name": (post.get(f"scenario-{index}-name") or "").strip(),
            "roles": {role: (post.get(f"scenario-{index}-{role}") or "").strip() for role in ROLES},
        }
        if row["name"] or any(row["roles"].values()):
            rows.append(row)
    return Editor(
        simulation={name: (post.get(name) or "").strip() for name in SIMULATION_FIELDS},
        rows=rows,
    )


def _document_from(editor: Editor, document: dict[str, Any]) -> dict[str, Any]:
    """The plan file with the editor's sections; the other `simulation:` keys (stages, meetings
    a day, coordination minutes) are kept. Unreadable numbers are named on the editor."""
    simulation = dict(document.get("simulation") or {})
    arrivals = dict(simulation.get("arrivals_per_week") or {})
    for name, key in SIMULATION_FIELDS.items():
        text = editor.simulation[name]
        value = _number(text) if text else None
        if text and value is None:
            editor.add(name, "Must be a number such as 12 or 1.5 (or blank for the default).")
        target, last = (
            (arrivals, key.rsplit(".", 1)[1])
            if "arrivals_per_week" in key
            else (simulation, key.rsplit(".", 1)[1])
        )
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    if arrivals:
        simulation["arrivals_per_week"] = arrivals
    else:
        simulation.pop("arrivals_per_week", None)
    scenarios = []
    for index, row in enumerate(editor.rows):
        if not row["name"]:
            editor.add(f"scenario-{index}-name", "Name the scenario, or clear its row.")
        roles = {}
        for role, text in row["roles"].items():
            if not text:
                continue
            value = _number(text)
            if value is None:
                editor.add(f"scenario-{index}-{role}", "Must be a whole number of people.")
            else:
                roles[role] = value
        scenarios.append({"name": row["name"], "roles": roles})
    changed = {
        key: value for key, value in document.items() if key not in ("simulation", "scenarios")
    }
    if simulation:
        changed["simulation"] = simulation
    if scenarios:
        changed["scenarios"] = scenarios
    return changed


def _input_of(key: str) -> str | None:
    """The editor's input for a dotted key of the plan file, if it has one."""
    for name, dotted in SIMULATION_FIELDS.items():
        if key == dotted:
            return name
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "scenarios" and parts[2] == "name":
        return f"scenario-{parts[1]}-name"
    if len(parts) == 4 and parts[0] == "scenarios" and parts[2] == "roles":
        return f"scenario-{parts[1]}-{parts[3]}"
    return None


def _bind(editor: Editor, problems: list[tuple[str, str]]) -> None:
    for key, message in problems:
        name = _input_of(key)
        if name in editor.errors:
            continue  # already named by the editor's own reading
        if name is not None:
            editor.add(name, message[0].upper() + message[1:] if message else message)
        else:
            editor.general.append(f"{key}: {message}")


def _editor_context(editor: Editor, document: dict[str, Any]) -> dict[str, Any]:
    """Rows and inputs ready for the template, the plan's own figures as placeholders."""
    try:
        parsed = parse_plan(document)
        planned = dict(evaluate(parsed).roles)
        model = sales_model(parsed)
        defaults = {
            "simulation-promotions": f"{model.promotions_per_week:.1f}",
            "simulation-existing_accounts": f"{model.existing_accounts_per_week:.1f}",
            "simulation-meeting_hours": _shown(model.meeting_hours),
        }
    except PlanInvalid:
        planned, defaults = {}, {}
    rows = list(editor.rows)
    if len(rows) < MAX_SCENARIOS:
        rows.append({"name": "", "roles": dict.fromkeys(ROLES, ""), "blank": True})
    shown = []
    for index, row in enumerate(rows):
        number = index + 1
        shown.append(
            {
                "index": index,
                "blank": row.get("blank", False),
                "name": {
                    "name": f"scenario-{index}-name",
                    "value": row["name"],
                    "label": f"Name of scenario {number}",
                    "errors": editor.errors.get(f"scenario-{index}-name", []),
                },
                "roles": [
                    {
                        "name": f"scenario-{index}-{role}",
                        "value": row["roles"].get(role, ""),
                        "label": f"{ROLE_LABELS[role]} in scenario {number}",
                        "placeholder": _shown(planned.get(role, "")),
                        "errors": editor.errors.get(f"scenario-{index}-{role}", []),
                    }
                    for role in ROLES
                ],
            }
        )
    return {
        "editor_rows": shown,
        "editor_count": len(rows),
        "editor_roles": [ROLE_LABELS[role] for role in ROLES],
        "editor_full": len(editor.rows) >= MAX_SCENARIOS,
        "editor_inputs": [
            {
                "name": name,
                "label": SIMULATION_LABELS[name],
                "value": editor.simulation[name],
                "placeholder": defaults.get(name, ""),
                "errors": editor.errors.get(name, []),
            }
            for name in SIMULATION_FIELDS
        ],
        "editor_general": editor.general,
        "editor_invalid": bool(editor.errors or editor.general),
        "max_scenarios": MAX_SCENARIOS,
    }


def _stages_context(actor, document: dict[str, Any], *, observe: bool) -> dict[str, Any]:
    """The stages in use (entered, or the defaults) and the observed ones when there are any.
    `observe` False skips reading the pipeline's history (the page looks again every few
    seconds while a run is on)."""
    entered = (document.get("simulation") or {}).get("stages")
    preparing = False
    observed = None
    try:
        observed = observed_stages(actor) if observe else None
    except Preparing:
        preparing = True
    return {
        "stages_entered": bool(entered),
        "stages_in_use": [_stage_row(stage) for stage in (entered or DEFAULT_STAGES)],
        "stages_observed": [_stage_row(stage) for stage in observed or []],
        "stages_preparing": preparing,
    }


def _stage_row(stage: dict[str, Any]) -> dict[str, str]:
    return {
        "name": str(stage.get("name", "")),
        "conversion": f"{100 * float(stage.get('conversion', 0)):.0f} %",
        "days": _shown(stage.get("days", 0)),
        "meetings": _shown(stage.get("meetings", 1)),
    }


@require_http_methods(["GET", "POST"])
@member_page
def scenarios_page(request: HttpRequest, actor, plan_id: int) -> HttpResponse:
    plan = plan_get_for(actor=actor, plan_id=plan_id)
    values: dict[str, Any] = dict(DEFAULTS)
    simulation = plan.simulation or {}
    values.update((simulation.get("parameters") or {}) if isinstance(simulation, dict) else {})

    def show(
        status: int = 200,
        problems: list[str] | None = None,
        errors=None,
        editor: Editor | None = None,
        version: int | None = None,
        conflict: str = "",
    ) -> HttpResponse:
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
            version=version if version is not None else plan.version,
            conflict=conflict,
            **_editor_context(editor or _saved_editor(plan.document), plan.document),
            **_stages_context(actor, plan.document, observe=not running),
            stages_observe=not running,
        )
        return render(request, PAGE, context, status=status)

    action = request.POST.get("action", "simulate") if request.method == "POST" else ""
    if action in ("save_scenarios", "add_scenario", "use_observed"):
        version_text = request.POST.get("version", "")
        version = int(version_text) if version_text.isdecimal() else None
        editor = _posted_editor(request.POST)
        if action == "add_scenario":
            return show(editor=editor, version=version)  # one more blank row, nothing saved
        if action == "use_observed":
            editor = None
            stages = observed_stages(actor)
            if not stages:
                return show(status=422, problems=["There are no observed stages to use yet."])
            section = {**(plan.document.get("simulation") or {}), "stages": stages}
            document = {**plan.document, "simulation": section}
        else:
            document = _document_from(editor, plan.document)
            try:  # the simulator's own checks too, so that every problem shows at once
                sales_model(parse_plan(document))
            except PlanInvalid as invalid:
                _bind(editor, invalid.problems)
            if editor.errors or editor.general:
                return show(status=422, editor=editor, version=version)

        def refused_edit(error: DomainError) -> HttpResponse:
            if isinstance(error, PreconditionFailed):
                # Nothing lost: the rows stay as typed; saving again replaces theirs knowingly.
                current = plan_get_for(actor=actor, plan_id=plan.pk)
                return show(
                    status=error.status, editor=editor, version=current.version, conflict=str(error)
                )
            problems = [(".".join(str(part) for part in p.loc[1:]), p.msg) for p in error.problems]
            if editor is None:
                return show(status=error.status, problems=[f"{k}: {m}" for k, m in problems])
            _bind(editor, problems)
            if not error.problems:
                editor.general.append(str(error))
            return show(status=error.status, editor=editor, version=version)

        on_refusal(request, refused_edit)
        services.plan_update(
            actor=actor, plan_id=plan.pk, data={"document": document}, version=version
        )
        messages.success(
            request,
            "The observed stages are in use."
            if action == "use_observed"
            else "The scenarios and the simulation figures are saved.",
        )
        return redirect("web:capacity-scenarios", plan_id=plan.pk)

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
