"""The import pages end to end in a real browser: upload, mapping, dry run, a queued run
followed by the live progress bar, report, rejected-rows download, undo; accessibility; phone."""

from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.core.tasks import run_pending_tasks
from salesline.records import services as records
from salesline.records.models import ImportJob, Lead
from tests.records.test_import import csv_bytes, lead_row

from .conftest import DESKTOP, PHONE, axe_violations

ROWS = [
    lead_row("Ann Berg", "ANN@piql.com"),  # row 2: duplicates the existing lead
    lead_row("Bo Li", "bo@piql.com"),
    lead_row("Cy Bad", "cy@"),  # row 4: rejected
    lead_row("Di Ek", "di@piql.com"),
]


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def existing_lead(member, org):
    return records.record_create(
        actor=accounts.actor_for(member, org),
        kind="lead",
        data={
            "name": "Ann Berg",
            "email": "ann@piql.com",
            "company_name": "Piql",
            "business_unit": "Nordics",
            "source": "Web",
            "details": "x",
        },
    )


def upload_file(page, rows=ROWS):
    page.get_by_label("File (CSV, XLSX or vCard)").set_input_files(
        files=[{"name": "fair.csv", "mimeType": "text/csv", "buffer": csv_bytes(rows)}]
    )
    page.get_by_label("Leads").check()
    page.get_by_role("button", name="Upload and map columns").click()


