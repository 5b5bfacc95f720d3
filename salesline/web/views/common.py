"""What every page shares: the signed-in member's actor, the page context, the kind of a URL."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from salesline.records.fields import KINDS

from ..errors import domain_errors
from ..session import current_actor, organisations_of

KIND_OF_PLURAL = {kind.plural: key for key, kind in KINDS.items()}


def member_page(view):
    """A signed-in member's page: the view gets the actor of the session's organisation; a user
    in no organisation is told so (403). A `DomainError` the view lets through is answered by
    `web.errors.domain_errors`, the web's one error path."""

    @login_required
    @domain_errors
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        actor = current_actor(request)
        if actor is None:
            return render(request, "web/no_organisation.html", status=403)
        return view(request, actor, *args, **kwargs)

    return wrapper


def kind_of(plural: str) -> str:
    """The record kind a URL names ('leads' -> 'lead'); 404 for anything else."""
    kind = KIND_OF_PLURAL.get(plural)
    if kind is None:
        raise Http404("No such list.")
    return kind


def page_context(request: HttpRequest, actor, **extra) -> dict:
    """The context base.html needs (actor, organisations for the switcher) plus the page's own."""
    return {
        "actor": actor,
        "organisations": organisations_of(request.user),
        **extra,
    }
