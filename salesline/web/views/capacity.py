"""Capacity planning: the saved plans, and each plan's page — the planner form with live results
(htmx recomputes as the manager types, nothing saved until Save), the economics, the
activity-to-role map, the organisation model drawn, and the transition checklist.

Only admins and sales-support managers see these pages (the capacity services' rule; anyone
else gets the 403 page naming it). Every write goes through `salesline.capacity.services`; the
arithmetic is `resourcing.evaluate`, so the page, the API and the CLI always agree. Without
JavaScript, the form's Recompute button does what htmx does as one types.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesline.accounts.selectors import member_list
from salesline.capacity import selectors, services
from salesline.capacity.diagram import org_model_svg
from salesline.capacity.resourcing import (
    ROLE_LABELS,
    ROLES,
    PlanInvalid,
    PlanResult,
    evaluate,
    money,
    parse_plan,
    signed_money,
)
from salesline.capacity.transition import ACTIVITY_ROLES, QUADRANTS
from salesline.core.errors import DomainError, PreconditionFailed

from ..errors import on_refusal
from .common import member_page, page_context

SECTION = "capacity"
NEW_ACTIVITY_ROWS = 1  # blank rows offered in each quadrant


# ---------------------------------------------------------------- the plan file as inputs


@dataclass(frozen=True)
class PlanField:
    key: str  # the plan file's dotted key
    label: str
    kind: str = "number"  # "whole", "number", "fraction" (0..1, "80%" accepted) or "text"
    help: str = ""

    @property
    def name(self) -> str:
        return self.key.replace(".", "-")

    @property
    def input_id(self) -> str:
        return f"plan-{self.name}"


#: The inputs of each step of the chapter's method, in its order (keys of PlanResult.steps).
STEP_FIELDS: dict[str, tuple[PlanField, ...]] = {
    "current": (
        PlanField("current.salespeople", "Salespeople today", "whole"),
        PlanField(
            "current.meetings_per_salesperson",
            "True business-development meetings a week, each",
            help="Counted in the calendars over a month, not estimated.",
        ),
    ),
    "incremental": (
        PlanField("incremental.existing_accounts", "Extra meetings a week from existing accounts"),
        PlanField(
            "incremental.neglected_opportunities",
            "Extra meetings a week from neglected opportunities",
        ),
    ),
    "salespeople": (
        PlanField(
            "capacity_per_salesperson",
            "Meetings a week a salesperson can hold",
            help="With every other task taken off them; the chapter's figure is 20.",
        ),
    ),
    "sales_coordinators": (),
    "project_leaders": (
        PlanField(
            "project_share",
            "Share of opportunities that become projects",
            "fraction",
            "0 to 1 (0.25 or 25%); 0 is a simple environment without project leaders.",
        ),
        PlanField("project_half_days", "Project-leader half-days per project"),
    ),
    "customer_service": (
        PlanField(
            "customer_service.tasks_per_week",
            "Service tasks a week",
            help="The salespeople's former service tasks, inbound orders, delivery updates.",
        ),
        PlanField("customer_service.minutes_per_task", "Minutes per task"),
        PlanField(
            "customer_service.target_utilisation",
            "Target utilisation",
            "fraction",
            "At most 0.8 (80%) keeps protective capacity.",
        ),
    ),
    "promotions_coordinators": (PlanField("language_regions", "Language regions", "whole"),),
    "sales_support_managers": (PlanField("support_locations", "Sales-support locations", "whole"),),
    "sales_manager": (),
}
CURRENCY_FIELD = PlanField("currency", "Currency", "text", "Three letters, e.g. EUR, USD, NOK.")
SALARY_FIELDS = tuple(
    PlanField(f"salaries.{role}", f"{ROLE_LABELS[role]}: yearly salary each") for role in ROLES
)
BEFORE_FIELDS = tuple(
    PlanField(f"before.{role}", f"{ROLE_LABELS[role]}: people today", "whole") for role in ROLES
)
ALL_FIELDS: tuple[PlanField, ...] = (
    *(f for fields in STEP_FIELDS.values() for f in fields),
    CURRENCY_FIELD,
    *SALARY_FIELDS,
    *BEFORE_FIELDS,
)
FIELD_BY_KEY = {f.key: f for f in ALL_FIELDS}
_WHOLE = re.compile(r"^-?\d+$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


def _lookup(document: Any, key: str) -> Any:
    value = document
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.10g}"
    return str(value)


def _parse_number(raw: str, kind: str) -> float | int:
    """A typed figure as the plan file's number; ValueError with the message to show."""
    text = raw.replace(" ", "").replace("\u00a0", "").replace("_", "")
    percent = kind == "fraction" and text.endswith("%")
    if percent:
        text = text[:-1]
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        number: float | int = int(text) if _WHOLE.match(text) else float(text)
    except ValueError:
        example = "0.8 or 80%" if kind == "fraction" else "2 or 2.5"
        raise ValueError(f"Enter a number, such as {example}.") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError("Enter a finite number.")
    return number / 100 if percent else number


