"""To-do tasks: my tasks, each role's queue, a task's page, a new task, and the buttons that
complete, reopen, cancel and take one (htmx swaps the task in place; without JavaScript they
are plain posts that come back to the page they were pressed on).

Every write is the API's: task_services, with the same problems and rules.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesline.accounts.models import Role
from salesline.accounts.selectors import member_list
from salesline.core.errors import DomainError, PreconditionFailed, ProblemList
from salesline.core.ids import is_id
from salesline.pipeline.models import Opportunity
from salesline.playbooks import task_selectors, task_services, work_selectors
from salesline.playbooks.models import Task
from salesline.records.models import Lead

from ..errors import bind_problems, on_refusal
from ..forms import picker_options
from .common import member_page, page_context
from .work import task_context, work_type_choices

PAGE_SIZE = 25
ROLE_LABELS = dict(Role.choices)
# The list's "Show" choices: what each asks of task_list.
SHOW = {
    "open": {"status": "open"},
    "overdue": {"overdue": True},
    "done": {"status": "done"},
    "cancelled": {"status": "cancelled"},
    "all": {},
}
SHOW_LABELS = {
    "open": "Open",
    "overdue": "Overdue",
    "done": "Done",
    "cancelled": "Cancelled",
    "all": "All",
}
STATUS_WORDS = {"done": "Done", "open": "Reopened", "cancelled": "Cancelled"}


def _task_id(task_id: int) -> int:
    if not is_id(task_id):  # a number past 64 bits in a URL names nothing
        raise Http404("No such task.")
    return task_id


def _next_url(request: HttpRequest, default: str) -> str:
    """Where a button sends the browser back to: the page it was pressed on (same site only)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# ---------------------------------------------------------------- lists


def _queue_tabs(current: str) -> list[dict]:
    tabs = [
        {"label": "My tasks", "url": reverse("web:tasks"), "current": current == ""},
        {"label": "All queues", "url": reverse("web:queues"), "current": False},
    ]
    tabs += [
        {
            "label": f"{label} queue",
            "url": reverse("web:task-queue", args=[role]),
            "current": current == role,
        }
        for role, label in Role.choices
    ]
    return tabs