def test_an_import_end_to_end(signed_in, org, existing_lead, settings):
    page = signed_in
    # Four rows are "large" here, so both the dry run and the import go to the worker and the
    # page follows them with its progress bar; the test plays the worker.
    settings.SALESLINE_IMPORT_INLINE_ROWS = 2
    page.goto("/imports/")
    page.get_by_role("link", name="New import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New import")
    assert axe_violations(page) == []

    upload_file(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Map the columns")
    expect(page.get_by_label("Column 2: E-mail")).to_have_value("email")
    expect(page.get_by_role("cell", name="ANN@piql.com")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Dry run").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Dry run of fair.csv")
    expect(page.get_by_text("Waiting for the background worker")).to_be_visible()
    expect(page.get_by_label("Rows read")).to_be_visible()
    assert run_pending_tasks() == 1
    # The page polls and swaps in the preview once the dry run is over.
    expect(page.get_by_text("Would be created")).to_be_visible()
    rejected = page.locator("tr.import-rejected td")
    expect(rejected.nth(0)).to_have_text("4")
    expect(rejected.nth(1)).to_have_text("Cy Bad")
    expect(rejected.nth(2)).to_have_text("cy@")
    expect(rejected.nth(3)).to_have_text("E-mail")
    expect(rejected.nth(4)).to_contain_text("e-mail")
    expect(page.locator("tr.import-duplicate td").first).to_have_text("2")
    assert axe_violations(page) == []
    assert Lead.objects.filter(organisation=org, deleted_at=None).count() == 1

    # An impatient double click runs the import once.
    page.get_by_role("button", name="Run import").dblclick()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of fair.csv")
    assert ImportJob.objects.filter(organisation=org, dry_run=False).count() == 1
    expect(page.get_by_label("Rows read")).to_be_visible()
    # The import, and on PostgreSQL the merge of its word index that it queues.
    assert run_pending_tasks() == (2 if connection.vendor == "postgresql" else 1)
    expect(page.get_by_text("4 of 4 rows (100%)")).to_be_visible()
    expect(page.get_by_role("heading", name="Done")).to_be_visible()
    # Screen readers hear that it finished, once, from the page's live region.
    expect(page.locator("#announcer")).to_have_text(
        "Import done: 2 created, 0 updated, 1 duplicates, 1 rejected."
    )
    expect(page.get_by_label("Rows read")).to_have_attribute("value", "4")
    assert axe_violations(page) == []
    emails = set(
        Lead.objects.filter(organisation=org, deleted_at=None).values_list("email", flat=True)
    )
    assert emails == {"ann@piql.com", "bo@piql.com", "di@piql.com"}

    with page.expect_download() as download:
        page.get_by_role("link", name="Download rejected rows (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[1].startswith("4,") and "cy@" in text

    page.get_by_role("link", name="Undo this import…").click()
    expect(page.get_by_text("remove the 2 leads it created")).to_be_visible()
    page.get_by_role("button", name="Undo import").click()
    expect(page.get_by_role("status")).to_contain_text("Import undone: 2 leads removed")
    assert list(Lead.objects.filter(organisation=org, deleted_at=None)) == [existing_lead]


def test_a_bad_mapping_is_shown_next_to_its_column(signed_in, org):
    page = signed_in
    page.goto("/imports/new/")
    upload_file(page, [lead_row("Ann Berg", "ann@piql.com")])
    page.get_by_label("Column 7: Phone").select_option("source")
    page.get_by_role("button", name="Dry run").click()
    column = page.locator("li.import-column", has=page.get_by_label("Column 7: Phone"))
    expect(column).to_contain_text("both mapped to 'source'")
    expect(page.get_by_label("Column 7: Phone")).to_have_value("source")


def test_the_import_pages_fit_a_phone(page, member, sign_in, existing_lead):
    page.set_viewport_size(PHONE)
    sign_in(page, member)
    page.goto("/imports/new/")
    upload_file(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Map the columns")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_text("Would be created")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto("/imports/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_violations(page) == []


# --------------------------------------------------------------------------- one value for every row

FAIR = ["Full name", "E-mail", "Company"]
FAIR_ROWS = [["Ann Berg", "ann@piql.com", "Piql AS"], ["Bo Li", "bo@", "Lund AS"]]


def upload_fair(page):
    page.goto("/imports/new/")
    page.get_by_label("File (CSV, XLSX or vCard)").set_input_files(
        files=[{"name": "expo.csv", "mimeType": "text/csv", "buffer": csv_bytes(FAIR_ROWS, FAIR)}]
    )
    page.get_by_label("Leads").check()
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Map the columns")


def requirement(page, label):
    return page.locator(f'li.import-requirement[data-label="{label}"]')


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_required_fields_and_one_value_for_every_row(page, member, sign_in, org, viewport):
    page.set_viewport_size(viewport)
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    sign_in(page, member)
    upload_fair(page)
    # Before the dry run the page says what is required and what nothing gives yet.
    expect(requirement(page, "Source")).to_contain_text("not mapped")
    expect(requirement(page, "Name")).to_contain_text("from column “Full name”")
    summary = page.locator("[data-required-summary]").first
    expect(summary).to_have_text(
        "3 required fields not mapped: the dry run would reject every row."
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert axe_violations(page) == []

    # Mapping a column updates the list at once, without a round trip.
    page.get_by_label("Column 3: Company").select_option("business_unit")
    expect(requirement(page, "Business unit")).to_contain_text("from column “Company”")
    expect(requirement(page, "Company name")).to_contain_text("not mapped")
    page.get_by_label("Column 3: Company").select_option("company_name")

    # One value per field: the first slot is there; more are added on demand.
    page.get_by_label("Field", exact=True).first.select_option("source")
    page.locator("#constant-value-1").fill("Archiving Expo 2026")
    expect(requirement(page, "Source")).to_contain_text(
        "one value for every row: Archiving Expo 2026"
    )
    page.get_by_role("button", name="Add another value").click()
    expect(page.locator("#constant-field-2")).to_be_focused()
    page.locator("#constant-field-2").select_option("business_unit")
    page.locator("#constant-value-2").fill("Nordics")
    page.get_by_role("button", name="Add another value").click()
    page.locator("#constant-field-3").select_option("details")
    page.locator("#constant-value-3").fill("Met at the stand")
    expect(summary).to_have_text("Every required field is mapped.")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert axe_violations(page) == []

    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dry run of expo.csv")
    expect(page.get_by_text("Source: Archiving Expo 2026")).to_be_visible()
    rejected = page.locator("tr.import-rejected td")
    expect(rejected.nth(1)).to_have_text("Bo Li")
    expect(rejected.nth(2)).to_have_text("bo@")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert axe_violations(page) == []

    page.get_by_role("button", name="Run import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of expo.csv")
    lead = Lead.objects.get(organisation=org)
    assert (lead.source, lead.business_unit, lead.details) == (
        "Archiving Expo 2026",
        "Nordics",
        "Met at the stand",
    )
    page.get_by_role("link", name="Ann Berg").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ann Berg")

    page.goto("/")
    expect(page.locator("li.home-import .import-tag-dry-run")).to_have_count(1)
    expect(page.locator("li.home-import", has_text="Dry run")).to_contain_text("expo.csv")
    assert axe_violations(page) == []
    page.goto("/imports/")
    expect(page.get_by_text("Dry run", exact=True)).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert axe_violations(page) == []
    assert errors == []


def test_a_constant_for_a_mapped_field_is_shown_by_its_value(signed_in, org):
    page = signed_in
    page.goto("/imports/new/")
    upload_file(page, [lead_row("Ann Berg", "ann@piql.com")])
    expect(requirement(page, "Source")).to_contain_text("from column “Source”")
    page.locator("#constant-field-1").select_option("source")
    page.locator("#constant-value-1").fill("Expo")
    page.get_by_role("button", name="Dry run").click()
    slot = page.locator("fieldset.import-constant").first
    expect(slot).to_contain_text("Source is both mapped to a column ('Source')")
    expect(page.locator("#constant-value-1")).to_have_value("Expo")
    assert axe_violations(page) == []
    assert not ImportJob.objects.exists()
