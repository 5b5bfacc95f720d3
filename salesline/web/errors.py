"""The web's one error path: a `DomainError` a view lets through becomes a response here.

Views call the services and do not catch their errors. Every page is wrapped in
`domain_errors` (`member_page` does it), which hands an escaped `DomainError` to
`domain_error_response`:

- `NotFound` is the 404 page (another organisation's object looks like no object at all);
- `PermissionDenied` is the 403 page naming the rule;
- `Preparing` (work the worker is doing first, such as reading a large flow history) is a
  page saying how far it got that looks again by itself;
- a refusal (`ValidationFailed`, `Conflict`, `PreconditionFailed`) is the view's own page
  again, as the view said with `on_refusal` before calling the service: usually its form,
  with `bind_problems` putting each problem beside the input it names.

A refusal that the view did not expect is not hidden: it propagates (a 500 and a log entry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django import forms as django_forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from salesline.core.errors import DomainError, NotFound, PermissionDenied, Preparing, Problem

from .forms import input_name_of
from .session import current_actor

Responder = Callable[[DomainError], HttpResponse]
_RESPONDER = "salesline_on_refusal"


def on_refusal(request: HttpRequest, respond: Responder) -> None:
    """How the current view answers a change the services refuse: `respond(error)` renders
    its page again (with the problems, the status it wants). Set it before the service call."""
    setattr(request, _RESPONDER, respond)


def domain_errors(view):
    """Wrap a page so that a `DomainError` leaving it is answered by `domain_error_response`."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            return domain_error_response(request, error)

    return wrapper


def forbidden_response(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    from .views.common import page_context  # views.common wraps pages with this module

    actor = current_actor(request)
    return render(
        request,
        "web/settings/forbidden.html",
        page_context(request, actor, message=str(error), section=""),
        status=403,
    )


# The reports page each URL belongs to, for the section menu of the page shown meanwhile.
_REPORT_SECTIONS = {"reports": "dashboard", "reports-flow": "flow", "reports-forecast": "forecast"}


def preparing_response(request: HttpRequest, error: Preparing) -> HttpResponse:
    from .views.common import page_context  # views.common wraps pages with this module

    match = request.resolver_match
    template = "web/reports/preparing.html"
    if getattr(request, "htmx", False):
        template += "#progress"  # a filter's partial swap: the notice alone
    response = render(
        request,
        template,
        page_context(
            request,
            current_actor(request),
            section=_REPORT_SECTIONS.get(match.url_name if match else "", ""),
            message=str(error),
            progress=error.progress,
            percent=round(100 * error.progress.get("fraction_done", 0.0)),
            retry_after=error.retry_after,
        ),
        status=error.status,
    )
    response["Retry-After"] = str(error.retry_after)
    return response


def domain_error_response(request: HttpRequest, error: DomainError) -> HttpResponse:
    """The page for a `DomainError` that left a view (see the module's docstring)."""
    if isinstance(error, NotFound):
        raise Http404(str(error) or "Not found.") from error
    if isinstance(error, PermissionDenied):
        return forbidden_response(request, error)
    if isinstance(error, Preparing):
        return preparing_response(request, error)
    respond = getattr(request, _RESPONDER, None)
    if respond is None:
        raise error
    return respond(error)


def problem_lines(error: DomainError) -> list[str]:
    """Every problem of a refusal as a line for the top of a page ("field: message"), or the
    refusal's own message when it names none."""
    if error.problems:
        return [
            (".".join(str(part) for part in p.loc) + ": " if p.loc else "") + p.msg
            for p in error.problems
        ]
    return [str(error)]


def _message(problem: Problem) -> str:
    return problem.msg


def bind_problems(
    form: django_forms.Form | Iterable[Any] | None,
    error: DomainError,
    *,
    field_of: Callable[[Problem], str | None] | None = None,
    message_of: Callable[[Problem], str] = _message,
) -> list[str]:
    """Put each problem of `error` beside the input it names; return the messages that name
    no input of the form (to be shown above it).

    `form` is a Django form (problems become its errors, the rest non-field errors), a list
    of `web.forms.Input` (problems go to `Input.errors`), or None (every message is returned).
    `field_of(problem)` is the input's name, by default the one `web.forms.form_name` gives.
    An error without problems is its message.
    """
    field_of = field_of or input_name_of
    if not error.problems:
        messages = [str(error)]
        if isinstance(form, django_forms.Form):
            form.add_error(None, messages[0])
            return []
        return messages
    if isinstance(form, django_forms.Form):
        for problem in error.problems:
            name = field_of(problem)
            form.add_error(name if name in form.fields else None, message_of(problem))
        return []
    by_name = {i.name: i for i in form or ()}
    general: list[str] = []
    for problem in error.problems:
        target = by_name.get(field_of(problem) or "")
        message = message_of(problem)
        if target is None:
            general.append(message)
        elif message not in target.errors:
            target.errors.append(message)
    return general