@dataclass
class Posted:
    """The planner form as posted: the document it makes (the saved one with the inputs laid
    over it, so keys the form does not show — the simulator's — are kept), the raw inputs to show
    again, and each input's problems."""

    document: dict[str, Any]
    raw: dict[str, str]
    name: str
    measured_month: str
    measured_from: date | None
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, key: str, message: str) -> None:
        # The same problem comes from the page's own parse and from the service's.
        if key in FIELD_BY_KEY or key in ("name", "measured_from"):
            if message not in self.errors.get(key, []):
                self.errors.setdefault(key, []).append(message)
        else:
            text = f"{key}: {message}" if key else message
            if text not in self.general:
                self.general.append(text)


def _read_post(request: HttpRequest, saved: dict[str, Any], name: str) -> Posted:
    document = copy.deepcopy(saved)
    raw: dict[str, str] = {}
    posted = Posted(
        document=document,
        raw=raw,
        name=request.POST.get("name", name).strip(),
        measured_month=request.POST.get("measured_from", "").strip(),
        measured_from=None,
    )
    for plan_field in ALL_FIELDS:
        value = request.POST.get(plan_field.name, "").strip()[:60]
        raw[plan_field.key] = value
        *sections, last = plan_field.key.split(".")
        target = document
        for section in sections:
            if not isinstance(target.get(section), dict):
                target[section] = {}
            target = target[section]
        if not value:
            target.pop(last, None)
            continue
        if plan_field.kind == "text":
            target[last] = value
            continue
        try:
            target[last] = _parse_number(value, plan_field.kind)
        except ValueError as invalid:
            target.pop(last, None)
            posted.add(plan_field.key, str(invalid))
    if posted.measured_month:
        try:
            year, month = (int(part) for part in posted.measured_month.split("-")[:2])
            posted.measured_from = date(year, month, 1)
        except ValueError:
            posted.add("measured_from", "Choose a month, such as 2026-11.")
    return posted


def _field_errors_from(problems: list[tuple[str, str]], posted: Posted) -> None:
    for key, message in problems:
        posted.add(key, message)


# ---------------------------------------------------------------- what the page shows


def _measured(actor, month: date | None) -> dict[str, Any] | None:
    """The calendars' count for `month` (None: the last four complete weeks), as the form
    chose it — a month cleared in the form measures the last four weeks, as saving it would."""
    start, end = selectors.measurement_period(month)
    return selectors.measured_meetings(actor=actor, start=start, end=end)


def _measured_figure(measured: dict[str, Any] | None) -> float | None:
    # Nothing held is no measurement (an empty calendar is not "0 a week").
    if measured and measured.get("meetings"):
        return measured.get("per_salesperson_per_week")
    return None


