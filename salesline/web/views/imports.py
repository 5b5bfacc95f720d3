"""Import pages: upload, mapping, dry-run preview, live progress, report, undo."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from .common import member_page, page_context


@member_page
def import_list_page(request: HttpRequest, actor) -> HttpResponse:
    return render(request, "web/placeholder.html", page_context(request, actor, title="Imports"))


urlpatterns = [
    path("imports/", import_list_page, name="imports"),
]
