"""Pages. Views resolve the actor, call services and selectors, and render; nothing else."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from salesline.core.errors import NotFound, ValidationFailed
from salesline.records import selectors as record_selectors
from salesline.records.fields import KINDS
from salesline.records.filters import ORDERING_FIELDS, parse_list_query
from salesline.records.importing.services import import_list
from salesline.records.services import custom_field_defs

from .selectors import my_open_opportunities_by_stage, record_timeline
from .session import current_actor, organisations_of, switch_organisation


def member_page(view):
    """A signed-in member's page: the view gets the actor of the session's organisation; a user
    in no organisation is told so (403)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        actor = current_actor(request)
        if actor is None:
            return render(request, "web/no_organisation.html", status=403)
        return view(request, actor, *args, **kwargs)

    return wrapper


def _kind(plural: str) -> str:
    kind = KIND_OF_PLURAL.get(plural)
    if kind is None:
        raise Http404("No such list.")
    return kind


def _context(request: HttpRequest, actor, **extra) -> dict:
    return {
        "actor": actor,
        "organisations": organisations_of(request.user),
        **extra,
    }


@member_page
def home(request: HttpRequest, actor) -> HttpResponse:
    stages = my_open_opportunities_by_stage(actor=actor)
    imports = import_list(actor=actor, limit=5)
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


# The columns a list page shows per kind (API field names); the record page shows them all.
LIST_COLUMNS = {
    "company": ("name", "market", "sector", "segment", "email_domain", "created_at"),
    "person": ("name", "email", "phone", "title", "company__name", "created_at"),
    "lead": ("name", "company_name", "email", "source", "business_unit", "created_at"),
    "opportunity": ("name", "company__name", "stage__name", "value", "expected_close_date"),
}
COLUMN_LABELS = {
    "company__name": "Company",
    "stage__name": "Stage",
    "created_at": "Created",
}
PAGE_SIZE = 50
KIND_OF_PLURAL = {kind.plural: key for key, kind in KINDS.items()}


@member_page
def record_list(request: HttpRequest, actor, plural: str) -> HttpResponse:
    """A list with the API's filters, search, ordering and keyset pagination: the same parser,
    the same selector. A bad filter is shown on the page (400), never a 500."""
    kind = _kind(plural)
    kind_def = KINDS[kind]
    params = request.GET.dict()
    params.setdefault("limit", str(PAGE_SIZE))
    columns = LIST_COLUMNS[kind]
    labels = {
        **{name: field.label for name, field in kind_def.fields.items()},
        **COLUMN_LABELS,
    }
    context = _context(
        request,
        actor,
        kind=kind_def,
        columns=[(c, labels.get(c, c), c in ORDERING_FIELDS[kind]) for c in columns],
        q=params.get("q", ""),
        ordering=params.get("ordering", "name" if params.get("q") else "-created_at"),
        problems=[],
        rows=[],
        page=None,
    )
    try:
        query = parse_list_query(kind_def, params, lambda: custom_field_defs(actor, kind))
    except ValidationFailed as error:
        context["problems"] = [p.msg for p in error.problems] or [str(error)]
        return render(request, "web/records/list.html", context, status=400)
    page = record_selectors.record_list(
        actor=actor, kind=kind, query=query, columns=["id", *columns]
    )
    context["rows"] = [(row["id"], [row.get(c) for c in columns]) for row in page.items]
    context["page"] = page
    if page.next_cursor:
        following = request.GET.copy()
        following["cursor"] = page.next_cursor
        following.pop("offset", None)
        context["next_query"] = following.urlencode()
    return render(request, "web/records/list.html", context)


def _display(obj, field) -> object:
    if field.type == "reference":
        related = getattr(obj, field.attr.removesuffix("_id"), None)
        return getattr(related, "name", None) or getattr(related, "email", None)
    return getattr(obj, field.attr)


@member_page
def record_detail(request: HttpRequest, actor, plural: str, record_id: int) -> HttpResponse:
    """Every field, custom fields, and the timeline. Note bodies are text: autoescaped."""
    kind = _kind(plural)
    try:
        obj = record_selectors.record_get_for(actor=actor, kind=kind, record_id=record_id)
    except NotFound:
        raise Http404("No such record.") from None
    kind_def = KINDS[kind]
    fields = [(f.label, _display(obj, f)) for f in kind_def.fields.values()]
    custom = [
        (c.label, (obj.custom_fields or {}).get(c.key)) for c in custom_field_defs(actor, kind)
    ]
    return render(
        request,
        "web/records/detail.html",
        _context(
            request,
            actor,
            kind=kind_def,
            obj=obj,
            fields=fields,
            custom=custom,
            timeline=record_timeline(actor=actor, kind=kind, obj=obj),
        ),
    )