def _results_context(result: PlanResult | None, measured: dict[str, Any] | None) -> dict:
    """The live results: roles, sensitivity, warnings, economics, the verdict, each step's
    explanation and the measured volume against the entered one."""
    if result is None:
        return {"result": None}
    plan = result.plan
    currency = plan.currency
    economics = [
        {
            "role": row.role,
            "label": row.label,
            "before": row.before,
            "after": row.after,
            "salary": money(row.salary, currency) if row.salary is not None else "—",
            "payroll_before": money(row.payroll_before, currency),
            "payroll_after": money(row.payroll_after, currency),
            "delta": signed_money(row.delta, currency),
            "change": "down" if row.delta < 0 else "up" if row.delta > 0 else "",
        }
        for row in result.economics
        if row.before or row.after
    ]
    figure = _measured_figure(measured)
    difference = None
    if figure is not None:
        difference = round(plan.meetings_per_salesperson - figure, 2)
    ratio = result.project_leader_ratio
    return {
        "result": result,
        "verdict": result.verdict(),
        "roles": [(ROLE_LABELS[role], count) for role, count in result.roles.items()],
        "headcount_before": sum(row.before for row in result.economics),
        "headcount_after": sum(result.roles.values()),
        "leader_ratio": f"{ratio:.2g} : 1" if ratio else None,
        "economics": economics,
        "payroll_before": money(result.payroll_before, currency),
        "payroll_after": money(result.payroll_after, currency),
        "payroll_delta": signed_money(result.payroll_delta, currency),
        "payroll_change": "down"
        if result.payroll_delta < 0
        else "up"
        if result.payroll_delta > 0
        else "",
        "steps": result.steps,
        "measured_figure": figure,
        "measured_difference": difference,
    }


@dataclass
class ActivityRow:
    index: int
    name: str
    quadrant: str
    role: str
    remove: bool = False
    new: bool = False
    errors: list[str] = field(default_factory=list)


def quadrant_key(inside: bool, selling: bool) -> str:
    return f"{'inside' if inside else 'outside'}-{'selling' if selling else 'not-selling'}"


QUADRANT_OF_KEY = {quadrant_key(*key): key for key in QUADRANTS}


def _activity_rows(activities) -> list[ActivityRow]:
    rows = [
        ActivityRow(index=i, name=a.name, quadrant=quadrant_key(a.inside, a.selling), role=a.role)
        for i, a in enumerate(activities)
    ]
    return _with_new_rows(rows)


def _with_new_rows(rows: list[ActivityRow]) -> list[ActivityRow]:
    index = len(rows)
    for key in QUADRANT_OF_KEY:
        for _ in range(NEW_ACTIVITY_ROWS):
            rows.append(ActivityRow(index=index, name="", quadrant=key, role="", new=True))
            index += 1
    return rows


def _quadrants(rows: list[ActivityRow]) -> list[dict]:
    return [
        {
            "key": quadrant_key(*key),
            "label": label,
            "rows": [row for row in rows if row.quadrant == quadrant_key(*key)],
        }
        for key, label in QUADRANTS.items()
    ]


def _diagram(plan, result: PlanResult, activities) -> SafeString:
    svg = org_model_svg(
        result.roles,
        title=f"{plan.name}: the new sales organisation",
        activities=[(a.name, a.role) for a in activities],
    )
    # org_model_svg escapes every text it writes (the plan's and activities' names included:
    # tests/capacity/test_diagram.py), so the drawing itself can go into the page as markup.
    return mark_safe(svg)  # noqa: S308


def _plan_url(plan_id: int) -> str:
    return reverse("web:capacity-plan", args=[plan_id])


