"""Settings: custom fields, members and roles, API tokens, the process definition."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from .common import member_page, page_context


@member_page
def settings_home(request: HttpRequest, actor) -> HttpResponse:
    return render(request, "web/placeholder.html", page_context(request, actor, title="Settings"))


urlpatterns = [
    path("settings/", settings_home, name="settings"),
]
