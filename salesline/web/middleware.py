"""Middleware of the web app and the API."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from salesline.analytics.history_reads import cold_reads_in_background


def history_reads_in_background(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """No request reads a large flow history whole itself: the worker does, and the request
    answers with the progress meanwhile (analytics.history_reads)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        with cold_reads_in_background():
            return get_response(request)

    return middleware
