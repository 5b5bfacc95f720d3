"""Fixed-window rate limits in Django's cache, for public endpoints (the booking pages).

The production settings share the cache between every process (the database's table or Redis,
CACHE_URL), so a limit holds across app servers; in development each process counts on its own
(docs/deployment.md, "The shared cache")."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.http import HttpRequest

from .errors import DomainError


class RateLimited(DomainError):
    """Too many requests: `retry_after` seconds until the window ends."""

    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def client_ip(request: HttpRequest) -> str:
    """The address the request came from. Behind a proxy, the deployment sets REMOTE_ADDR from
    its trusted forwarding header (docs/deployment.md); a client-sent header is not trusted."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def hit(scope: str, key: str, *, limit: int, window: int) -> None:
    """Count one request of `key` in `scope`; RateLimited past `limit` in `window` seconds."""
    now = int(time.time())
    start = now - now % window
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}:{start}"
    if cache.add(cache_key, 1, timeout=window + 5):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=window + 5)
            count = 1
    if count > limit:
        retry_after = max(1, start + window - now)
        raise RateLimited(
            f"Too many requests from your address: try again in {_duration(retry_after)}.",
            retry_after=retry_after,
        )


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
