"""Work queues, the defect log and the daily work-in-progress review; a task's reassign,
escalate, workflow and checklist buttons. Plain forms (no JavaScript needed); every write is
the API's service, with the same problems and rules."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesline.accounts.models import Role
from salesline.accounts.selectors import member_list
from salesline.core.errors import DomainError
from salesline.core.ids import is_id
from salesline.playbooks import defects as defect_services
from salesline.playbooks import task_selectors, task_services, work_selectors

from ..errors import bind_problems, on_refusal
from .common import member_page, page_context

ROLE_LABELS = dict(Role.choices)
DEFECT_PAGE = 25


def _task_id(task_id: int) -> int:
    if not is_id(task_id):
        raise Http404("No such task.")
    return task_id


def _queue_rows(actor, rows: list[dict]) -> list[dict]:
    people = work_selectors.people_names(actor)
    return [
        {
            **row,
            "label": work_selectors.queue_label(row["queue"], people),
            "url": reverse("web:task-queue", args=[row["queue"]]),
        }
        for row in rows
    ]


# ---------------------------------------------------------------- queues


@member_page
@require_GET
def queues(request: HttpRequest, actor) -> HttpResponse:
    """Every queue: how many open items, how old the oldest, how many past due."""
    rows = _queue_rows(actor, work_selectors.queue_summary(actor=actor))
    return render(
        request,
        "web/work/queues.html",
        page_context(request, actor, rows=rows, total=sum(r["size"] for r in rows)),
    )


# ---------------------------------------------------------------- a task's buttons


class ReassignForm(forms.Form):
    to = forms.ChoiceField(label="Give it to", required=False)
    reason = forms.CharField(
        label="Reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Goes on the record's timeline.",
    )

    def __init__(self, *args, actor, **kwargs):
        kwargs.setdefault("auto_id", "reassign_%s")  # two forms on one page: distinct ids
        super().__init__(*args, **kwargs)
        members = sorted(member_list(actor=actor), key=lambda m: m.label.lower())
        self.fields["to"].choices = [
            ("", "Choose…"),
            *[(f"user:{m.user_id}", m.label) for m in members if m.is_active],
            *[(role, f"{label} queue") for role, label in Role.choices],
        ]


class EscalateForm(forms.Form):
    queue = forms.ChoiceField(
        label="Escalate to", required=False, choices=[("", "Choose…"), *Role.choices]
    )
    reason = forms.CharField(
        label="Reason", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "escalate_%s")
        super().__init__(*args, **kwargs)


def _task_page(request, actor, task, *, status=200, reassign=None, escalate=None, general=None):
    return render(
        request,
        "web/tasks/detail.html",
        page_context(request, actor, **task_context(actor, task, reassign, escalate, general)),
        status=status,
    )


def task_context(actor, task, reassign=None, escalate=None, general=None) -> dict:
    """What the task page shows beyond the task: its workflow, the reassign and escalate
    forms."""
    workflow = []
    if task.work_type:
        kind = task_services.work_type_for(actor.organisation, task.work_type)
        steps = kind.workflow if kind else ()
        current = steps.index(task.workflow_step) if task.workflow_step in steps else -1
        workflow = [
            {"name": step, "state": "done" if i < current else "current" if i == current else ""}
            for i, step in enumerate(steps)
        ]
        work_type_name = kind.name if kind else task.work_type
    else:
        work_type_name = ""
    return {
        "task": task,
        "queue_label": ROLE_LABELS.get(task.queue, ""),
        "workflow": workflow,
        "at_last_step": bool(workflow) and workflow[-1]["state"] == "current",
        "work_type_name": work_type_name,
        "reassign_form": reassign or ReassignForm(actor=actor),
        "escalate_form": escalate or EscalateForm(),
        "general": general or [],
    }


@member_page
@require_http_methods(["GET", "POST"])
def task_reassign(request: HttpRequest, actor, task_id: int) -> HttpResponse:
    """Give a task to someone or put it in a role's queue. Taking it from the person who has
    it asks first (a confirmation page), without JavaScript."""
    task = task_selectors.task_get_for(actor=actor, task_id=_task_id(task_id))
    if request.method == "GET":
        return redirect("web:task-detail", task.pk)
    form = ReassignForm(request.POST, actor=actor)
    form.is_valid()
    target = form.cleaned_data.get("to", "") if hasattr(form, "cleaned_data") else ""
    reason = form.cleaned_data.get("reason", "") if hasattr(form, "cleaned_data") else ""

    def refused(error: DomainError) -> HttpResponse:
        general = bind_problems(None, error)
        return _task_page(request, actor, task, status=error.status, reassign=form, general=general)

    on_refusal(request, refused)
    if not target:
        form.add_error("to", "Choose whom to give it to, or a role's queue.")
        return _task_page(request, actor, task, status=422, reassign=form)
    taken_from = (
        task.assignee if task.assignee_id and target != f"user:{task.assignee_id}" else None
    )
    if taken_from is not None and request.POST.get("confirmed") != "1":
        people = work_selectors.people_names(actor)
        return render(
            request,
            "web/work/confirm_reassign.html",
            page_context(
                request,
                actor,
                task=task,
                to=target,
                to_label=work_selectors.queue_label(target, people),
                reason=reason,
                taken_from=taken_from.full_name or taken_from.email,
            ),
        )
    if target.startswith("user:"):
        task_services.task_reassign(
            actor=actor, task_id=task.pk, assignee_id=target.removeprefix("user:"), reason=reason
        )
    else:
        task_services.task_reassign(actor=actor, task_id=task.pk, queue=target, reason=reason)
    messages.success(request, f"Reassigned: {task.title}")
    return redirect("web:task-detail", task.pk)


@member_page
@require_POST
def task_escalate(request: HttpRequest, actor, task_id: int) -> HttpResponse:
    """Send a task to another role's queue with the reason. Taking it from the person who has
    it asks first."""
    task = task_selectors.task_get_for(actor=actor, task_id=_task_id(task_id))
    form = EscalateForm(request.POST)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})

    def refused(error: DomainError) -> HttpResponse:
        general = bind_problems(form, error)
        return _task_page(request, actor, task, status=error.status, escalate=form, general=general)

    on_refusal(request, refused)
    ready = data.get("queue") and (data.get("reason") or "").strip()
    if task.assignee_id and request.POST.get("confirmed") != "1" and ready:
        return render(
            request,
            "web/work/confirm_escalate.html",
            page_context(
                request,
                actor,
                task=task,
                queue=data.get("queue", ""),
                queue_label=ROLE_LABELS.get(data.get("queue", ""), ""),
                reason=data.get("reason", ""),
                taken_from=task.assignee.full_name or task.assignee.email,
            ),
        )
    task_services.task_escalate(
        actor=actor, task_id=task.pk, queue=data.get("queue"), reason=data.get("reason")
    )
    messages.success(request, f"Escalated to the {ROLE_LABELS[data['queue']]} queue: {task.title}")
    return redirect("web:task-detail", task.pk)


@member_page
@require_POST
def task_advance(request: HttpRequest, actor, task_id: int) -> HttpResponse:
    task = task_selectors.task_get_for(actor=actor, task_id=_task_id(task_id))

    def refused(error: DomainError) -> HttpResponse:
        messages.error(request, str(error))
        return redirect("web:task-detail", task.pk)

    on_refusal(request, refused)
    task = task_services.task_advance(actor=actor, task_id=task.pk)
    messages.success(request, f"Now at: {task.workflow_step}")
    return redirect("web:task-detail", task.pk)


@member_page
@require_POST
def task_checklist(request: HttpRequest, actor, task_id: int) -> HttpResponse:
    """Save the checklist's ticks: every box of the form, ticked or not."""
    task = task_selectors.task_get_for(actor=actor, task_id=_task_id(task_id))
    ticked = set(request.POST.getlist("done"))
    data = [{"item": e["item"], "done": e["item"] in ticked} for e in task.checklist]

    def refused(error: DomainError) -> HttpResponse:
        general = bind_problems(None, error)
        return _task_page(request, actor, task, status=error.status, general=general)

    on_refusal(request, refused)
    task_services.task_update(actor=actor, task_id=task.pk, data={"checklist": data})
    messages.success(request, "Checklist saved.")
    return redirect("web:task-detail", task.pk)


