"""Settings → Jobs: the worker's background jobs and failed event deliveries that concern the
organisation, with their errors and Retry (after a confirmation), and the live workers.

Admins of the organisation only (a salesperson gets the 403 page naming the rule); staff may
also see every organisation's jobs (`?all=1`). Everything goes through core.jobs, the same
functions as the API.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from salesline.core import jobs

from ..errors import on_refusal
from .common import member_page, page_context

JOBS_PER_PAGE = 25
DELIVERIES_SHOWN = 25
MAX_PAGE = 10_000


class JobFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[
            ("", "Any"),
            (jobs.JobStatus.FAILED.value, "Failed (gave up)"),
            (jobs.JobStatus.RETRIED.value, "Attempt failed, retried"),
            (jobs.JobStatus.SCHEDULED.value, "Scheduled"),
            (jobs.JobStatus.READY.value, "Waiting for a worker"),
            (jobs.JobStatus.RUNNING.value, "Running"),
            (jobs.JobStatus.SUCCEEDED.value, "Succeeded"),
        ],
    )
    kind = forms.ChoiceField(label="Kind", required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    all = forms.BooleanField(label="Every organisation's jobs (staff)", required=False)

    def __init__(self, *args, staff: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Any"), *jobs.job_kinds()]
        if not staff:
            del self.fields["all"]


def _query(**params) -> str:
    kept = {key: value for key, value in params.items() if value not in ("", None, False, 1)}
    return f"?{urlencode(kept)}" if kept else ""


@member_page
def job_list_page(request: HttpRequest, actor) -> HttpResponse:
    jobs.require_jobs_access(actor)
    staff = jobs.can_see_everything(actor)
    form = JobFilterForm(request.GET, staff=staff)
    status = 200
    if form.is_valid():
        filters = jobs.JobFilters(
            status=form.cleaned_data["status"], kind=form.cleaned_data["kind"]
        )
        page_number = form.cleaned_data["page"] or 1
        everything = bool(form.cleaned_data.get("all"))
    else:
        filters, page_number, everything, status = jobs.JobFilters(), 1, False, 400
    listed, has_next = jobs.job_list(
        actor=actor,
        filters=filters,
        limit=JOBS_PER_PAGE,
        offset=(page_number - 1) * JOBS_PER_PAGE,
        everything=everything,
    )
    deliveries, more_deliveries = jobs.delivery_list(
        actor=actor, limit=DELIVERIES_SHOWN, everything=everything
    )
    same = {"status": filters.status, "kind": filters.kind, "all": "1" if everything else ""}
    return render(
        request,
        "web/settings/jobs.html",
        page_context(
            request,
            actor,
            section="jobs",
            form=form,
            jobs=listed,
            filtered=bool(filters.status or filters.kind),
            page_number=page_number,
            newer=_query(**same, page=page_number - 1) or "?" if page_number > 1 else "",
            older=_query(**same, page=page_number + 1) if has_next else "",
            deliveries=deliveries,
            more_deliveries=more_deliveries,
            workers=jobs.worker_list(actor=actor),
            everything=everything,
            staff=staff,
        ),
        status=status,
    )


def _everything(request: HttpRequest) -> bool:
    return request.GET.get("all") == "1" or request.POST.get("all") == "1"


@member_page
@require_http_methods(["GET", "POST"])
def job_retry_page(request: HttpRequest, actor, job_id: str) -> HttpResponse:
    """Confirm, then retry a job that gave up; a job that cannot be retried says why."""
    everything = _everything(request) and jobs.can_see_everything(actor)
    job = jobs.job_get_for(actor=actor, job_id=job_id, everything=everything)

    def render_page(status: int, refusal: str = "") -> HttpResponse:
        return render(
            request,
            "web/settings/job_retry.html",
            page_context(
                request,
                actor,
                section="jobs",
                job=job,
                refusal=refusal,
                everything=everything,
            ),
            status=status,
        )

    if request.method != "POST":
        return render_page(200)
    on_refusal(request, lambda error: render_page(error.status, str(error)))
    retry = jobs.job_retry(actor=actor, job_id=job.id, everything=everything)
    messages.success(request, f"{job.label} is queued again, as job {retry.id}.")
    return redirect(reverse("web:settings-jobs") + ("?all=1" if everything else ""))


@member_page
@require_http_methods(["GET", "POST"])
def delivery_retry_page(request: HttpRequest, actor, delivery_id: int) -> HttpResponse:
    """Confirm, then dispatch a failed delivery's event again."""
    everything = _everything(request) and jobs.can_see_everything(actor)
    delivery = jobs.delivery_get_for(actor=actor, delivery_id=delivery_id, everything=everything)

    def render_page(status: int, refusal: str = "") -> HttpResponse:
        return render(
            request,
            "web/settings/delivery_retry.html",
            page_context(
                request,
                actor,
                section="jobs",
                delivery=delivery,
                refusal=refusal,
                everything=everything,
            ),
            status=status,
        )

    if request.method != "POST":
        return render_page(200)
    on_refusal(request, lambda error: render_page(error.status, str(error)))
    jobs.delivery_retry(actor=actor, delivery_id=delivery.id, everything=everything)
    messages.success(
        request,
        f"The {delivery.event_kind} event {delivery.event_id} is dispatched again: its handlers "
        "that failed run once more.",
    )
    return redirect(reverse("web:settings-jobs") + ("?all=1" if everything else ""))


urlpatterns = [
    path("settings/jobs/", job_list_page, name="settings-jobs"),
    path("settings/jobs/<str:job_id>/retry/", job_retry_page, name="settings-job-retry"),
    path(
        "settings/jobs/deliveries/<int:delivery_id>/retry/",
        delivery_retry_page,
        name="settings-delivery-retry",
    ),
]
