"""Choice lists on the pages: forms and lead conversion offer selects (a value stored before the
list stays selectable), record pages and lists show labels, filters offer the choices and the
lead sources in use, and the process page lists them."""

import re

from salesline.pipeline.services import opportunity_create
from salesline.records import services as records
from salesline.records.models import Company
from tests.conftest import COMPANY, LEAD


def html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def select(text: str, name: str) -> list[tuple[str, str]]:
    """(value, text) of the options of the select named `name`."""
    body = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', text, re.S)
    assert body, name
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', body.group(1))


def test_the_company_form_offers_every_choice_list_as_a_select(browser):
    text = html(browser.get("/records/companies/new/"))

    assert select(text, "contact_type") == [
        ("", "— choose —"),
        ("Customer", "Customer"),
        ("Prospect", "Prospect"),
        ("Partner", "Partner"),
        ("Reseller", "Reseller"),
        ("Supplier", "Supplier"),
    ]
    for name in ("business_unit", "market", "life_cycle", "sector", "segment"):
        assert len(select(text, name)) > 3, name
    assert 'name="website" type="text"' in text  # no list: free text


def test_a_value_stored_before_the_list_stays_selected_and_is_saved_unchanged(browser, company):
    Company.objects.filter(pk=company.pk).update(segment="SMB")
    text = html(browser.get(f"/records/companies/{company.pk}/edit/"))

    assert ("SMB", "SMB (not in the list)") in select(text, "segment")
    assert '<option value="SMB" selected>' in text


def test_lead_conversion_asks_for_company_fields_with_selects(browser, actor):
    lead = records.record_create(actor=actor, kind="lead", data=LEAD)

    text = html(browser.get(f"/records/leads/{lead.pk}/convert/"))

    assert ("Customer", "Customer") in select(text, "company-contact_type")
    assert ("Nordics", "Nordics") in select(text, "company-business_unit")
    assert '<option value="Nordics" selected>' in text


def test_the_record_page_and_the_list_show_a_choice_by_its_label(browser, actor):
    opportunity = opportunity_create(actor=actor, data={"name": "Scan", "sector": "public"})

    page = html(browser.get(f"/records/opportunities/{opportunity.pk}/"))

    assert "Public sector" in page
    assert ">public<" not in page


def test_list_filters_offer_the_choices_and_the_sources_in_use(browser, actor):
    records.record_create(actor=actor, kind="company", data=COMPANY)
    for n, source in enumerate(["Trade show", "trade show", "Website"]):
        records.record_create(
            actor=actor, kind="lead", data={**LEAD, "email": f"{n}@x.no", "source": source}
        )

    companies = html(browser.get("/records/companies/?contact_type=customer"))
    leads = html(browser.get("/records/leads/?source=TRADE+SHOW"))

    assert ("Customer", "Customer") in select(companies, "contact_type")
    assert '<option value="Customer" selected>' in companies
    assert "Acme Archives AS" in companies
    assert select(leads, "source") == [
        ("", "Any"),
        ("Trade show", "Trade show"),
        ("Website", "Website"),
    ]
    assert '<option value="Trade show" selected>' in leads
    assert leads.count("Kari Hansen") >= 2  # both spellings of the source are listed


def test_the_process_page_lists_the_choice_lists(browser):
    text = html(browser.get("/settings/process/"))

    assert "Choice lists" in text
    assert "Public sector, Private sector" in text
    assert "Customer, Prospect, Partner, Reseller, Supplier" in text
    # A gate's condition names the choices by label too.
    assert "Sector is one of Public sector, Private sector" in text