def _page(
    request: HttpRequest,
    actor,
    plan_id: int,
    *,
    posted: Posted | None = None,
    version: int | None = None,
    activity_rows: list[ActivityRow] | None = None,
    activity_general: list[str] | None = None,
    transition: dict | None = None,
    step_errors: dict[int, list[str]] | None = None,
    step_posted: dict[int, dict[str, Any]] | None = None,
    conflict: str = "",
    status: int = 200,
) -> HttpResponse:
    view = selectors.plan_view(actor=actor, plan_id=plan_id)
    plan = view.plan
    result: PlanResult | None = view.result
    measured = view.measured
    if posted is not None:
        measured = _measured(actor, posted.measured_from)
        result = _evaluate_posted(posted, measured)
    values = _values(plan, view.result, posted)
    errors = posted.errors if posted else {}
    activity_rows = activity_rows or _activity_rows(view.activities)
    today = timezone.localdate()
    members = [m for m in member_list(actor=actor) if m.is_active]
    steps = []
    for step in view.steps:
        shown = (step_posted or {}).get(step.pk) or {
            "owner": str(step.owner_id or ""),
            "due_date": step.due_date.isoformat() if step.due_date else "",
            "done": step.done_at is not None,
        }
        steps.append(
            {
                "step": step,
                "overdue": step.due_date is not None
                and step.done_at is None
                and step.due_date < today,
                "errors": (step_errors or {}).get(step.pk, []),
                **shown,
            }
        )
    context = page_context(
        request,
        actor,
        section=SECTION,
        plan=plan,
        version=version if version is not None else plan.version,
        posted=posted,
        values=values,
        errors=errors,
        error_summary=_error_summary(errors),
        general=posted.general if posted else [],
        conflict=conflict,
        step_groups=_step_groups(result, values, errors),
        currency_input=_inputs([CURRENCY_FIELD], values, errors)[0],
        staff_inputs=[
            {"label": ROLE_LABELS[role], "before": before, "salary": salary}
            for role, before, salary in zip(
                ROLES,
                _inputs(BEFORE_FIELDS, values, errors),
                _inputs(SALARY_FIELDS, values, errors),
                strict=True,
            )
        ],
        measured=measured,
        measured_month=(
            posted.measured_month
            if posted is not None
            else (plan.measured_from.strftime("%Y-%m") if plan.measured_from else "")
        ),
        hints=view.hints,
        neglected_days=selectors.NEGLECTED_AFTER_DAYS,
        quadrants=_quadrants(activity_rows),
        quadrant_choices=[(quadrant_key(*key), label) for key, label in QUADRANTS.items()],
        activity_count=len(activity_rows),
        activity_roles=list(ACTIVITY_ROLES.items()),
        activity_general=activity_general or [],
        unowned=view.unowned_activities,
        roles_without_activity=[ROLE_LABELS[r] for r in view.roles_without_activity],
        unstaffed=[
            f"{a.name} ({ACTIVITY_ROLES.get(a.role, a.role)})"
            for a in view.activities
            if a.name in view.unstaffed_activities and a.role
        ],
        diagram=_diagram(plan, result or view.result, view.activities),
        transition_steps=steps,
        transition=transition or {"start": today.isoformat(), "owner": "", "errors": {}},
        members=members,
        today=today,
        scenarios_url=reverse("web:capacity-scenarios", args=[plan.pk]),
        **_results_context(result, measured),
    )
    return render(request, "web/capacity/detail.html", context, status=status)


def _inputs(fields, values: dict[str, str], errors: dict[str, list[str]]) -> list[dict]:
    return [
        {"field": f, "value": values.get(f.key, ""), "errors": errors.get(f.key, [])}
        for f in fields
    ]


