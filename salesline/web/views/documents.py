"""Documents on the record pages (generate, list by template with versions, download) and the
settings page of document templates (download the current file, replace it with your own, go
back to the shipped one). Every change goes through the playbooks' document services."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from salesline.accounts import services as account_services
from salesline.core.errors import PermissionDenied, ValidationFailed
from salesline.core.ids import is_id
from salesline.playbooks import document_selectors, document_services
from salesline.playbooks.document_catalogue import CATALOGUE, FORMATS, SOURCE_FORMAT

from ..errors import bind_problems, on_refusal
from .common import member_page, page_context

FORMAT_LABELS = {"pdf": "PDF (from HTML)", "docx": "Word (DOCX)"}


def _id(value: str) -> int | None:
    return int(value) if value.isdecimal() and is_id(int(value)) else None


def _record_url(opportunity_id: int | None, lead_id: int | None) -> str:
    if opportunity_id is not None:
        return reverse("web:record-detail", args=["opportunities", opportunity_id])
    if lead_id is not None:
        return reverse("web:record-detail", args=["leads", lead_id])
    return reverse("web:home")


@require_POST
@member_page
def document_generate(request: HttpRequest, actor) -> HttpResponse:
    """Generate from the record page's panel; back to the panel with what happened."""
    opportunity_id = _id(request.POST.get("opportunity_id", ""))
    lead_id = _id(request.POST.get("lead_id", ""))
    back = _record_url(opportunity_id, lead_id) + "#documents"

    def refused(error) -> HttpResponse:
        for message in bind_problems(None, error):
            messages.error(request, f"The document was not generated: {message}")
        return redirect(back)

    on_refusal(request, refused)
    document = document_services.document_generate(
        actor=actor,
        template_key=request.POST.get("template", ""),
        format=request.POST.get("format", "pdf"),
        opportunity_id=opportunity_id,
        lead_id=lead_id,
    )
    what = f"{CATALOGUE[document.template].name} version {document.version}"
    messages.success(request, f"{what} was generated: {document.file_name}.")
    return redirect(back)


@member_page
def document_file(request: HttpRequest, actor, document_id: int) -> HttpResponse:
    """The stored file, streamed through the storage API; another organisation's is a 404."""
    if not is_id(document_id):
        raise Http404("No such document.")
    document = document_selectors.document_get_for(actor=actor, document_id=document_id)
    return FileResponse(
        document_selectors.document_open(document),
        as_attachment=True,
        filename=document.file_name,
        content_type=document.content_type,
    )


# ---------------------------------------------------------------- settings: templates


def _is_admin(actor) -> bool:
    try:
        account_services.require_admin(actor)
    except PermissionDenied:
        return False
    return True


def _template_or_404(key: str, format: str):
    template = CATALOGUE.get(key)
    if template is None or format not in FORMATS:
        raise Http404("No such document template.")
    return template


def _template_rows(actor) -> list[dict]:
    own = document_selectors.template_files(actor=actor)
    return [
        {
            "template": template,
            "files": [
                {
                    "format": format,
                    "label": FORMAT_LABELS[format],
                    "extension": SOURCE_FORMAT[format],
                    "own": own.get((template.key, format)),
                }
                for format in template.formats
            ],
        }
        for template in CATALOGUE.values()
    ]


@member_page
def document_templates(request: HttpRequest, actor) -> HttpResponse:
    return render(
        request,
        "web/documents/templates.html",
        page_context(
            request,
            actor,
            section="document-templates",
            rows=_template_rows(actor),
            is_admin=_is_admin(actor),
        ),
    )


@member_page
def document_template_file(request: HttpRequest, actor, key: str, format: str) -> HttpResponse:
    _template_or_404(key, format)
    content, file_name, content_type = document_selectors.template_download(
        actor=actor, template_key=key, format=format
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


class TemplateUploadForm(forms.Form):
    file = forms.FileField(label="Your template file")


@require_http_methods(["GET", "POST"])
@member_page
def document_template_replace(request: HttpRequest, actor, key: str, format: str) -> HttpResponse:
    """Upload the organisation's own file; a refused file is shown with every problem and
    nothing is stored."""
    template = _template_or_404(key, format)
    account_services.require_admin(actor, "replace document templates")
    form = TemplateUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )

    def render_page(status: int = 200) -> HttpResponse:
        return render(
            request,
            "web/documents/template_replace.html",
            page_context(
                request,
                actor,
                section="document-templates",
                template=template,
                format=format,
                format_label=FORMAT_LABELS[format],
                extension=SOURCE_FORMAT[format],
                form=form,
                summary_title="The file was not used",
            ),
            status=status,
        )

    def refused(error: ValidationFailed) -> HttpResponse:
        for problem in error.problems:
            form.add_error("file", problem.msg)
        return render_page(422)

    if request.method == "GET":
        return render_page()
    if not form.is_valid():
        return render_page(422)
    upload = form.cleaned_data["file"]
    if upload.size > document_services.MAX_TEMPLATE_BYTES:
        form.add_error(
            "file",
            f"The file is {upload.size:,} bytes; a template may have at most "
            f"{document_services.MAX_TEMPLATE_BYTES:,}.",
        )
        return render_page(422)
    on_refusal(request, refused)
    document_services.document_template_replace(
        actor=actor,
        template_key=key,
        format=format,
        file_name=upload.name or "",
        content=upload.read(),
    )
    messages.success(request, f"{template.name} ({FORMAT_LABELS[format]}) now uses your own file.")
    return redirect("web:settings-document-templates")


@require_http_methods(["GET", "POST"])
@member_page
def document_template_reset(request: HttpRequest, actor, key: str, format: str) -> HttpResponse:
    """Back to the shipped file, after a confirmation."""
    template = _template_or_404(key, format)
    account_services.require_admin(actor, "replace document templates")
    if request.method == "POST":
        document_services.document_template_reset(actor=actor, template_key=key, format=format)
        messages.success(
            request, f"{template.name} ({FORMAT_LABELS[format]}) uses the shipped file again."
        )
        return redirect("web:settings-document-templates")
    return render(
        request,
        "web/documents/template_reset.html",
        page_context(
            request,
            actor,
            section="document-templates",
            template=template,
            format=format,
            format_label=FORMAT_LABELS[format],
            own=document_selectors.template_files(actor=actor).get((key, format)),
        ),
    )


urlpatterns = [
    path("documents/generate/", document_generate, name="document-generate"),
    path("documents/<int:document_id>/file/", document_file, name="document-file"),
    path(
        "settings/document-templates/",
        document_templates,
        name="settings-document-templates",
    ),
    path(
        "settings/document-templates/<slug:key>/<slug:format>/file/",
        document_template_file,
        name="settings-document-template-file",
    ),
    path(
        "settings/document-templates/<slug:key>/<slug:format>/replace/",
        document_template_replace,
        name="settings-document-template-replace",
    ),
    path(
        "settings/document-templates/<slug:key>/<slug:format>/reset/",
        document_template_reset,
        name="settings-document-template-reset",
    ),
]
