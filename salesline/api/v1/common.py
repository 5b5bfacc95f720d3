"""Authentication, error mapping and ETags: done once for the whole API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja.errors import HttpError
from ninja.parser import Parser
from ninja.security import HttpBearer

from salesline.accounts.services import token_authenticate
from salesline.core import boundedjson
from salesline.core.actors import Actor
from salesline.core.errors import DomainError, PreconditionFailed, Preparing
from salesline.core.ratelimit import RateLimited


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        return token_authenticate(token)


def actor_of(request: HttpRequest) -> Actor:
    return request.auth  # set by BearerToken


class BoundedJsonParser(Parser):
    """Request bodies through core.boundedjson: deep nesting is refused before any validator
    walks it."""

    def parse_body(self, request: HttpRequest) -> Any:
        return boundedjson.loads(request.body)


def http_error_response(api, request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja's HttpError; a body that cannot be parsed says why (ninja only says it cannot)."""
    detail = str(exc)
    cause = exc.__cause__
    if isinstance(cause, boundedjson.JsonTooDeep):
        detail = f"The request body is refused: {cause}."
    elif isinstance(cause, ValueError):  # json.JSONDecodeError, UnicodeDecodeError
        detail = f"The request body is not valid JSON: {cause}."
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


def domain_error_response(api, request: HttpRequest, exc: DomainError) -> HttpResponse:
    if isinstance(exc, Preparing):
        # Like a statistics endpoint still computing: 202, how far it got, when to ask again.
        response = api.create_response(
            request, {"detail": str(exc), "progress": exc.progress}, status=exc.status
        )
        response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, RateLimited):
        response = api.create_response(request, {"detail": str(exc)}, status=exc.status)
        response["Retry-After"] = str(exc.retry_after)
        return response
    if exc.problems:
        detail: Any = [{**p.as_dict(), "loc": _body_loc(p.loc)} for p in exc.problems]
    else:
        detail = str(exc)
    return api.create_response(request, {"detail": detail}, status=exc.status)


def _body_loc(loc: tuple) -> list:
    """Service problems name fields; the API says where they were: body or query."""
    if loc and loc[0] in {"query", "path", "header", "definition"}:
        return list(loc)
    return ["body", *loc]


def validation_error_response(api, request: HttpRequest, exc) -> HttpResponse:
    """ninja's 422, with the internal parameter name dropped from each `loc`."""
    detail = []
    for error in exc.errors:
        loc = list(error.get("loc", []))
        if len(loc) >= 2 and loc[0] == "body" and loc[1] == "payload":
            loc = ["body", *loc[2:]]
        if error.get("type") == "extra_forbidden":
            msg = f"Unknown field '{loc[-1]}'."
        else:
            msg = error.get("msg", "Invalid value.")
        detail.append({"loc": loc, "msg": msg, "type": error.get("type", "invalid")})
    return api.create_response(request, {"detail": detail}, status=422)


def body_too_big_response(api, request: HttpRequest, exc) -> HttpResponse:
    """Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE; say so in JSON, as 413."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return api.create_response(
        request,
        {"detail": f"The request body is too large: the limit is {limit} bytes."},
        status=413,
    )


def out_of_range_response(api, request: HttpRequest, exc) -> HttpResponse:
    """A number no database column can hold (an id of 2**70, say) is the client's error."""
    return api.create_response(
        request,
        {"detail": "A number in the request is out of range (ids and counts are 64-bit)."},
        status=422,
    )


def etag_of(obj) -> str:
    return f'"{obj.pk}-{obj.version}"'


def with_etag(response: HttpResponse, obj) -> HttpResponse:
    response["ETag"] = etag_of(obj)
    return response


def expected_version(request: HttpRequest, obj_id: int) -> int | None:
    """The version an `If-Match` header names; a malformed or foreign tag fails the match."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        pk, _, version = tag.partition("-")
        if pk == str(obj_id) and version.isdecimal():
            return int(version)
    raise PreconditionFailed("If-Match does not name the current version of this record.")