def _step_groups(
    result: PlanResult | None,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> list[dict]:
    """The form's fieldsets, one per step of the method, each with its explanation (empty
    while the inputs have problems)."""
    titles = {step.key: step for step in result.steps} if result is not None else {}
    groups = []
    for number, (key, fields) in enumerate(STEP_FIELDS.items(), start=1):
        step = titles.get(key)
        groups.append(
            {
                "key": key,
                "number": number,
                "title": step.title if step else STEP_TITLES[key],
                "explanation": step.explanation if step else "",
                "inputs": _inputs(fields, values or {}, errors or {}),
            }
        )
    return groups


STEP_TITLES = {
    "current": "Current weekly business-development volume",
    "incremental": "Readily-achievable incremental volume",
    "salespeople": "Field salespeople",
    "sales_coordinators": "Sales coordinators",
    "project_leaders": "Project leaders",
    "customer_service": "Customer service",
    "promotions_coordinators": "Promotions coordinators",
    "sales_support_managers": "Sales-support managers",
    "sales_manager": "Sales manager",
}


def _error_summary(errors: dict[str, list[str]]) -> list[dict]:
    labels = {
        "name": ("plan-name", "Name"),
        "measured_from": ("plan-measured_from", "Month counted"),
    }
    summary = []
    for key, messages_of_key in errors.items():
        plan_field = FIELD_BY_KEY.get(key)
        input_id, label = (
            (plan_field.input_id, plan_field.label) if plan_field else labels.get(key, ("", key))
        )
        summary.extend({"id": input_id, "label": label, "message": m} for m in messages_of_key)
    return summary


def _values(plan, result: PlanResult, posted: Posted | None) -> dict[str, str]:
    """What each input shows: the posted text, else the saved figure (today's headcount is
    the parsed one: without a `before` section the salespeople measured are the payroll)."""
    if posted is not None:
        return {"name": posted.name, **posted.raw}
    values = {"name": plan.name}
    for plan_field in ALL_FIELDS:
        values[plan_field.key] = _shown(_lookup(plan.document, plan_field.key))
    if plan.document.get("before") is None:
        for role, count in result.plan.before.items():
            values[f"before.{role}"] = _shown(count)
    return values


def _evaluate_posted(posted: Posted, measured: dict[str, Any] | None) -> PlanResult | None:
    # Parsed even when an input is not a number (that key is left out), so that every
    # problem is named at once.
    try:
        plan_input = parse_plan(posted.document)
    except PlanInvalid as invalid:
        _field_errors_from(invalid.problems, posted)
        return None
    if posted.errors or posted.general:
        return None
    return evaluate(plan_input, measured_meetings_per_salesperson=_measured_figure(measured))


# ---------------------------------------------------------------- the list of plans


@member_page
@require_http_methods(["GET", "POST"])
def plan_list(request: HttpRequest, actor) -> HttpResponse:
    name_errors: list[str] = []
    name = ""

    def list_page(status: int = 200, general: list[str] | None = None) -> HttpResponse:
        return render(
            request,
            "web/capacity/list.html",
            page_context(
                request,
                actor,
                section=SECTION,
                plans=list(selectors.plan_list(actor=actor)),
                deleted=list(selectors.plan_list(actor=actor, deleted=True)),
                name=name,
                name_errors=name_errors,
                general=general or [],
            ),
            status=status,
        )

    if request.method != "POST":
        return list_page()
    name = request.POST.get("name", "").strip()[:200]

    def refused(error: DomainError) -> HttpResponse:
        for problem in error.problems:
            name_errors.append(problem.msg)
        return list_page(error.status, [] if error.problems else [str(error)])

    on_refusal(request, refused)
    plan = services.plan_create(actor=actor, data={"name": name})
    messages.success(
        request, f"Plan “{plan.name}” created with the chapter's example activities to edit."
    )
    return redirect(_plan_url(plan.pk))


@member_page
@require_http_methods(["GET", "POST"])
def plan_delete(request: HttpRequest, actor, plan_id: int) -> HttpResponse:
    plan = selectors.plan_get_for(actor=actor, plan_id=plan_id)
    if request.method == "POST":
        services.plan_delete(actor=actor, plan_id=plan.pk)
        messages.success(request, f"Plan “{plan.name}” deleted: restore it below if needed.")
        return redirect("web:capacity")
    return render(
        request,
        "web/capacity/delete.html",
        page_context(request, actor, section=SECTION, plan=plan),
    )


@member_page
@require_POST
def plan_restore(request: HttpRequest, actor, plan_id: int) -> HttpResponse:
    plan = selectors.plan_get_for(actor=actor, plan_id=plan_id, deleted=True)

    def refused(error: DomainError) -> HttpResponse:
        messages.error(request, str(error))
        return redirect("web:capacity")

    on_refusal(request, refused)
    services.plan_restore(actor=actor, plan_id=plan.pk)
    messages.success(request, f"Plan “{plan.name}” restored.")
    return redirect(_plan_url(plan.pk))


# ---------------------------------------------------------------- one plan


@member_page
@require_http_methods(["GET", "POST"])
def plan_detail(request: HttpRequest, actor, plan_id: int) -> HttpResponse:
    plan = selectors.plan_get_for(actor=actor, plan_id=plan_id)
    if request.method != "POST":
        return _page(request, actor, plan.pk)
    posted = _read_post(request, plan.document, plan.name)
    action = request.POST.get("action", "save")
    version_text = request.POST.get("version", "")
    version = int(version_text) if version_text.isdecimal() else None
    if action == "use_measured":
        figure = _measured_figure(_measured(actor, posted.measured_from))
        if figure is not None:
            posted.raw["current.meetings_per_salesperson"] = _shown(figure)
            posted.document.setdefault("current", {})["meetings_per_salesperson"] = figure
            posted.errors.pop("current.meetings_per_salesperson", None)
    if action in ("preview", "use_measured"):
        return _page(request, actor, plan.pk, posted=posted, version=version)
    if not posted.name:
        posted.add("name", "Name is required.")
    if posted.errors or posted.general:
        return _page(request, actor, plan.pk, posted=posted, version=version, status=400)

    def refused(error: DomainError) -> HttpResponse:
        if isinstance(error, PreconditionFailed):
            # Nothing lost: the figures stay as typed; saving again replaces theirs knowingly.
            current = selectors.plan_get_for(actor=actor, plan_id=plan.pk)
            return _page(
                request,
                actor,
                plan.pk,
                posted=posted,
                version=current.version,
                conflict=str(error),
                status=error.status,
            )
        for problem in error.problems:
            loc = [str(part) for part in problem.loc]
            key = ".".join(loc[1:]) if loc and loc[0] == "document" else ".".join(loc)
            posted.add(key, problem.msg)
        if not error.problems:
            posted.general.append(str(error))
        return _page(request, actor, plan.pk, posted=posted, version=version, status=error.status)

    on_refusal(request, refused)
    services.plan_update(
        actor=actor,
        plan_id=plan.pk,
        data={
            "name": posted.name,
            "document": posted.document,
            "measured_from": posted.measured_from,
        },
        version=version,
    )
    messages.success(request, f"Plan “{posted.name}” saved.")
    return redirect(_plan_url(plan.pk))


@member_page
@require_POST
def plan_preview(request: HttpRequest, actor, plan_id: int) -> HttpResponse:
    """The live results for the form as typed (htmx): nothing is saved."""
    plan = selectors.plan_get_for(actor=actor, plan_id=plan_id)
    posted = _read_post(request, plan.document, plan.name)
    measured = _measured(actor, posted.measured_from)
    result = _evaluate_posted(posted, measured)
    context = page_context(
        request,
        actor,
        plan=plan,
        posted=posted,
        errors=posted.errors,
        error_summary=_error_summary(posted.errors),
        general=posted.general,
        measured=measured,
        step_groups=_step_groups(result),
        oob=True,
        diagram=_diagram(plan, result, plan.activities.all()) if result else "",
        **_results_context(result, measured),
    )
    return render(request, "web/capacity/detail.html#live", context)


@member_page
@require_POST
def plan_activities(request: HttpRequest, actor, plan_id: int) -> HttpResponse:
    """The whole activity map saved at once; a refused row is shown again as typed."""
    plan = selectors.plan_get_for(actor=actor, plan_id=plan_id)
    try:
        count = min(int(request.POST.get("activity-count", "0")), services.MAX_ACTIVITIES * 2)
    except ValueError:
        count = 0
    rows: list[ActivityRow] = []
    for index in range(count):
        prefix = f"activity-{index}-"
        if prefix + "name" not in request.POST:
            continue
        quadrant = request.POST.get(prefix + "quadrant", "")
        rows.append(
            ActivityRow(
                index=index,
                name=request.POST.get(prefix + "name", "").strip()[:300],
                quadrant=quadrant if quadrant in QUADRANT_OF_KEY else "",
                role=request.POST.get(prefix + "role", "").strip()[:60],
                remove=request.POST.get(prefix + "remove") == "on",
                new=request.POST.get(prefix + "new") == "1",
            )
        )
    kept = [row for row in rows if not row.remove and not (row.new and not row.name)]
    activities = []
    for row in kept:
        inside, selling = QUADRANT_OF_KEY.get(row.quadrant, (None, None))
        activities.append(
            {"name": row.name, "inside": inside, "selling": selling, "role": row.role or None}
        )

    def refused(error: DomainError) -> HttpResponse:
        general = []
        for problem in error.problems:
            loc = problem.loc
            if len(loc) >= 2 and isinstance(loc[1], int) and loc[1] < len(kept):
                kept[loc[1]].errors.append(problem.msg)
            else:
                general.append(problem.msg)
        if not error.problems:
            general.append(str(error))
        shown = [row for row in rows if not (row.new and not row.name)]
        for row in shown:
            row.quadrant = row.quadrant or "outside-selling"
        return _page(
            request,
            actor,
            plan.pk,
            activity_rows=_with_new_rows(_renumber(shown)),
            activity_general=general,
            status=error.status,
        )

    on_refusal(request, refused)
    services.activities_replace(actor=actor, plan_id=plan.pk, activities=activities)
    messages.success(request, "Activity map saved.")
    return redirect(_plan_url(plan.pk) + "#activities")


def _renumber(rows: list[ActivityRow]) -> list[ActivityRow]:
    for index, row in enumerate(rows):
        row.index = index
        row.new = False
    return rows


@member_page
@require_GET
def plan_diagram(request: HttpRequest, actor, plan_id: int) -> HttpResponse:
    view = selectors.plan_view(actor=actor, plan_id=plan_id)
    svg = org_model_svg(
        view.result.roles,
        title=f"{view.plan.name}: the new sales organisation",
        activities=[(a.name, a.role) for a in view.activities],
    )
    response = HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + svg,
        content_type="image/svg+xml; charset=utf-8",
    )
    filename = slugify(view.plan.name) or f"plan-{view.plan.pk}"
    response["Content-Disposition"] = f'attachment; filename="{filename}-organisation.svg"'
    return response


