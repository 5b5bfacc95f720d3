"""The Documents panel of opportunity and lead pages (generate, versions by template, download,
empty state, errors) and the settings page of document templates (download, replace with a
file that is checked, back to the shipped file), scoped and with the services' permissions."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salesline.accounts import services as accounts
from salesline.playbooks.document_catalogue import shipped_path
from salesline.playbooks.document_services import document_generate
from salesline.playbooks.models import Document, DocumentTemplateFile
from tests.playbooks.document_fixtures import (
    deal_fixture,  # noqa: F401
    media_root_fixture,  # noqa: F401
    pdf_text,
)

pytestmark = pytest.mark.django_db

OWN_HTML = b"<html><body><h1>Ours for {{ company.name }}</h1></body></html>"


def signed_in(user, org) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sales(user, org):
    return signed_in(user, org)


@pytest.fixture
def admin(admin_user, org):
    return signed_in(admin_user, org)


@pytest.fixture
def other(other_user, other_org):
    return signed_in(other_user, other_org)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_an_opportunity_without_documents_shows_the_empty_panel(sales, deal):
    page = sales.get(f"/records/opportunities/{deal.pk}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="documents"' in html
    assert "No documents yet" in html
    assert '<option value="invoice">Invoice (numbered)</option>' in html
    assert 'value="receipt"' not in html  # receipts are made from their invoice


def test_generate_twice_lists_both_versions_and_downloads(sales, deal):
    for _ in range(2):
        answer = sales.post(
            "/documents/generate/",
            {"template": "service-description", "format": "pdf", "opportunity_id": deal.pk},
        )
        assert answer.status_code == 302
        assert answer["Location"] == f"/records/opportunities/{deal.pk}/#documents"

    page = sales.get(f"/records/opportunities/{deal.pk}/").content.decode()
    assert "Service description version 2 was generated" in page
    assert "<h3>Service description</h3>" in page
    assert "Version 1" in page and "Version 2" in page
    newest = Document.objects.get(version=2)
    assert f'href="/documents/{newest.pk}/file/"' in page

    download = sales.get(f"/documents/{newest.pk}/file/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == f'attachment; filename="{newest.file_name}"'
    assert "Acme Archives AS" in pdf_text(body_of(download))


def test_a_lead_page_has_the_panel_with_record_templates_only(sales, lead):
    answer = sales.post(
        "/documents/generate/", {"template": "running-notes", "format": "docx", "lead_id": lead.pk}
    )
    page = sales.get(f"/records/leads/{lead.pk}/").content.decode()

    assert answer.status_code == 302
    assert "running-notes-kari-hansen-v1.docx" in page
    assert 'value="quote"' not in page
    assert 'value="service-description"' in page


def test_a_refused_generation_says_why_on_the_record_page(sales, deal):
    answer = sales.post(
        "/documents/generate/", {"template": "invoice", "format": "pdf", "opportunity_id": deal.pk}
    )
    page = sales.get(answer["Location"]).content.decode()

    assert answer.status_code == 302
    assert "The document was not generated" in page
    assert "needs an agreement" in page
    assert not Document.objects.exists()


def test_other_record_pages_have_no_panel(sales, company):
    assert 'id="documents"' not in sales.get(f"/records/companies/{company.pk}/").content.decode()


def test_another_organisations_documents_and_records_are_404(sales, other, deal, actor):
    document = document_generate(actor=actor, template_key="running-notes", opportunity_id=deal.pk)

    assert other.get(f"/documents/{document.pk}/file/").status_code == 404
    refused = other.post(
        "/documents/generate/",
        {"template": "running-notes", "format": "pdf", "opportunity_id": deal.pk},
    )
    assert refused.status_code == 404
    assert Document.objects.count() == 1
    assert sales.get("/documents/99999999/file/").status_code == 404


def test_the_panel_escapes_what_users_wrote(sales, actor):
    from salesline.pipeline.services import opportunity_create

    hostile = opportunity_create(actor=actor, data={"name": "<script>alert(1)</script>"})
    document_generate(actor=actor, template_key="running-notes", opportunity_id=hostile.pk)

    page = sales.get(f"/records/opportunities/{hostile.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "running-notes-scriptalert1script-v1.pdf" in page


def test_generate_is_post_only(sales):
    assert sales.get("/documents/generate/").status_code == 405


# ---------------------------------------------------------------- settings: templates


def test_the_templates_page_lists_every_template_and_format(sales):
    page = sales.get("/settings/document-templates/")

    html = page.content.decode()
    assert page.status_code == 200
    for name in ("Service description", "Running notes", "Invoice", "Renewal notice"):
        assert name in html
    assert html.count("Download the current file") == 16
    assert "Replace with your own" not in html  # a salesperson cannot
    assert "Only an admin can replace a template." in html


def test_download_the_shipped_file(sales):
    html = sales.get("/settings/document-templates/invoice/pdf/file/")
    word = sales.get("/settings/document-templates/invoice/docx/file/")

    assert html.status_code == 200
    assert html["Content-Disposition"] == 'attachment; filename="invoice.html"'
    assert html.content == shipped_path("invoice", "html").read_bytes()
    assert word["Content-Type"].startswith("application/vnd.openxmlformats")
    assert word.content == shipped_path("invoice", "docx").read_bytes()
    assert sales.get("/settings/document-templates/brochure/pdf/file/").status_code == 404
    assert sales.get("/settings/document-templates/invoice/odt/file/").status_code == 404


def test_an_admin_replaces_a_template_and_goes_back(admin, actor, deal):
    form = admin.get("/settings/document-templates/service-description/pdf/replace/")
    assert form.status_code == 200
    answer = admin.post(
        "/settings/document-templates/service-description/pdf/replace/",
        {"file": SimpleUploadedFile("ours.html", OWN_HTML, content_type="text/html")},
    )
    assert answer.status_code == 302
    listing = admin.get("/settings/document-templates/").content.decode()
    assert "now uses your own file" in listing
    assert "Your own, uploaded" in listing
    assert "Back to the shipped file" in listing
    document = document_generate(
        actor=actor, template_key="service-description", opportunity_id=deal.pk
    )
    from tests.playbooks.document_fixtures import stored_bytes

    assert "Ours for Acme Archives AS" in pdf_text(stored_bytes(document))

    confirm = admin.get("/settings/document-templates/service-description/pdf/reset/")
    assert "Go back to the shipped Service description" in confirm.content.decode()
    assert DocumentTemplateFile.objects.exists()  # asking changes nothing
    done = admin.post("/settings/document-templates/service-description/pdf/reset/")
    assert done.status_code == 302
    assert not DocumentTemplateFile.objects.exists()


def test_a_refused_upload_names_the_problem_and_stores_nothing(admin):
    answer = admin.post(
        "/settings/document-templates/invoice/pdf/replace/",
        {
            "file": SimpleUploadedFile(
                "bad.html", b"<p>{{ invoice.colour }} {{ company.secret }}</p>"
            )
        },
    )

    html = answer.content.decode()
    assert answer.status_code == 422
    assert "The file was not used" in html
    assert "&#x27;invoice.colour&#x27; is not a merge field" in html
    assert "&#x27;company.secret&#x27; is not a merge field" in html
    assert not DocumentTemplateFile.objects.exists()
    wrong_kind = admin.post(
        "/settings/document-templates/invoice/docx/replace/",
        {"file": SimpleUploadedFile("bad.html", b"<p>hi</p>")},
    )
    assert wrong_kind.status_code == 422
    assert "must be a Word document" in wrong_kind.content.decode()
    missing = admin.post("/settings/document-templates/invoice/docx/replace/", {})
    assert missing.status_code == 422


def test_a_salesperson_cannot_replace_or_reset(sales):
    assert sales.get("/settings/document-templates/invoice/pdf/replace/").status_code == 403
    refused = sales.post(
        "/settings/document-templates/invoice/pdf/replace/",
        {"file": SimpleUploadedFile("ours.html", OWN_HTML)},
    )
    assert refused.status_code == 403
    assert sales.post("/settings/document-templates/invoice/pdf/reset/").status_code == 403
    assert not DocumentTemplateFile.objects.exists()


def test_the_templates_pages_need_a_signed_in_user(client, db):
    answer = client.get("/settings/document-templates/")
    assert answer.status_code == 302
    assert "/login/" in answer["Location"]


def test_another_organisations_own_template_is_not_shown(admin, other, org, other_org):
    admin.post(
        "/settings/document-templates/invoice/pdf/replace/",
        {"file": SimpleUploadedFile("ours.html", OWN_HTML)},
    )

    listing = other.get("/settings/document-templates/").content.decode()
    assert "Your own, uploaded" not in listing
    shipped = other.get("/settings/document-templates/invoice/pdf/file/")
    assert shipped.content == shipped_path("invoice", "html").read_bytes()
    assert accounts  # the module is used by the fixtures' users
