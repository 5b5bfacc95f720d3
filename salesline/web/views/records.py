"""Record pages: every field, custom fields, related records and the timeline."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from salesline.core.errors import NotFound
from salesline.records import selectors as record_selectors
from salesline.records.fields import KINDS
from salesline.records.services import custom_field_defs

from ..selectors import record_timeline
from ..session import remember_viewed
from .common import kind_of, member_page, page_context


def _display(obj, field) -> object:
    if field.type == "reference":
        related = getattr(obj, field.attr.removesuffix("_id"), None)
        return getattr(related, "name", None) or getattr(related, "email", None)
    return getattr(obj, field.attr)


@member_page
def record_detail(request: HttpRequest, actor, plural: str, record_id: int) -> HttpResponse:
    """Every field, custom fields, and the timeline. Note bodies are text: autoescaped."""
    kind = kind_of(plural)
    try:
        obj = record_selectors.record_get_for(actor=actor, kind=kind, record_id=record_id)
    except NotFound:
        raise Http404("No such record.") from None
    remember_viewed(request, actor=actor, kind=kind, obj=obj)
    kind_def = KINDS[kind]
    fields = [(f.label, _display(obj, f)) for f in kind_def.fields.values()]
    custom = [
        (c.label, (obj.custom_fields or {}).get(c.key)) for c in custom_field_defs(actor, kind)
    ]
    return render(
        request,
        "web/records/detail.html",
        page_context(
            request,
            actor,
            kind=kind_def,
            obj=obj,
            fields=fields,
            custom=custom,
            timeline=record_timeline(actor=actor, kind=kind, obj=obj),
        ),
    )


urlpatterns = [
    path("records/<str:plural>/<int:record_id>/", record_detail, name="record-detail"),
]
