"""Record pages in a real browser: create and edit each kind, a stale edit, an inline edit, the
lead conversion, accessibility and the phone layout."""

import pytest
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.pipeline.models import Opportunity
from salesline.records import services as records
from salesline.records.models import Company, Lead, Person
from tests.conftest import COMPANY, LEAD, PERSON

from .conftest import PHONE, axe_violations, pick


@pytest.fixture
def member_actor(member, org):
    return accounts.actor_for(member, org)


@pytest.fixture
def acme(member_actor):
    return records.record_create(actor=member_actor, kind="company", data=COMPANY)


def fill(page, values: dict[str, str]) -> None:
    for label, value in values.items():
        field = page.get_by_label(label, exact=True)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def test_create_and_edit_a_company(signed_in):
    page = signed_in
    page.goto("/records/companies/new/")
    fill(
        page,
        {
            **{
                k.replace("_", " ").capitalize(): v
                for k, v in COMPANY.items()
                if k != "email_domain"
            },
            "Email domain": "acme.no",
        },
    )
    page.get_by_role("button", name="Create company").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Archives AS")
    expect(page.get_by_role("status")).to_contain_text("created")
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Market").select_option("Sweden")  # a choice list
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    assert Company.objects.get().market == "Sweden"


def test_create_and_edit_a_person_picking_the_company(signed_in, acme):
    page = signed_in
    page.goto("/records/people/new/")
    page.get_by_role("button", name="Create person").click()
    # Every missing minimum field is named, next to its input.
    expect(page.get_by_role("alert")).to_contain_text("Name is required.")
    expect(page.locator("#f-title-errors")).to_have_text("Title is required.")
    fill(
        page,
        {
            "Name": PERSON["name"],
            "E-mail": PERSON["email"],
            "Phone": PERSON["phone"],
            "Business unit": "Nordics",
            "Title": "Archivist",
        },
    )
    pick(page, "Company", "acm", "Acme Archives AS")
    page.get_by_role("button", name="Create person").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ola Nordmann")
    expect(page.get_by_role("link", name="Acme Archives AS")).to_be_visible()
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Title").fill("Head of Archives")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#field-title")).to_contain_text("Head of Archives")
    person = Person.objects.get()
    assert person.company == acme and person.title == "Head of Archives"


def test_create_and_edit_a_lead(signed_in):
    page = signed_in
    page.goto("/records/leads/new/")
    fill(
        page,
        {
            "Name": LEAD["name"],
            "Company name": LEAD["company_name"],
            "E-mail": LEAD["email"],
            "Business unit": "Nordics",
            "Source": "Trade show",
            "Details": LEAD["details"],
        },
    )
    page.get_by_role("button", name="Create lead").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kari Hansen")
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Source").fill("Webinar")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#field-source")).to_contain_text("Webinar")
    assert Lead.objects.get().source == "Webinar"


def test_create_and_edit_an_opportunity(signed_in, acme):
    page = signed_in
    page.goto("/records/opportunities/new/")
    fill(
        page,
        {"Name": "Archive deal", "Estimated value": "25000", "Expected close date": "2027-03-31"},
    )
    pick(page, "Company", "acme", "Acme Archives AS")
    page.get_by_role("button", name="Create opportunity").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Archive deal")
    expect(page.locator("#field-stage")).to_contain_text("Identify")
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Sector").select_option("public")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#field-sector")).to_contain_text("Public")
    deal = Opportunity.objects.get()
    assert deal.company == acme and deal.sector == "public" and str(deal.value) == "25000.00"


def test_a_stale_edit_is_refused(signed_in, acme, member_actor):
    page = signed_in
    page.goto(f"/records/companies/{acme.pk}/edit/")
    records.record_update(
        actor=member_actor, kind="company", record_id=acme.pk, data={"market": "Denmark"}
    )
    page.get_by_label("Market").select_option("Sweden")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("changed by someone else")
    expect(page.get_by_label("Market")).to_have_value("Denmark")
    expect(page.locator("#f-market-help")).to_have_text("You had entered: Sweden")
    acme.refresh_from_db()
    assert acme.market == "Denmark"


def test_inline_edit(signed_in, acme):
    page = signed_in
    page.goto(f"/records/companies/{acme.pk}/")
    page.get_by_role("link", name="Edit Market").click()
    field = page.locator("#field-market").get_by_label("Market")
    expect(field).to_be_focused()
    field.select_option("")
    page.get_by_role("button", name="Save Market").click()
    expect(page.locator("#f-market-errors")).to_have_text("Market is required.")
    page.locator("#field-market").get_by_label("Market").select_option("Finland")
    page.get_by_role("button", name="Save Market").click()
    expect(page.locator("#field-market")).to_contain_text("Finland")
    expect(page.get_by_role("link", name="Edit Market")).to_be_focused()
    acme.refresh_from_db()
    assert acme.market == "Finland" and acme.version == 2
    # Cancel (here with Escape) puts the value back untouched.
    page.get_by_role("link", name="Edit Segment").click()
    page.locator("#field-segment").get_by_label("Segment").press("Escape")
    expect(page.locator("#field-segment")).to_contain_text("Enterprise")


def test_convert_a_lead_linking_the_matched_company(signed_in, acme, member_actor):
    lead = records.record_create(actor=member_actor, kind="lead", data=LEAD)
    page = signed_in
    page.goto(f"/records/leads/{lead.pk}/")
    page.get_by_role("link", name="Convert").click()
    expect(page.get_by_text("Found an existing company")).to_contain_text("acme.no")
    # The linked company needs nothing more; the new person's fields are asked for.
    expect(page.get_by_label("Market")).to_be_hidden()
    fill(page, {"Phone": "+4790000000", "Title": "Archivist"})
    page.get_by_label("Also create an opportunity").check()
    page.get_by_label("Name", exact=True).last.fill("Acme archive")
    page.get_by_role("button", name="Convert lead").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme archive")
    expect(page.get_by_role("status")).to_contain_text("Lead converted")
    lead.refresh_from_db()
    assert lead.converted_company == acme
    assert lead.converted_person.title == "Archivist"
    assert lead.converted_opportunity.primary_contact == lead.converted_person


def test_record_and_form_pages_are_accessible(signed_in, acme, member_actor):
    page = signed_in
    records.note_create(actor=member_actor, body="Met at the expo.", target={"company_id": acme.pk})
    page.goto(f"/records/companies/{acme.pk}/")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Edit Market").click()
    expect(page.locator("#field-market form")).to_be_visible()
    assert axe_violations(page) == []
    page.goto("/records/opportunities/new/")
    page.get_by_role("button", name="Create opportunity").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert axe_violations(page) == []
    lead = records.record_create(actor=member_actor, kind="lead", data=LEAD)
    page.goto(f"/records/leads/{lead.pk}/convert/")
    assert axe_violations(page) == []


def test_a_record_page_fits_a_phone(signed_in, acme, member_actor):
    page = signed_in
    records.note_create(
        actor=member_actor, body="A long note " * 40, target={"company_id": acme.pk}
    )
    page.set_viewport_size(PHONE)
    page.goto(f"/records/companies/{acme.pk}/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("link", name="Edit Business unit").click()
    expect(page.locator("#field-business_unit form")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