@member_page
@require_POST
def transition_generate(request: HttpRequest, actor, plan_id: int) -> HttpResponse:
    plan = selectors.plan_get_for(actor=actor, plan_id=plan_id)
    start_text = request.POST.get("start", "").strip()
    owner = request.POST.get("owner", "").strip()
    errors: dict[str, list[str]] = {}
    start = None
    try:
        start = date.fromisoformat(start_text)
    except ValueError:
        errors["start"] = ["Choose the day the transition starts, such as 2027-01-04."]
    owner_id = int(owner) if owner.isdecimal() else None
    if owner and owner_id is None:
        errors["owner"] = ["Choose a member."]
    transition = {"start": start_text, "owner": owner, "errors": errors}
    if errors or start is None:
        return _page(request, actor, plan.pk, transition=transition, status=400)

    def refused(error: DomainError) -> HttpResponse:
        for problem in error.problems:
            errors.setdefault("owner", []).append(problem.msg)
        if not error.problems:
            errors.setdefault("start", []).append(str(error))
        return _page(request, actor, plan.pk, transition=transition, status=error.status)

    on_refusal(request, refused)
    services.transition_generate(actor=actor, plan_id=plan.pk, start=start, owner_id=owner_id)
    messages.success(request, "Transition checklist generated.")
    return redirect(_plan_url(plan.pk) + "#transition")


