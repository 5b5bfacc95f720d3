"""Documents in a real browser: generate a PDF on an opportunity's page twice, see both
versions listed, download one; the panel and the templates page pass axe."""

from playwright.sync_api import expect

from salesline.pipeline.services import opportunity_create
from salesline.playbooks.models import Document
from tests.playbooks.document_fixtures import media_root_fixture, pdf_text  # noqa: F401

from .conftest import axe_violations


def test_generate_a_pdf_twice_and_download_it(signed_in, member, org):
    from salesline.accounts.services import actor_for

    deal = opportunity_create(
        actor=actor_for(member, org), data={"name": "Archive migration", "value": "9000"}
    )
    page = signed_in
    page.goto(f"/records/opportunities/{deal.pk}/")
    panel = page.locator("#documents")
    expect(panel.get_by_text("No documents yet")).to_be_visible()
    assert axe_violations(page) == []

    for version in (1, 2):
        panel.get_by_label("Template").select_option(label="Service description")
        panel.get_by_label("Format").select_option("pdf")
        # Making a PDF takes a fraction of a second, more on a loaded machine.
        with page.expect_navigation(timeout=60_000):
            panel.get_by_role("button", name="Generate").click(no_wait_after=True)
        expect(page.get_by_role("status")).to_contain_text(
            f"Service description version {version} was generated"
        )

    panel = page.locator("#documents")
    expect(panel.get_by_role("heading", name="Service description")).to_be_visible()
    expect(panel.get_by_role("cell", name="Version 1", exact=True)).to_be_visible()
    expect(panel.get_by_role("cell", name="Version 2", exact=True)).to_be_visible()
    newest = Document.objects.get(opportunity=deal, version=2)
    with page.expect_download() as caught:
        panel.get_by_role("link", name=newest.file_name).click()
    download = caught.value
    assert download.suggested_filename == "service-description-archive-migration-v2.pdf"
    with open(download.path(), "rb") as handle:
        assert "Service description" in pdf_text(handle.read())
    assert axe_violations(page) == []


def test_the_templates_page_passes_axe(admin_signed_in):
    page = admin_signed_in
    page.goto("/settings/document-templates/")
    expect(page.get_by_role("heading", name="Document templates", exact=True)).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Replace with your own Invoice (PDF (from HTML))").click()
    page.get_by_label("Your template file").set_input_files(
        files=[{"name": "bad.html", "mimeType": "text/html", "buffer": b"{{ invoice.colour }}"}]
    )
    page.get_by_role("button", name="Check and use this file").click()
    expect(page.get_by_role("alert")).to_contain_text("'invoice.colour' is not a merge field")
    assert axe_violations(page) == []
