"""Home and the organisation switcher."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, path, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from salesline.core.ids import is_id
from salesline.playbooks import work_selectors
from salesline.records.importing.services import import_list
from salesline.scheduling import appointment_selectors

from ..errors import domain_errors
from ..selectors import my_attention, my_open_opportunities_by_stage
from ..session import recently_viewed, switch_organisation
from .common import member_page, page_context
from .imports import STATUS_TEXT


@member_page
def home(request: HttpRequest, actor) -> HttpResponse:
    stages = my_open_opportunities_by_stage(actor=actor)
    # Each import with its status in words, as the imports pages say it.
    imports = [
        (job, STATUS_TEXT.get(job.status, job.status)) for job in import_list(actor=actor, limit=5)
    ]
    return render(
        request,
        "web/home.html",
        page_context(
            request,
            actor,
            stages=stages,
            attention=my_attention(actor=actor),
            imports=imports,
            recent=recently_viewed(request, actor=actor),
            team_on_time=work_selectors.team_on_time_pct(actor=actor),
            my_queues=queue_links(actor, work_selectors.my_queues(actor=actor)),
            upcoming=appointment_selectors.upcoming_for(actor=actor),
        ),
    )


def queue_links(actor, rows: list[dict]) -> list[dict]:
    people = work_selectors.people_names(actor)
    return [
        {
            **row,
            "label": work_selectors.queue_label(row["queue"], people),
            "url": reverse("web:task-queue", args=[row["queue"]]),
            "mine": actor.user is not None and row["queue"] == f"user:{actor.user.pk}",
        }
        for row in rows
    ]


@login_required
@domain_errors
@require_POST
def organisation_switch(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("organisation", "")
    if not raw.isascii() or not raw.isdecimal() or not is_id(int(raw)):
        raise Http404("No such organisation.")
    switch_organisation(request, int(raw))  # NotFound: the error path's 404
    return redirect(_same_page(request, request.POST.get("next", "")))


def _same_page(request: HttpRequest, page: str) -> str:
    """Where a switch of organisation lands: the page it was made on when every organisation
    has it (a list, the board, settings), else the nearest page above it that every one has
    (a record's page → its list), else home."""
    allowed = url_has_allowed_host_and_scheme(
        page, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    where = urlsplit(page).path if allowed and page.startswith("/") else ""
    while where.startswith("/") and where != "/":
        try:
            match = resolve(where)
        except Resolver404:
            match = None
        if (
            match
            and match.namespace == "web"
            and not any(isinstance(value, int) for value in match.kwargs.values())
        ):
            return where
        where = where.rstrip("/").rpartition("/")[0] + "/"
    return reverse("web:home")


urlpatterns = [
    path("", home, name="home"),
    path("organisation/", organisation_switch, name="organisation-switch"),
]