@member_page
@require_POST
def transition_step(request: HttpRequest, actor, plan_id: int, step_id: int) -> HttpResponse:
    plan = selectors.plan_get_for(actor=actor, plan_id=plan_id)
    owner = request.POST.get("owner", "").strip()
    data = {
        "owner_id": int(owner) if owner.isdecimal() else (owner or None),
        "due_date": request.POST.get("due_date", "").strip() or None,
        "done": request.POST.get("done") == "on",
    }

    def refused(error: DomainError) -> HttpResponse:
        messages_for_step = [problem.msg for problem in error.problems] or [str(error)]
        return _page(
            request,
            actor,
            plan.pk,
            step_errors={step_id: messages_for_step},
            step_posted={
                step_id: {
                    "owner": owner,
                    "due_date": data["due_date"] or "",
                    "done": data["done"],
                }
            },
            status=error.status,
        )

    on_refusal(request, refused)
    step = services.transition_step_update(actor=actor, plan_id=plan.pk, step_id=step_id, data=data)
    messages.success(request, f"Step {step.number}, “{step.title}”, saved.")
    return redirect(_plan_url(plan.pk) + f"#step-{step.pk}")


urlpatterns = [
    path("capacity/", plan_list, name="capacity"),
    path("capacity/<int:plan_id>/", plan_detail, name="capacity-plan"),
    path("capacity/<int:plan_id>/preview/", plan_preview, name="capacity-preview"),
    path("capacity/<int:plan_id>/delete/", plan_delete, name="capacity-delete"),
    path("capacity/<int:plan_id>/restore/", plan_restore, name="capacity-restore"),
    path("capacity/<int:plan_id>/activities/", plan_activities, name="capacity-activities"),
    path("capacity/<int:plan_id>/diagram.svg", plan_diagram, name="capacity-diagram"),
    path(
        "capacity/<int:plan_id>/transition/",
        transition_generate,
        name="capacity-transition",
    ),
    path(
        "capacity/<int:plan_id>/transition/<int:step_id>/",
        transition_step,
        name="capacity-step",
    ),
]
