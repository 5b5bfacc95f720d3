"""Settings: message templates (canned messages) with a live preview and the merge fields.

The form posts to the services the API calls, so the page refuses exactly what the API
refuses, each problem under the input it names. The preview is rendered by the server: as the
user types (htmx, debounced) into the pane beside the form, or with the form's Preview button
when JavaScript is off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from salesline.core.errors import DomainError, NotFound, ValidationFailed
from salesline.core.ids import is_id
from salesline.playbooks import merge
from salesline.playbooks import message_template_selectors as selectors
from salesline.playbooks import message_template_services as services
from salesline.records.selectors import record_get_for

from .. import forms
from ..errors import bind_problems, on_refusal
from .common import member_page, page_context

SECTION = "message-templates"
TEXT_FIELDS = ("key", "name", "subject", "body", "from_email", "attachments")


def _id(value: int) -> int:
    if not is_id(value):
        raise Http404("No such message template.")
    return value


@dataclass
class Preview:
    """What the preview pane shows: the rendered subject and body, or the problems that stop
    rendering (by field), and what it was rendered with."""

    subject: str = ""
    body: str = ""
    problems: dict[str, list[str]] = field(default_factory=dict)
    using: str = "sample data"
    rendered: bool = False


def _posted_record(request: HttpRequest, name: str) -> str:
    value = request.POST.get(name, "").strip()
    return value if value.isdecimal() and is_id(int(value)) else ""


def _preview(actor, data: Mapping[str, str]) -> Preview:
    """Render the posted subject and body with the chosen opportunity or lead (or the sample
    data): problems become the preview's, never an error page."""
    opportunity_id = data.get("preview_opportunity") or None
    lead_id = data.get("preview_lead") or None if not opportunity_id else None
    preview = Preview()
    try:
        if opportunity_id:
            record = record_get_for(actor=actor, kind="opportunity", record_id=opportunity_id)
            preview.using = f"the opportunity “{record.name}”"
        elif lead_id:
            record = record_get_for(actor=actor, kind="lead", record_id=lead_id)
            preview.using = f"the lead “{record.name}”"
        preview.subject, preview.body = selectors.message_template_preview(
            actor=actor,
            subject=data.get("subject", ""),
            body=data.get("body", ""),
            opportunity_id=opportunity_id,
            lead_id=lead_id,
        )
        preview.rendered = True
    except NotFound:
        preview.problems["preview"] = ["The record to preview with is not there any more."]
    except ValidationFailed as error:
        for problem in error.problems:
            preview.problems.setdefault(str(problem.loc[0]), []).append(problem.msg)
    return preview


