"""Global search across companies, people, leads and opportunities: results as you type."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from salesline.core.errors import ValidationFailed
from salesline.records import selectors as record_selectors
from salesline.records.fields import KINDS
from salesline.records.filters import parse_list_query
from salesline.records.services import custom_field_defs

from .common import member_page, page_context

PER_KIND = 5
SEARCH_KINDS = ("company", "person", "lead", "opportunity")


def search_groups(actor, q: str, per_kind: int = PER_KIND) -> list[dict]:
    """For each kind, the first records a word of which starts with each word of q, whole-name
    matches first (the lists' own search and indexes): names only."""
    groups = []
    for kind in SEARCH_KINDS:
        kind_def = KINDS[kind]
        try:
            query = parse_list_query(
                kind_def,
                {"q": q, "limit": str(per_kind), "ordering": "name"},
                lambda kind=kind: custom_field_defs(actor, kind),
            )
        except ValidationFailed:
            continue
        page = record_selectors.record_list(
            actor=actor, kind=kind, query=query, columns=["id", "name"]
        )
        groups.append({"kind": kind_def, "rows": page.items, "more": bool(page.next_cursor)})
    return groups


@member_page
def global_search(request: HttpRequest, actor) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    groups = search_groups(actor, q) if q else []
    context = page_context(request, actor, q=q, groups=groups)
    if request.htmx:
        return render(request, "web/search/_results.html", context)
    return render(request, "web/search/page.html", context)


urlpatterns = [
    path("search/", global_search, name="search"),
]
