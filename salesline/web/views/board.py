"""The pipeline board (kanban): a column per stage, cards moved by drag and drop."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from .common import member_page, page_context


@member_page
def board(request: HttpRequest, actor) -> HttpResponse:
    return render(request, "web/placeholder.html", page_context(request, actor, title="Board"))


urlpatterns = [
    path("board/", board, name="board"),
]
