"""Record lists: the API's parser and selector behind search, filters, sortable columns and
keyset pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from salesline.core.errors import ValidationFailed
from salesline.records import selectors as record_selectors
from salesline.records.fields import KINDS
from salesline.records.filters import ORDERING_FIELDS, parse_list_query
from salesline.records.services import custom_field_defs

from .common import kind_of, member_page, page_context

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


@member_page
def record_list(request: HttpRequest, actor, plural: str) -> HttpResponse:
    """A list with the API's filters, search, ordering and keyset pagination: the same parser,
    the same selector. A bad filter is shown on the page (400), never a 500."""
    kind = kind_of(plural)
    kind_def = KINDS[kind]
    params = request.GET.dict()
    params.setdefault("limit", str(PAGE_SIZE))
    columns = LIST_COLUMNS[kind]
    labels = {
        **{name: field.label for name, field in kind_def.fields.items()},
        **COLUMN_LABELS,
    }
    context = page_context(
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


urlpatterns = [
    path("records/<str:plural>/", record_list, name="record-list"),
]
