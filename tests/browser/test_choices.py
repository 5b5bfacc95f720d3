"""Choice lists in Chromium: the company form's selects and the list's choice filters, at desktop
and phone widths, accessible and without console errors."""

import pytest
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.records import services as records
from salesline.records.models import Company
from tests.conftest import COMPANY

from .conftest import DESKTOP, PHONE, axe_violations


@pytest.fixture
def errors(page):
    seen: list[str] = []
    page.on("console", lambda message: message.type == "error" and seen.append(message.text))
    return seen


def fits(page, viewport) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_company_is_created_by_choosing_from_the_lists(signed_in, member, org, errors, viewport):
    page = signed_in
    page.set_viewport_size(viewport)
    page.goto("/records/companies/new/")
    page.get_by_label("Name", exact=True).fill("Fjord Archives AS")
    contact_type = page.get_by_label("Contact type")
    expect(contact_type).to_have_value("")
    page.get_by_role("button", name="Create company").click()
    expect(page.locator("#f-contact_type-errors")).to_have_text("Contact type is required.")
    fits(page, viewport)
    assert axe_violations(page) == []
    # The refused form is answered 400 by design, which Chromium logs; nothing else may be.
    assert all("status of 400" in error for error in errors)
    errors.clear()

    page.get_by_label("Contact type").select_option(label="Customer")
    page.get_by_label("Business unit").select_option(label="Nordics")
    page.get_by_label("Market").select_option(label="Norway")
    page.get_by_label("Life cycle").select_option(label="Prospect")
    page.get_by_label("Sector").select_option(label="Culture & heritage")
    page.get_by_label("Segment").select_option(label="Municipal")
    fits(page, viewport)
    page.get_by_role("button", name="Create company").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Fjord Archives AS")
    company = Company.objects.get(name="Fjord Archives AS")
    assert (company.contact_type, company.sector) == ("Customer", "Culture & heritage")
    assert axe_violations(page) == []
    assert errors == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_company_list_filters_by_a_choice(signed_in, member, org, errors, viewport):
    actor = accounts.actor_for(member, org)
    records.record_create(actor=actor, kind="company", data=COMPANY)
    records.record_create(
        actor=actor,
        kind="company",
        data={**COMPANY, "name": "Bergen Film AS", "contact_type": "Partner"},
    )
    page = signed_in
    page.set_viewport_size(viewport)
    page.goto("/records/companies/")
    expect(page.locator("table.records tbody tr")).to_have_count(2)
    page.get_by_text("Filters", exact=True).click()

    page.get_by_label("Contact type").select_option(label="Partner")

    expect(page.locator("table.records tbody tr")).to_have_count(1)
    expect(page.locator("table.records")).to_contain_text("Bergen Film AS")
    expect(page.locator(".chips")).to_contain_text("Contact type: Partner")
    assert "contact_type=Partner" in page.url
    fits(page, viewport)
    assert axe_violations(page) == []
    assert errors == []