def _list_page(
    request: HttpRequest, actor, *, queue: str = "", person: int | None = None
) -> HttpResponse:
    """My tasks, a role's queue (`queue`) or a person's (`person`). A role's queue shows the
    open items nobody has taken yet (its other lists: everything of that role's team)."""
    show = request.GET.get("show", "open") or "open"
    raw_page = request.GET.get("page", "1") or "1"
    if person is not None:
        base: dict = {"assignee_id": person}
        label = work_selectors.queue_label(f"user:{person}", work_selectors.people_names(actor))
        heading = f"{label}'s queue"
    elif queue:
        base = {"location": queue} if show in ("open", "overdue") else {"queue": queue}
        label, heading = ROLE_LABELS.get(queue, ""), f"{ROLE_LABELS[queue]} queue"
    else:
        base, label, heading = {"assignee_id": actor.user.pk}, "", "My tasks"
    context = {
        "tabs": _queue_tabs(queue),
        "queue": queue or (f"user:{person}" if person is not None else ""),
        "queue_label": label,
        "show": show,
        "show_choices": list(SHOW_LABELS.items()),
        "heading": heading,
    }

    def refused(error: DomainError) -> HttpResponse:
        return render(
            request,
            "web/tasks/list.html",
            page_context(
                request, actor, **context, items=[], count=0, problems=bind_problems(None, error)
            ),
            status=error.status,
        )

    on_refusal(request, refused)
    problems = ProblemList()
    if show not in SHOW:
        problems.add(("query", "show"), f"Show must be one of: {', '.join(SHOW)}.")
    page = int(raw_page) if raw_page.isascii() and raw_page.isdecimal() else 0
    if not 1 <= page <= 10**6:
        problems.add(("query", "page"), "Page must be a whole number from 1.")
    problems.raise_if_any("The list query is not valid.")
    filters = task_selectors.parse_task_filters(
        {**base, **SHOW[show], "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE}
    )
    items, count = task_selectors.task_list(actor=actor, filters=filters)
    query = f"show={show}"
    return render(
        request,
        "web/tasks/list.html",
        page_context(
            request,
            actor,
            **context,
            items=items,
            count=count,
            page=page,
            previous_query=f"{query}&page={page - 1}" if page > 1 else "",
            next_query=f"{query}&page={page + 1}" if page * PAGE_SIZE < count else "",
            problems=[],
        ),
    )


@member_page
@require_GET
def my_tasks(request: HttpRequest, actor) -> HttpResponse:
    """The tasks assigned to the signed-in member."""
    return _list_page(request, actor)


@member_page
@require_GET
def queue_tasks(request: HttpRequest, actor, role: str) -> HttpResponse:
    """A role's queue: tasks waiting for whoever of that role takes them; or a person's
    (`user:<id>`): the open tasks they have."""
    parsed = task_selectors.parse_location(role)
    if parsed is None:
        raise Http404("No such queue.")
    if parsed[1] is not None:
        if parsed[1] not in work_selectors.people_names(actor):
            raise Http404("No such queue.")
        return _list_page(request, actor, person=parsed[1])
    return _list_page(request, actor, queue=role)


# ---------------------------------------------------------------- one task


@member_page
@require_GET
def task_detail(request: HttpRequest, actor, task_id: int) -> HttpResponse:
    task = task_selectors.task_get_for(actor=actor, task_id=_task_id(task_id))
    return render(
        request,
        "web/tasks/detail.html",
        page_context(request, actor, **task_context(actor, task)),
    )


def _row_response(
    request: HttpRequest, actor, task: Task, *, message: str = "", error: str = ""
) -> HttpResponse:
    """The task as the list shows it after a button (htmx), or the page it was pressed on."""
    listed = request.POST.get("listed", "")
    still_listed = (
        listed in ("", "all")
        or listed == task.status
        or (listed == "overdue" and task_selectors.is_overdue(task))
    )
    if request.htmx:
        fragment = "row" if still_listed or error else "gone"
        return render(
            request,
            f"web/tasks/_task.html#{fragment}",
            {
                "task": task,
                "actor": actor,
                "message": message,
                "error": error,
                "next": request.POST.get("next", ""),
                "listed": listed,
            },
        )
    if error:
        messages.error(request, error)
    elif message:
        messages.success(request, message)
    return redirect(_next_url(request, reverse("web:task-detail", args=[task.pk])))


@member_page
@require_POST
def task_status(request: HttpRequest, actor, task_id: int) -> HttpResponse:
    """Mark done, reopen or cancel: the status the button posts."""
    task = task_selectors.task_get_for(actor=actor, task_id=_task_id(task_id))
    status = request.POST.get("status", "")

    def refused(error: DomainError) -> HttpResponse:
        current = task_selectors.task_get_for(actor=actor, task_id=task.pk)
        reason = "; ".join(p.msg for p in error.problems) or str(error)
        return _row_response(request, actor, current, error=reason)

    on_refusal(request, refused)
    task_services.task_update(actor=actor, task_id=task.pk, data={"status": status})
    task = task_selectors.task_get_for(actor=actor, task_id=task.pk)
    return _row_response(
        request, actor, task, message=f"{STATUS_WORDS.get(task.status, '')}: {task.title}"
    )


@member_page
@require_POST
def task_take(request: HttpRequest, actor, task_id: int) -> HttpResponse:
    """Take a task from a queue. Of two people pressing at once, one gets it; the other is told
    who did."""
    task = task_selectors.task_get_for(actor=actor, task_id=_task_id(task_id))

    def refused(error: DomainError) -> HttpResponse:
        current = task_selectors.task_get_for(actor=actor, task_id=task.pk)
        return _row_response(request, actor, current, error=str(error))

    on_refusal(request, refused)
    task_services.task_claim(actor=actor, task_id=task.pk)
    task = task_selectors.task_get_for(actor=actor, task_id=task.pk)
    return _row_response(request, actor, task, message=f"It is yours: {task.title}")


# ---------------------------------------------------------------- new and edit


class TaskForm(forms.Form):
    """The fields as the services name them; every rule is the service's (so the form's own
    checks are only what a browser could send wrongly: a date that is no date)."""

    title = forms.CharField(label="Title", required=False)
    instructions = forms.CharField(
        label="Instructions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Markdown: **bold**, lists, [links](https://example.org).",
    )
    due_date = forms.DateField(
        label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    assignee_id = forms.ChoiceField(label="Assigned to", required=False)
    queue = forms.ChoiceField(
        label="Queue",
        required=False,
        choices=[("", "No queue"), *Role.choices],
        help_text="A role's queue: whoever of that role takes it. Leave “Assigned to” at "
        "“Nobody yet” to put it there for someone to take.",
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        members = sorted(member_list(actor=actor), key=lambda m: m.label.lower())
        self.fields["assignee_id"].choices = [
            ("", "Nobody yet (me, if no queue)"),
            *[(str(m.user_id), m.label) for m in members if m.is_active],
        ]

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["assignee_id"] = data.get("assignee_id") or None
        for name in ("opportunity_id", "lead_id"):
            if name in data:
                data[name] = data[name] or None
        return data


class WorkItemFields(TaskForm):
    """A new task may be a customer-service work item: a work type (its workflow, checklist,
    queue and tolerance come from the process definition), the date promised to the customer
    and the days of grace."""

    work_type = forms.ChoiceField(
        label="Work type",
        required=False,
        help_text="Orders, issues, requests for quotation: each has its standard workflow and "
        "checklist, and waits in its type's queue unless you give it to someone.",
    )
    promised_date = forms.DateField(
        label="Promised to the customer for",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    tolerance_days = forms.IntegerField(
        label="Tolerance (days)",
        required=False,
        min_value=0,
        help_text="Days after the promised date it still counts as on time (blank: the type's).",
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, actor=actor, **kwargs)
        self.fields["work_type"].choices = [("", "Not a work item"), *work_type_choices(actor)]

    def service_data(self) -> dict:
        data = super().service_data()
        data["work_type"] = data.get("work_type") or ""
        return data


class WorkItemEditForm(TaskForm):
    """A work item's edit form: its promise and tolerance too."""

    promised_date = WorkItemFields.base_fields["promised_date"]
    tolerance_days = WorkItemFields.base_fields["tolerance_days"]


class NewTaskForm(WorkItemFields):
    """A new task may be about an opportunity or a lead, chosen with the record pickers (a
    plain list without JavaScript; combobox.js searches the server). Which one exists is the
    service's to say, naming the field."""

    opportunity_id = forms.CharField(label="Opportunity", required=False, widget=forms.Select)
    lead_id = forms.CharField(label="Lead", required=False, widget=forms.Select)
    PICKERS = {"opportunity_id": "opportunities", "lead_id": "leads"}

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, actor=actor, **kwargs)
        for name, kind in (("opportunity_id", "opportunity"), ("lead_id", "lead")):
            chosen = self.data.get(name, "") if self.is_bound else ""
            self.fields[name].widget.choices = picker_options(actor, kind, chosen)
            self.fields[name].picker = self.PICKERS[name]  # type: ignore[attr-defined]


def _record_of(actor, raw_opportunity: str, raw_lead: str):
    """The opportunity or lead a new task is for (from the record page), or None."""
    for raw, model in ((raw_opportunity, Opportunity), (raw_lead, Lead)):
        if not raw:
            continue
        record = None
        if raw.isascii() and raw.isdecimal() and is_id(int(raw)):
            record = model.objects.filter(
                organisation=actor.organisation, pk=int(raw), deleted_at=None
            ).first()
        if record is None:
            raise Http404("No such record.")
        return record
    return None


def _posted_record(actor, posted):
    """The record a posted form was fixed to (`fixed` set by a record's page), for the page;
    the service checks its id again and names the field if it is not the organisation's."""
    try:
        return _record_of(actor, posted.get("opportunity_id", ""), posted.get("lead_id", ""))
    except Http404:
        return None


def _record_url(record) -> str:
    plural = "opportunities" if isinstance(record, Opportunity) else "leads"
    return reverse("web:record-detail", args=[plural, record.pk])


@member_page
@require_http_methods(["GET", "POST"])
def task_new(request: HttpRequest, actor) -> HttpResponse:
    """A manual task, for oneself, someone or a queue; about a lead or opportunity, fixed when
    made from its page (`?lead_id=`), else chosen with the pickers."""
    posted = request.POST if request.method == "POST" else None
    fixed = posted is not None and posted.get("fixed") == "1"
    if posted is None:
        record = _record_of(
            actor, request.GET.get("opportunity_id", ""), request.GET.get("lead_id", "")
        )
    else:
        record = _posted_record(actor, posted) if fixed else None
    initial = {"assignee_id": str(actor.user.pk)} if actor.user else {}
    if "work_type" in request.GET:  # a work item: it waits in its type's queue
        initial = {"work_type": request.GET["work_type"]}
    form = (WorkItemFields if record or fixed else NewTaskForm)(
        posted, actor=actor, initial=initial
    )
    default_next = _record_url(record) if record else reverse("web:tasks")

    def page(status: int, general: list[str] | None = None) -> HttpResponse:
        return render(
            request,
            "web/tasks/form.html",
            page_context(
                request,
                actor,
                form=form,
                record=record,
                record_kind="opportunity" if isinstance(record, Opportunity) else "lead",
                record_url=_record_url(record) if record else "",
                next=_next_url(request, default_next),
                general=general or [],
                task=None,
            ),
            status=status,
        )

    if request.method == "GET":
        return page(200)
    if not form.is_valid():
        return page(400)

    def refused(error: DomainError) -> HttpResponse:
        return page(error.status, bind_problems(form, error))

    on_refusal(request, refused)
    target = {}
    if posted is not None and fixed:
        target = {
            "opportunity_id": posted.get("opportunity_id") or None,
            "lead_id": posted.get("lead_id") or None,
        }
    task = task_services.task_create(actor=actor, **form.service_data(), **target)
    messages.success(request, f"Task added: {task.title}")
    return redirect(_next_url(request, default_next))


@member_page
@require_http_methods(["GET", "POST"])
def task_edit(request: HttpRequest, actor, task_id: int) -> HttpResponse:
    """Change a task's title, instructions, due date, assignee or queue. The version the form
    was shown with is checked: someone else's change in between is not overwritten."""
    task = task_selectors.task_get_for(actor=actor, task_id=_task_id(task_id))
    initial = {
        "title": task.title,
        "instructions": task.instructions,
        "due_date": task.due_date,
        "assignee_id": str(task.assignee_id or ""),
        "queue": task.queue,
        "promised_date": task.promised_date,
        "tolerance_days": task.tolerance_days,
    }
    posted = request.POST if request.method == "POST" else None
    form = (WorkItemEditForm if task.work_type else TaskForm)(posted, actor=actor, initial=initial)
    record = task.opportunity or task.lead

    def page(status: int, general: list[str] | None = None) -> HttpResponse:
        return render(
            request,
            "web/tasks/form.html",
            page_context(
                request,
                actor,
                form=form,
                record=record,
                record_kind="opportunity" if task.opportunity_id else "lead",
                record_url=_record_url(record) if record else "",
                next="",
                general=general or [],
                task=task,
            ),
            status=status,
        )

    if request.method == "GET":
        return page(200)
    if not form.is_valid():
        return page(400)

    def refused(error: DomainError) -> HttpResponse:
        if isinstance(error, PreconditionFailed):
            return page(409, [str(error)])
        return page(error.status, bind_problems(form, error))

    on_refusal(request, refused)
    raw_version = request.POST.get("version", "")
    if not raw_version.isdecimal():
        raise PreconditionFailed("The form did not say which version of the task it edits.")
    task_services.task_update(
        actor=actor,
        task_id=task.pk,
        data=form.service_data(),
        expected_version=int(raw_version),
    )
    messages.success(request, "Task saved.")
    return redirect("web:task-detail", task.pk)


urlpatterns = [
    path("tasks/", my_tasks, name="tasks"),
    path("tasks/new/", task_new, name="task-new"),
    path("tasks/queue/<str:role>/", queue_tasks, name="task-queue"),
    path("tasks/<int:task_id>/", task_detail, name="task-detail"),
    path("tasks/<int:task_id>/edit/", task_edit, name="task-edit"),
    path("tasks/<int:task_id>/status/", task_status, name="task-status"),
    path("tasks/<int:task_id>/take/", task_take, name="task-take"),
]