def _catalogue() -> list[tuple[str, list[tuple[str, str]]]]:
    """The merge fields by group, each as a template writes it."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name, description in merge.merge_field_catalogue():
        groups.setdefault(name.partition(".")[0], []).append(("{{ " + name + " }}", description))
    return list(groups.items())


def _inputs(actor, values: Mapping[str, str]) -> dict[str, forms.Input]:
    return {
        "name": forms.Input(
            name="name",
            label="Name",
            widget="text",
            value=values.get("name", ""),
            required=True,
            max_length=services.NAME_MAX,
        ),
        "key": forms.Input(
            name="key",
            label="Key",
            widget="text",
            value=values.get("key", ""),
            required=True,
            max_length=services.KEY_MAX,
            help="How playbooks and the API name it: lower-case letters, digits and hyphens, "
            "e.g. hail-the-lead.",
        ),
        "from_email": forms.Input(
            name="from_email",
            label="From",
            widget="text",
            value=values.get("from_email", ""),
            max_length=services.FROM_MAX,
            help="Empty: the organisation's address. An address, or a name and address: "
            "Partnerships <partnerships@example.com>.",
        ),
        "attachments": forms.Input(
            name="attachments",
            label="Attachments",
            widget="text",
            value=values.get("attachments", ""),
            help="Document templates to attach, by key, separated by commas "
            "(e.g. service-description).",
        ),
        "preview_opportunity": forms.picker_input(
            actor,
            "opportunity",
            name="preview_opportunity",
            label="An opportunity",
            value=values.get("preview_opportunity", ""),
        ),
        "preview_lead": forms.picker_input(
            actor,
            "lead",
            name="preview_lead",
            label="Or a lead",
            value=values.get("preview_lead", ""),
        ),
    }


def _values_of(template) -> dict[str, str]:
    if template is None:
        return {}
    return {
        "key": template.key,
        "name": template.name,
        "subject": template.subject,
        "body": template.body,
        "from_email": template.from_email,
        "attachments": ", ".join(template.attachments or []),
        "version": str(template.version),
    }


def _data_of(post: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {name: post.get(name, "") for name in TEXT_FIELDS[:-1]}
    data["body"] = data["body"].replace("\r\n", "\n")
    data["attachments"] = [k.strip() for k in post.get("attachments", "").split(",") if k.strip()]
    return data


def _field_of(problem) -> str:
    return str(problem.loc[0]) if problem.loc else ""


def _form_page(
    request: HttpRequest, actor, template, save: Callable[[dict[str, Any]], Any]
) -> HttpResponse:
    posted = request.method == "POST"
    values = dict(request.POST.items()) if posted else _values_of(template)
    inputs = _inputs(actor, values)
    problems: dict[str, list[str]] = {"subject": [], "body": []}

    def render_page(status: int, preview: Preview | None = None, general=()) -> HttpResponse:
        if preview is None:
            preview = _preview(actor, values)
        return render(
            request,
            "web/settings/message_template_form.html",
            page_context(
                request,
                actor,
                section=SECTION,
                template=template,
                inputs=inputs,
                values=values,
                problems=problems,
                preview=preview,
                catalogue=_catalogue(),
                general=list(general),
                summary_errors=[
                    (f"f-{name}", label, message)
                    for name, label in (
                        ("name", "Name"),
                        ("key", "Key"),
                        ("from_email", "From"),
                        ("attachments", "Attachments"),
                        ("subject", "Subject"),
                        ("body", "Body"),
                    )
                    for message in (
                        problems.get(name) or (inputs[name].errors if name in inputs else [])
                    )
                ],
            ),
            status=status,
        )

    if not posted:
        return render_page(200)
    if request.POST.get("action") == "preview":  # the Preview button: nothing is saved
        return render_page(200)

    def refused(error: DomainError) -> HttpResponse:
        general = []
        for problem in error.problems or ():
            name = _field_of(problem)
            message = problem.msg if name in ("subject", "body") else _sentence(problem.msg)
            if name in problems:
                problems[name].append(message)
            elif name in inputs:
                inputs[name].errors.append(message)
            else:
                general.append(message)
        if not error.problems:
            general.append(str(error))
        return render_page(error.status, general=general)

    on_refusal(request, refused)
    saved = save(_data_of(request.POST))
    messages.success(request, f"Message template “{saved.name}” saved.")
    return redirect("web:message-templates")


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


@member_page
def template_list(request: HttpRequest, actor) -> HttpResponse:
    return render(
        request,
        "web/settings/message_templates.html",
        page_context(
            request,
            actor,
            section=SECTION,
            templates=list(selectors.message_template_list(actor=actor)),
        ),
    )


@member_page
@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest, actor) -> HttpResponse:
    def create(data):
        return services.message_template_create(actor=actor, data=data)

    return _form_page(request, actor, None, create)


@member_page
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, actor, template_id: int) -> HttpResponse:
    template = selectors.message_template_get_for(actor=actor, template_id=_id(template_id))

    def update(data):
        version = request.POST.get("version", "")
        return services.message_template_update(
            actor=actor,
            template_id=template.pk,
            data=data,
            expected_version=int(version) if version.isdecimal() else None,
        )

    return _form_page(request, actor, template, update)


@member_page
@require_POST
def template_preview(request: HttpRequest, actor) -> HttpResponse:
    """The preview pane alone (htmx), with the subject's and body's problems swapped in beside
    their inputs out of band."""
    return render(
        request,
        "web/settings/_message_template_preview.html",
        {"preview": _preview(actor, request.POST), "live": True},
    )


@member_page
@require_http_methods(["GET", "POST"])
def template_delete(request: HttpRequest, actor, template_id: int) -> HttpResponse:
    template = selectors.message_template_get_for(actor=actor, template_id=_id(template_id))

    def render_page(status: int, problems=()) -> HttpResponse:
        return render(
            request,
            "web/settings/message_template_delete.html",
            page_context(
                request,
                actor,
                section=SECTION,
                template=template,
                general=list(problems),
                summary_title="The message template was not deleted",
            ),
            status=status,
        )

    if request.method != "POST":
        return render_page(200)
    on_refusal(request, lambda error: render_page(error.status, bind_problems(None, error)))
    services.message_template_delete(actor=actor, template_id=template.pk)
    messages.success(request, f"Message template “{template.name}” deleted.")
    return redirect("web:message-templates")


urlpatterns = [
    path("settings/message-templates/", template_list, name="message-templates"),
    path("settings/message-templates/new/", template_create, name="message-template-create"),
    path("settings/message-templates/preview/", template_preview, name="message-template-preview"),
    path(
        "settings/message-templates/<int:template_id>/",
        template_edit,
        name="message-template-edit",
    ),
    path(
        "settings/message-templates/<int:template_id>/delete/",
        template_delete,
        name="message-template-delete",
    ),
]
