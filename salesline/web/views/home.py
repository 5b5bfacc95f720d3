"""Home and the organisation switcher."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from salesline.core.errors import NotFound
from salesline.records.importing.services import import_list

from ..selectors import my_open_opportunities_by_stage
from ..session import recently_viewed, switch_organisation
from .common import member_page, page_context


@member_page
def home(request: HttpRequest, actor) -> HttpResponse:
    stages = my_open_opportunities_by_stage(actor=actor)
    imports = import_list(actor=actor, limit=5)
    return render(
        request,
        "web/home.html",
        page_context(
            request,
            actor,
            stages=stages,
            imports=imports,
            recent=recently_viewed(request, actor=actor),
        ),
    )


@login_required
@require_POST
def organisation_switch(request: HttpRequest) -> HttpResponse:
    try:
        switch_organisation(request, int(request.POST.get("organisation", "0")))
    except (NotFound, ValueError):
        raise Http404("No such organisation.") from None
    return redirect("web:home")


urlpatterns = [
    path("", home, name="home"),
    path("organisation/", organisation_switch, name="organisation-switch"),
]
