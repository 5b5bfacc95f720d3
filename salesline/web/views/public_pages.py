"""What the public (no sign-in) network pages share: the network by its slug (404 when there
is none) and the rate limit per visitor's address (429 with Retry-After)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from salesline.core import ratelimit
from salesline.core.errors import NotFound
from salesline.enquiries.models import Network
from salesline.enquiries.network_services import network_by_slug


def public_network(slug: str) -> Network:
    """The network a public page is for; Http404 when there is no such network."""
    try:
        return network_by_slug(slug)
    except NotFound as error:
        raise Http404(str(error)) from error


def rate_limited(
    request: HttpRequest, key: str, limit: int, window: int, template: str
) -> HttpResponse | None:
    """Count this request against the visitor's address under `key`; over `limit` requests in
    `window` seconds answers `template` with 429 and Retry-After (None: go ahead)."""
    try:
        ratelimit.hit(key, ratelimit.client_ip(request), limit=limit, window=window)
    except ratelimit.RateLimited as error:
        response = render(request, template, {"message": str(error)}, status=429)
        response["Retry-After"] = str(error.retry_after)
        return response
    return None
