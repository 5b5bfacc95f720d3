"""Replacing a document template with the organisation's own file: validated (format, size,
merge fields, renders with sample data), a refused file stores nothing, documents use the new
file, going back to the shipped file; the sandbox keeps templates inside the merge context."""

import io

import docx
import pytest
from django.core.files.storage import default_storage

from salesline.core.errors import PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.playbooks import document_rendering as rendering
from salesline.playbooks import document_selectors
from salesline.playbooks.document_catalogue import shipped_path
from salesline.playbooks.document_services import (
    document_generate,
    document_template_replace,
    document_template_reset,
)
from salesline.playbooks.models import DocumentTemplateFile

from .document_fixtures import (  # noqa: F401
    deal_fixture,
    docx_text,
    media_root_fixture,
    pdf_text,
    stored_bytes,
)

pytestmark = pytest.mark.django_db

OWN_HTML = b"""<!DOCTYPE html><html><body>
<h1>Our own description for {{ company.name }}</h1><p>{{ organisation.name }}</p>
</body></html>"""


def word_file(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def media_files() -> set[str]:
    _, files = (
        default_storage.listdir("document-templates")
        if default_storage.exists("document-templates")
        else ([], [])
    )
    return set(files)


def messages_of(excinfo) -> list[str]:
    return [p.msg for p in excinfo.value.problems]


def test_an_own_html_template_is_used_for_pdfs_until_reset(
    admin_actor, actor, deal, django_capture_on_commit_callbacks
):
    row = document_template_replace(
        actor=admin_actor,
        template_key="service-description",
        format="pdf",
        file_name="ours.html",
        content=OWN_HTML,
    )

    own = document_generate(actor=actor, template_key="service-description", opportunity_id=deal.pk)
    assert "Our own description for Acme Archives AS" in pdf_text(stored_bytes(own))
    content, name, content_type = document_selectors.template_download(
        actor=actor, template_key="service-description", format="pdf"
    )
    assert (content, name, content_type) == (
        OWN_HTML,
        "service-description.html",
        "text/html; charset=utf-8",
    )
    assert AuditEvent.objects.filter(object_type="documenttemplatefile", action="create").exists()
    stored = row.file.name

    with django_capture_on_commit_callbacks(execute=True):
        document_template_reset(actor=admin_actor, template_key="service-description", format="pdf")

    assert not DocumentTemplateFile.objects.exists()
    assert not default_storage.exists(stored)
    shipped = document_generate(
        actor=actor, template_key="service-description", opportunity_id=deal.pk
    )
    assert "What we offer" in pdf_text(stored_bytes(shipped))
    content, _, _ = document_selectors.template_download(
        actor=actor, template_key="service-description", format="pdf"
    )
    assert content == shipped_path("service-description", "html").read_bytes()


def test_an_own_docx_template_replaces_the_previous_one(
    admin_actor, actor, deal, django_capture_on_commit_callbacks
):
    document_template_replace(
        actor=admin_actor,
        template_key="quote",
        format="docx",
        file_name="quote.docx",
        content=word_file("First {{ quote.number }}"),
    )
    first = DocumentTemplateFile.objects.get().file.name
    with django_capture_on_commit_callbacks(execute=True):
        document_template_replace(
            actor=admin_actor,
            template_key="quote",
            format="docx",
            file_name="Quote v2.DOCX",
            content=word_file("Offer {{ quote.number }} to {{ company.name }}"),
        )

    assert DocumentTemplateFile.objects.count() == 1
    assert not default_storage.exists(first)
    quote = document_generate(
        actor=actor, template_key="quote", opportunity_id=deal.pk, format="docx"
    )
    assert f"Offer {quote.number} to Acme Archives AS" in docx_text(stored_bytes(quote))


@pytest.mark.parametrize(
    ("format", "file_name", "content", "expected"),
    [
        ("pdf", "x.docx", OWN_HTML, "must be an HTML file"),
        ("docx", "x.html", OWN_HTML, "must be a Word document"),
        ("docx", "x.docx", b"not a zip", "not a DOCX document"),
        ("pdf", "x.html", b"", "empty"),
        ("pdf", "x.html", b"\xff\xfe<p>", "not UTF-8"),
        ("pdf", "x.html", b"{% if %}", "cannot be"),
        ("pdf", "x.html", b"{% load static %}", "load"),
        ("pdf", "x.html", b"{% include 'web/base.html' %}", "include"),
        ("pdf", "x.html", b"{{ company.name|safe }}", "safe"),
        ("pdf", "x.html", b"{% autoescape off %}{{ company.name }}{% endautoescape %}", "auto"),
        ("pdf", "x.html", b"{% debug %}", "debug"),
        ("pdf", "x.html", b"{{ company.secret }}", "'company.secret' is not a merge field"),
        ("pdf", "x.html", b"{{ settings.SECRET_KEY }}", "'settings.SECRET_KEY' is not"),
        ("pdf", "x.html", b"{{ company }}", "'company' is a group"),
        ("pdf", "x.html", b"{% if user.is_staff %}x{% endif %}", "'user.is_staff' is not"),
    ],
)
def test_a_bad_file_is_refused_naming_the_problem_and_nothing_is_stored(
    admin_actor, format, file_name, content, expected
):
    with pytest.raises(ValidationFailed) as excinfo:
        document_template_replace(
            actor=admin_actor,
            template_key="invoice",
            format=format,
            file_name=file_name,
            content=content,
        )

    messages = messages_of(excinfo)
    assert any(expected in message for message in messages), messages
    assert {p.loc for p in excinfo.value.problems} == {("file",)}
    assert not DocumentTemplateFile.objects.exists()
    assert media_files() == set()


def test_unknown_fields_in_a_docx_are_all_named(admin_actor):
    with pytest.raises(ValidationFailed) as excinfo:
        document_template_replace(
            actor=admin_actor,
            template_key="invoice",
            format="docx",
            file_name="x.docx",
            content=word_file(
                "{{ invoice.number }} {{ invoice.colour }}",
                "{{ secrets }} {{ company.name.__class__ }}",
                "{% for x in items %}{{ x.price }}{% endfor %}",
            ),
        )

    messages = messages_of(excinfo)
    assert any("'invoice.colour' is not a merge field" in m for m in messages)
    assert any("'secrets' is not a merge field" in m for m in messages)
    assert any("'items' is not a merge field" in m for m in messages)
    assert not any("invoice.number" in m for m in messages)
    assert not any("'x" in m for m in messages)  # the loop's own variable


def test_unknown_template_or_format_is_named(admin_actor):
    with pytest.raises(ValidationFailed) as excinfo:
        document_template_replace(
            actor=admin_actor,
            template_key="brochure",
            format="odt",
            file_name="x.odt",
            content=b"x",
        )

    assert {p.loc for p in excinfo.value.problems} == {("template",), ("format",)}


def test_only_an_admin_replaces_templates(actor):
    with pytest.raises(PermissionDenied):
        document_template_replace(
            actor=actor,
            template_key="invoice",
            format="pdf",
            file_name="x.html",
            content=OWN_HTML,
        )
    with pytest.raises(PermissionDenied):
        document_template_reset(actor=actor, template_key="invoice", format="pdf")


def test_another_organisations_template_is_not_used(admin_actor, other_actor):
    document_template_replace(
        actor=admin_actor,
        template_key="service-description",
        format="pdf",
        file_name="ours.html",
        content=OWN_HTML,
    )

    content, _, _ = document_selectors.template_download(
        actor=other_actor, template_key="service-description", format="pdf"
    )
    assert content == shipped_path("service-description", "html").read_bytes()


def test_the_sandbox_reaches_no_attribute_beyond_the_context():
    # Jinja's sandbox refuses private attributes even where the check above is bypassed.
    with pytest.raises(rendering.TemplateProblem):
        rendering.render_docx(
            word_file("{{ company.name.__class__.__mro__ }}"), rendering.sample_context()
        )
    # Django's engine refuses private attributes outright.
    with pytest.raises(rendering.TemplateProblem):
        rendering.render_html("{{ company._meta }}", {"company": {"name": "a"}})


def test_a_pdf_template_fetches_nothing_from_disk_or_network(deal, actor, admin_actor):
    fetching = (
        b'<html><body><p>{{ company.name }}</p><img src="file:///etc/passwd">'
        b'<link rel="stylesheet" href="http://127.0.0.1:1/x.css"></body></html>'
    )
    document_template_replace(
        actor=admin_actor,
        template_key="running-notes",
        format="pdf",
        file_name="x.html",
        content=fetching,
    )

    document = document_generate(actor=actor, template_key="running-notes", opportunity_id=deal.pk)

    assert "Acme Archives AS" in pdf_text(stored_bytes(document))
