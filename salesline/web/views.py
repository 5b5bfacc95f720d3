"""Pages. Views resolve the actor, call services and selectors, and render; nothing else."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from salesline.core.errors import NotFound
from salesline.records.models import ImportJob

from .selectors import my_open_opportunities_by_stage
from .session import current_actor, organisations_of, switch_organisation


def _context(request: HttpRequest, actor, **extra) -> dict:
    return {
        "actor": actor,
        "organisations": organisations_of(request.user),
        **extra,
    }


@login_required
def home(request: HttpRequest) -> HttpResponse:
    actor = current_actor(request)
    if actor is None:
        return render(request, "web/no_organisation.html", status=403)
    stages = my_open_opportunities_by_stage(actor=actor)
    imports = ImportJob.objects.filter(organisation=actor.organisation).order_by("-created_at")[:5]
    return render(
        request,
        "web/home.html",
        _context(request, actor, stages=stages, imports=imports),
    )


@login_required
@require_POST
def organisation_switch(request: HttpRequest) -> HttpResponse:
    try:
        switch_organisation(request, int(request.POST.get("organisation", "0")))
    except (NotFound, ValueError):
        raise Http404("No such organisation.") from None
    return redirect("web:home")
