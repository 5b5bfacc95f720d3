"""The message composer on an opportunity's or a lead's page: draft from a template, edit,
preview, send (after a confirmation) or save the draft; retry a failed message.

Every form works without JavaScript (plain posts and redirects); with htmx the preview is
swapped in place. Message text is shown escaped, never as HTML.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from salesline.core.errors import Conflict, DomainError
from salesline.core.ids import is_id
from salesline.playbooks import message_selectors, message_services

from ..errors import bind_problems, on_refusal
from .common import member_page, page_context

# The record a message is about: (kind, plural) by the message's field.
RECORD_PLURALS = {"opportunity": "opportunities", "lead": "leads"}


def _message_or_404(actor, message_id: int):
    if not is_id(message_id):
        raise Http404("No such message.")
    return message_selectors.message_get_for(actor=actor, message_id=message_id)


def record_url(message) -> str:
    """The page of the record the message is about, at its Messages section."""
    kind = "opportunity" if message.opportunity_id else "lead"
    record_id = message.opportunity_id or message.lead_id
    if record_id is None:
        # About no record (an internal meeting's invitation): back to the calendar.
        return reverse("web:calendar")
    return f"{reverse('web:record-detail', args=[RECORD_PLURALS[kind], record_id])}#messages"


def _record_of(message):
    return message.opportunity if message.opportunity_id else message.lead


def _split_to(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").replace("\n", ",").split(",")]


def _posted(request: HttpRequest) -> dict:
    return {
        "to": _split_to(request.POST.get("to", "")),
        "subject": request.POST.get("subject", ""),
        "body": request.POST.get("body", "").replace("\r\n", "\n"),
    }


def _compose_context(
    request, actor, message, *, values=None, errors=None, general=(), preview=False
):
    values = values or {
        "to": list(message.to),
        "subject": message.subject,
        "body": message.body,
    }
    return page_context(
        request,
        actor,
        message=message,
        record=_record_of(message),
        back=record_url(message),
        to_text=", ".join(a for a in values["to"] if a),
        subject=values["subject"],
        body=values["body"],
        errors=errors or {},
        general=list(general),
        preview=preview,
    )


def _field_errors(error: DomainError) -> tuple[dict[str, list[str]], list[str]]:
    """Problems by form field (to, subject, body); the rest for above the form."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in error.problems:
        name = str(problem.loc[0]) if problem.loc else ""
        if name in ("to", "subject", "body"):
            by_field.setdefault(name, []).append(problem.msg)
        else:
            general.append(problem.msg)
    if not error.problems:
        general.append(str(error))
    return by_field, general


def _new(request: HttpRequest, actor, plural: str, record_id: int) -> HttpResponse:
    kind = {"opportunities": "opportunity", "leads": "lead"}.get(plural)
    if kind is None or not is_id(record_id):
        raise Http404("No such record.")
    back = f"{reverse('web:record-detail', args=[plural, record_id])}#messages"

    def refused(error):
        for message in bind_problems(None, error):
            flash.error(request, message)
        return redirect(back)

    on_refusal(request, refused)
    message = message_services.message_draft(
        actor=actor,
        template_key=request.POST.get("template", ""),
        **{f"{kind}_id": record_id},
    )
    return redirect("web:message-compose", message.pk)


def _compose(request: HttpRequest, actor, message_id: int) -> HttpResponse:
    message = _message_or_404(actor, message_id)
    if request.method == "GET" or message.status != "draft":
        return render(
            request, "web/messages/compose.html", _compose_context(request, actor, message)
        )
    values = _posted(request)
    action = request.POST.get("action", "save")
    if action == "preview":
        context = _compose_context(request, actor, message, values=values, preview=True)
        if request.htmx:
            return render(request, "web/messages/compose.html#preview", context)
        return render(request, "web/messages/compose.html", context)

    def refused(error):
        errors, general = _field_errors(error)
        context = _compose_context(
            request, actor, message, values=values, errors=errors, general=general
        )
        return render(request, "web/messages/compose.html", context, status=400)

    on_refusal(request, refused)
    message_services.message_update(
        actor=actor, message_id=message.pk, data=values, expected_version=_version(request)
    )
    if action == "send":
        return redirect("web:message-send", message.pk)
    flash.success(request, "Draft saved.")
    return redirect(record_url(message))


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdecimal() else None


def _send(request: HttpRequest, actor, message_id: int) -> HttpResponse:
    """GET: the confirmation (what goes to whom); POST: queue it for the worker."""
    message = _message_or_404(actor, message_id)
    if request.method == "GET":
        return render(
            request,
            "web/messages/send.html",
            page_context(request, actor, message=message, back=record_url(message)),
        )

    def refused(error):
        text = (
            "This message was sent already."
            if isinstance(error, Conflict)
            else "; ".join(bind_problems(None, error))
        )
        flash.error(request, text)
        return redirect(record_url(message))

    on_refusal(request, refused)
    message_services.message_send(actor=actor, message_id=message.pk)
    flash.success(request, f"“{message.subject}” is queued: it goes out in a moment.")
    return redirect(record_url(message))


def _cancel(request: HttpRequest, actor, message_id: int) -> HttpResponse:
    message = _message_or_404(actor, message_id)
    back = record_url(message)

    def refused(error):
        flash.error(request, str(error))
        return redirect(back)

    on_refusal(request, refused)
    message_services.message_cancel(actor=actor, message_id=message.pk)
    flash.success(request, "Draft thrown away.")
    return redirect(back)


def _wrapped(view, methods):
    return require_http_methods(methods)(member_page(view))


message_new = _wrapped(_new, ["POST"])
message_compose = _wrapped(_compose, ["GET", "POST"])
message_send = _wrapped(_send, ["GET", "POST"])
message_cancel = _wrapped(_cancel, ["POST"])

urlpatterns = [
    path(
        "records/<str:plural>/<int:record_id>/messages/new",
        message_new,
        name="message-new",
    ),
    path("messages/<int:message_id>/", message_compose, name="message-compose"),
    path("messages/<int:message_id>/send", message_send, name="message-send"),
    path("messages/<int:message_id>/cancel", message_cancel, name="message-cancel"),
]