# ---------------------------------------------------------------- defects


class DefectForm(forms.Form):
    found_on = forms.DateField(
        label="Found on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    description = forms.CharField(
        label="What went wrong", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    cause = forms.CharField(label="Cause", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    fix = forms.CharField(label="Fix", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    queue = forms.ChoiceField(label="Queue", required=False, choices=[("", "None"), *Role.choices])
    task_id = forms.CharField(
        label="Task number",
        required=False,
        help_text="Optional: the task or work item it happened on.",
    )
    fixed_on = forms.DateField(
        label="Fixed on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Empty while it is still open.",
    )


class DefectEditForm(DefectForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


def _defect_id(defect_id: int) -> int:
    if not is_id(defect_id):
        raise Http404("No such defect.")
    return defect_id


@member_page
@require_GET
def defects(request: HttpRequest, actor) -> HttpResponse:
    """The defect log, open ones first; `state` open/fixed keeps those, `deleted=1` shows the
    deleted ones (to restore)."""
    raw = request.GET.get("page", "1")
    page = int(raw) if raw.isascii() and raw.isdecimal() and 1 <= int(raw) <= 10**6 else 1
    state = request.GET.get("state", "")
    state = state if state in defect_services.STATES else ""
    deleted = request.GET.get("deleted") == "1"
    rows = defect_services.defect_list(actor=actor, state=state or None, deleted=deleted)
    count = rows.count()
    items = list(rows[(page - 1) * DEFECT_PAGE : page * DEFECT_PAGE])
    query = "deleted=1&" if deleted else (f"state={state}&" if state else "")
    return render(
        request,
        "web/work/defects.html",
        page_context(
            request,
            actor,
            items=items,
            count=count,
            page=page,
            state=state,
            deleted=deleted,
            query=query,
            previous_page=page - 1 if page > 1 else None,
            next_page=page + 1 if page * DEFECT_PAGE < count else None,
        ),
    )


def _defect_form_page(request, actor, form, status: int, general=None, defect=None):
    return render(
        request,
        "web/work/defect_form.html",
        page_context(request, actor, form=form, general=general or [], defect=defect),
        status=status,
    )


@member_page
@require_http_methods(["GET", "POST"])
def defect_new(request: HttpRequest, actor) -> HttpResponse:
    initial = {"task_id": request.GET.get("task_id", "")}
    form = DefectForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "GET":
        return _defect_form_page(request, actor, form, 200)
    if not form.is_valid():
        return _defect_form_page(request, actor, form, 400)

    def refused(error: DomainError) -> HttpResponse:
        return _defect_form_page(request, actor, form, error.status, bind_problems(form, error))

    on_refusal(request, refused)
    data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    defect_services.defect_create(actor=actor, data=data)
    messages.success(request, "Defect logged.")
    return redirect("web:defects")


@member_page
@require_http_methods(["GET", "POST"])
def defect_edit(request: HttpRequest, actor, defect_id: int) -> HttpResponse:
    """Edit a defect: its cause and fix once known, and the day it was fixed (empty reopens
    it). A stale form (someone saved it meanwhile) is refused, with the page to reload."""
    defect = defect_services.defect_get_for(actor=actor, defect_id=_defect_id(defect_id))
    initial = {
        "found_on": defect.found_on,
        "description": defect.description,
        "cause": defect.cause,
        "fix": defect.fix,
        "queue": defect.queue,
        "task_id": defect.task_id or "",
        "fixed_on": defect.fixed_on,
        "version": defect.version,
    }
    form = DefectEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "GET":
        return _defect_form_page(request, actor, form, 200, defect=defect)
    if not form.is_valid():
        return _defect_form_page(request, actor, form, 400, defect=defect)

    def refused(error: DomainError) -> HttpResponse:
        general = bind_problems(form, error)
        return _defect_form_page(request, actor, form, error.status, general, defect=defect)

    on_refusal(request, refused)
    data = dict(form.cleaned_data)
    version = data.pop("version", None)
    data = {k: (None if v == "" else v) for k, v in data.items()}
    defect_services.defect_update(
        actor=actor, defect_id=defect.pk, data=data, expected_version=version
    )
    messages.success(request, "Defect saved.")
    return redirect("web:defects")


@member_page
@require_http_methods(["GET", "POST"])
def defect_delete(request: HttpRequest, actor, defect_id: int) -> HttpResponse:
    """Asks first; a deleted defect can be restored from the log's deleted list."""
    defect = defect_services.defect_get_for(actor=actor, defect_id=_defect_id(defect_id))
    if request.method == "GET":
        return render(
            request, "web/work/defect_delete.html", page_context(request, actor, defect=defect)
        )
    defect_services.defect_delete(actor=actor, defect_id=defect.pk)
    messages.success(request, "Defect deleted. It can be restored from the deleted defects.")
    return redirect("web:defects")


@member_page
@require_POST
def defect_restore(request: HttpRequest, actor, defect_id: int) -> HttpResponse:
    defect_services.defect_restore(actor=actor, defect_id=_defect_id(defect_id))
    messages.success(request, "Defect restored.")
    return redirect("web:defects")


# ---------------------------------------------------------------- the review


@member_page
@require_GET
def review(request: HttpRequest, actor) -> HttpResponse:
    """The daily work-in-progress review (docs/wip-review.md)."""

    def refused(error: DomainError) -> HttpResponse:
        return render(
            request,
            "web/work/review.html",
            page_context(request, actor, review=None, problems=bind_problems(None, error)),
            status=error.status,
        )

    on_refusal(request, refused)
    query = work_selectors.parse_review_query(request.GET)
    result = work_selectors.wip_review(actor=actor, **query)
    people = result.people
    return render(
        request,
        "web/work/review.html",
        page_context(
            request,
            actor,
            review=result,
            queues=_queue_rows(actor, result.queues),
            by_person=[
                {
                    **row,
                    "name": people.get(row["assignee_id"], f"user {row['assignee_id']}"),
                    "pct": work_selectors.pct(row["rate"]),
                }
                for row in result.on_time["by_assignee"]
            ],
            by_queue=[
                {
                    **row,
                    "label": ROLE_LABELS.get(row["queue"], row["queue"]),
                    "pct": work_selectors.pct(row["rate"]),
                }
                for row in result.on_time["by_queue"]
            ],
            yesterday=result.date - dt.timedelta(days=1),
            cases=[
                {**p, "queue_label": work_selectors.queue_label(p["queue"], people)}
                for p in result.problems
            ],
            late_risk=[
                {**r, "queue_label": work_selectors.queue_label(r["queue"], people)}
                for r in result.late_risk
            ],
            problems=[],
        ),
    )


urlpatterns = [
    path("queues/", queues, name="queues"),
    path("review/", review, name="review"),
    path("defects/", defects, name="defects"),
    path("defects/new/", defect_new, name="defect-new"),
    path("defects/<int:defect_id>/", defect_edit, name="defect-edit"),
    path("defects/<int:defect_id>/delete/", defect_delete, name="defect-delete"),
    path("defects/<int:defect_id>/restore/", defect_restore, name="defect-restore"),
    path("tasks/<int:task_id>/reassign/", task_reassign, name="task-reassign"),
    path("tasks/<int:task_id>/escalate/", task_escalate, name="task-escalate"),
    path("tasks/<int:task_id>/advance/", task_advance, name="task-advance"),
    path("tasks/<int:task_id>/checklist/", task_checklist, name="task-checklist"),
]


def work_type_choices(actor) -> list[tuple[str, str]]:
    """The work types of the definition in force, for a select."""
    return [(key, kind.name) for key, kind in work_selectors.work_types_for(actor).items()]
