"""Record pages: create and edit forms with the services' validation, stale edits refused,
inline editing, notes, delete and restore, lead conversion — all scoped to the organisation."""

import re

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.pipeline.models import Opportunity
from salesline.pipeline.services import opportunity_create
from salesline.records import selectors
from salesline.records import services as records
from salesline.records.models import Company, Lead, Note, Person
from tests.conftest import COMPANY, CONVERT_COMPANY, CONVERT_PERSON, LEAD, PERSON

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def browser(org, user):
    """The salesperson `user` signed in (the record fixtures are theirs)."""
    client = Client()
    client.force_login(user)
    client.actor = accounts.actor_for(user, org)
    return client


def html(response) -> str:
    return response.content.decode()


def form_of(response) -> dict[str, str]:
    """What the page's record form would post as it stands (every input, select and textarea)."""
    text = html(response)
    values = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', text):
        values[name] = value
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', text, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        values[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', text, re.S):
        values[name] = body
    values.pop("q", None)
    return values


# ---------------------------------------------------------------- pages render


@pytest.mark.parametrize("plural", ["companies", "people", "leads", "opportunities"])
def test_every_create_form_renders_with_labelled_inputs(browser, plural):
    page = browser.get(f"/records/{plural}/new/")
    assert page.status_code == 200
    text = html(page)
    for input_id in re.findall(r'<(?:input|select|textarea) id="([^"]+)"', text):
        assert f'for="{input_id}"' in text, input_id


def test_inputs_have_the_right_types(browser, company_custom_fields):
    text = html(browser.get("/records/opportunities/new/"))
    assert 'name="expected_close_date" type="date"' in text
    assert 'name="value" type="number"' in text
    assert '<textarea id="f-use_case"' in text
    assert '<option value="public">Public sector</option>' in text
    assert 'value="business-development/identify" selected' in text
    text = html(browser.get("/records/people/new/"))
    assert 'name="email" type="email"' in text
    text = html(browser.get("/records/companies/new/"))
    assert 'name="cf_founded" type="date"' in text
    assert '<option value="gold">gold</option>' in text
    assert '<option value="true">Yes</option>' in text  # a boolean custom field


def test_a_record_page_shows_related_records(browser, company, person, actor):
    deal = opportunity_create(
        actor=actor,
        data={"name": "Deal", "company_id": company.pk, "primary_contact_id": person.pk},
    )
    page = html(browser.get(f"/records/companies/{company.pk}/"))
    assert f'href="/records/people/{person.pk}/">Ola Nordmann' in page
    assert f'href="/records/opportunities/{deal.pk}/">Deal' in page
    page = html(browser.get(f"/records/people/{person.pk}/"))
    assert f'href="/records/companies/{company.pk}/">Acme Archives AS' in page
    assert f'href="/records/opportunities/{deal.pk}/">Deal' in page
    page = html(browser.get(f"/records/opportunities/{deal.pk}/"))
    assert "Stage history" in page and f'href="/records/people/{person.pk}/"' in page


# ---------------------------------------------------------------- create


def test_create_a_company(browser, user):
    response = browser.post("/records/companies/new/", {**COMPANY, "owner_id": user.pk})
    company = Company.objects.get(name="Acme Archives AS")
    assert response.status_code == 302
    assert response["Location"] == f"/records/companies/{company.pk}/"
    assert company.market == "Norway" and company.owner == user
    page = browser.get(response["Location"])
    assert "created" in html(page)


def test_create_a_person_at_a_company(browser, company):
    response = browser.post("/records/people/new/", {**PERSON, "company_id": company.pk})
    person = Person.objects.get(email="ola@acme.no")
    assert response.status_code == 302 and person.company == company


def test_create_a_lead(browser):
    response = browser.post("/records/leads/new/", LEAD)
    assert response.status_code == 302
    assert Lead.objects.get(email="kari@acme.no").source == "Trade show"


def test_create_an_opportunity_in_a_chosen_stage(browser, company):
    response = browser.post(
        "/records/opportunities/new/",
        {
            "name": "Archive deal",
            "stage": "business-development/identify",
            "value": "1200.50",
            "company_id": company.pk,
            "currency": "nok",
        },
    )
    assert response.status_code == 302
    deal = Opportunity.objects.get(name="Archive deal")
    assert deal.stage.key == "identify" and deal.company == company
    assert str(deal.value) == "1200.50" and deal.currency == "NOK"


def test_a_missing_minimum_field_is_shown_beside_it_and_typing_is_kept(browser):
    data = {**COMPANY, "market": ""}
    response = browser.post("/records/companies/new/", data)
    assert response.status_code == 400
    text = html(response)
    assert 'aria-describedby="f-market-errors"' in text and 'aria-invalid="true"' in text
    assert re.search(r'id="f-market-errors"><p>Market is required.</p>', text)
    assert 'value="Acme Archives AS"' in text  # what was typed stays
    assert 'role="alert"' in text
    assert not Company.objects.exists()


def test_a_bad_custom_field_value_and_a_bad_reference_are_refused(
    browser, company_custom_fields, other_actor
):
    stranger = records.record_create(actor=other_actor, kind="company", data=COMPANY)
    response = browser.post(
        "/records/companies/new/", {**COMPANY, "cf_employees": "many", "cf_tier": "bronze"}
    )
    assert response.status_code == 400
    text = html(response)
    assert "Employees must be a number." in text and 'id="f-cf_employees-errors"' in text
    assert "Tier must be one of: gold, silver." in text
    response = browser.post("/records/people/new/", {**PERSON, "company_id": stranger.pk})
    assert response.status_code == 400
    assert "refers to no company" in html(response) and 'id="f-company_id-errors"' in html(response)
    assert not Person.objects.exists()


def test_bad_numbers_and_dates_on_an_opportunity(browser):
    response = browser.post(
        "/records/opportunities/new/",
        {
            "name": "X",
            "value": "lots",
            "expected_close_date": "31/02/2027",
            "win_probability": "150",
            "stage": "business-development/nowhere",
        },
    )
    assert response.status_code == 400
    text = html(response)
    assert "Estimated value must be a number." in text
    assert "Expected close date must be a date (YYYY-MM-DD)." in text
    assert "Win probability must be between 0 and 100." in text
    assert "Unknown stage" in text and 'id="f-stage-errors"' in text
    assert not Opportunity.objects.exists()


def test_custom_field_values_are_saved(browser, company_custom_fields):
    response = browser.post(
        "/records/companies/new/",
        {
            **COMPANY,
            "cf_employees": "12",
            "cf_tier": "gold",
            "cf_listed": "true",
            "cf_founded": "1999-05-01",
        },
    )
    assert response.status_code == 302
    company = Company.objects.get()
    assert company.custom_fields == {
        "employees": 12,
        "tier": "gold",
        "listed": True,
        "founded": "1999-05-01",
    }
    page = html(browser.get(response["Location"]))
    assert "Yes" in page and "1 May 1999" in page  # the locale's date format


# ---------------------------------------------------------------- edit


def test_edit_prefills_and_saves(browser, company):
    form = form_of(browser.get(f"/records/companies/{company.pk}/edit/"))
    assert form["market"] == "Norway" and form["version"] == "1"
    response = browser.post(f"/records/companies/{company.pk}/edit/", {**form, "market": "Sweden"})
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.market == "Sweden" and company.version == 2


def test_edit_an_opportunity_moves_it_only_when_the_stage_changes(browser, opportunity):
    url = f"/records/opportunities/{opportunity.pk}/edit/"
    form = form_of(browser.get(url))
    assert browser.post(url, {**form, "vertical": "Health"}).status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.vertical == "Health" and opportunity.stage.key == "identify"
    form = form_of(browser.get(url))
    response = browser.post(url, {**form, "stage": "business-development/qualify"})
    assert response.status_code == 400  # the qualify gate asks for a company, a contact…
    assert "required" in html(response)
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "identify"


def test_a_stale_edit_is_refused_and_overwrites_nothing(browser, company, actor):
    url = f"/records/companies/{company.pk}/edit/"
    form = form_of(browser.get(url))
    records.record_update(
        actor=actor, kind="company", record_id=company.pk, data={"market": "Denmark"}
    )
    response = browser.post(url, {**form, "market": "Sweden", "segment": "SMB"})
    assert response.status_code == 409
    text = html(response)
    assert "changed by someone else since you opened it" in text
    assert 'value="Denmark"' in text  # the current value is shown…
    assert "You had entered: Sweden" in text  # …with what the user typed beside it
    company.refresh_from_db()
    assert company.market == "Denmark" and company.segment == "Enterprise"


def test_an_edit_without_a_version_is_refused(browser, company):
    response = browser.post(f"/records/companies/{company.pk}/edit/", {**COMPANY, "market": "X"})
    assert response.status_code == 409
    company.refresh_from_db()
    assert company.market == "Norway"


def test_an_invalid_edit_keeps_the_typing(browser, person):
    url = f"/records/people/{person.pk}/edit/"
    form = form_of(browser.get(url))
    response = browser.post(url, {**form, "email": "not an address", "title": "Boss"})
    assert response.status_code == 400
    text = html(response)
    assert 'value="not an address"' in text and 'value="Boss"' in text
    assert 'id="f-email-errors"' in text
    person.refresh_from_db()
    assert person.title == "Head of Archives"


# ---------------------------------------------------------------- inline editing


def test_inline_edit_of_one_field(browser, company):
    url = f"/records/companies/{company.pk}/fields/market/edit/"
    fragment = html(browser.get(url, **HTMX))
    assert 'name="version" value="1"' in fragment and 'value="Norway"' in fragment
    response = browser.post(url, {"market": "Iceland", "version": "1"}, **HTMX)
    assert response.status_code == 200
    assert 'id="field-market"' in html(response) and "Iceland" in html(response)
    company.refresh_from_db()
    assert company.market == "Iceland" and company.version == 2
    cancel = browser.get(f"/records/companies/{company.pk}/fields/market/", **HTMX)
    assert "Iceland" in html(cancel) and "<form" not in html(cancel)


def test_inline_edit_errors_stay_in_place(browser, opportunity):
    url = f"/records/opportunities/{opportunity.pk}/fields/sector/edit/"
    response = browser.post(url, {"sector": "secret", "version": opportunity.version}, **HTMX)
    assert response.status_code == 400
    allowed = "public (Public sector), private (Private sector)"
    assert f"Sector must be one of: {allowed}." in html(response)
    assert 'id="field-sector"' in html(response)
    opportunity.refresh_from_db()
    assert opportunity.sector == ""


def test_a_stale_inline_edit_is_refused(browser, company, actor):
    url = f"/records/companies/{company.pk}/fields/market/edit/"
    records.record_update(
        actor=actor, kind="company", record_id=company.pk, data={"market": "Denmark"}
    )
    response = browser.post(url, {"market": "Iceland", "version": "1"}, **HTMX)
    assert response.status_code == 409
    assert "changed by someone else" in html(response) and 'value="Denmark"' in html(response)
    company.refresh_from_db()
    assert company.market == "Denmark"


def test_inline_edit_of_a_custom_field_and_without_javascript(
    browser, company, company_custom_fields
):
    url = f"/records/companies/{company.pk}/fields/cf_tier/edit/"
    response = browser.post(url, {"cf_tier": "gold", "version": "1"})
    assert response.status_code == 302  # a plain post goes back to the page
    company.refresh_from_db()
    assert company.custom_fields == {"tier": "gold"}


def test_an_unknown_field_is_404(browser, company):
    assert browser.get(f"/records/companies/{company.pk}/fields/salary/edit/").status_code == 404
    assert (
        browser.post(
            f"/records/companies/{company.pk}/fields/salary/edit/", {"salary": "1", "version": "1"}
        ).status_code
        == 404
    )


# ---------------------------------------------------------------- notes


def test_a_note_is_added_and_shown_as_text(browser, lead):
    response = browser.post(
        f"/records/leads/{lead.pk}/notes/", {"body": "<script>alert('x')</script> call back"}
    )
    assert response.status_code == 302
    note = Note.objects.get()
    assert note.lead == lead
    page = html(browser.get(f"/records/leads/{lead.pk}/"))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; call back" in page


def test_an_empty_note_is_refused(browser, company):
    response = browser.post(f"/records/companies/{company.pk}/notes/", {"body": "  "})
    assert response.status_code == 400
    assert "A note needs some text." in html(response)
    assert not Note.objects.exists()


# ---------------------------------------------------------------- delete and restore


def test_delete_asks_first_then_can_be_undone(browser, company, actor):
    confirm = browser.get(f"/records/companies/{company.pk}/delete/")
    assert "Delete “Acme Archives AS”?" in html(confirm)
    response = browser.post(f"/records/companies/{company.pk}/delete/")
    assert response["Location"] == f"/records/companies/{company.pk}/deleted/"
    assert browser.get(f"/records/companies/{company.pk}/").status_code == 404
    assert "Restore company" in html(browser.get(response["Location"]))
    restored = browser.post(f"/records/companies/{company.pk}/restore/")
    assert restored["Location"] == f"/records/companies/{company.pk}/"
    assert selectors.record_get_for(actor=actor, kind="company", record_id=company.pk)


def test_restoring_a_live_record_is_404(browser, company):
    assert browser.post(f"/records/companies/{company.pk}/restore/").status_code == 404
    assert browser.get(f"/records/companies/{company.pk}/deleted/").status_code == 404


# ---------------------------------------------------------------- lead conversion


def test_conversion_without_matches_creates_person_and_company(browser, lead):
    page = html(browser.get(f"/records/leads/{lead.pk}/convert/"))
    assert "No existing company matches" in page and "No existing person matches" in page
    assert 'name="company-name" type="text" value="Acme Archives"' in page
    form = form_of(browser.get(f"/records/leads/{lead.pk}/convert/"))
    form |= {f"company-{k}": v for k, v in CONVERT_COMPANY.items()}
    form |= {f"person-{k}": v for k, v in CONVERT_PERSON.items()}
    response = browser.post(f"/records/leads/{lead.pk}/convert/", form)
    lead.refresh_from_db()
    assert lead.converted_at is not None
    assert response["Location"] == f"/records/people/{lead.converted_person_id}/"
    assert lead.converted_company.market == "Norway"
    assert lead.converted_person.company == lead.converted_company
    assert lead.converted_opportunity is None


def test_conversion_shows_the_matches_and_links_them(browser, lead, company, actor):
    kari = records.record_create(
        actor=actor,
        kind="person",
        data={**PERSON, "name": "Kari Hansen", "email": "kari@acme.no", "company_id": company.pk},
    )
    page = html(browser.get(f"/records/leads/{lead.pk}/convert/"))
    assert "Found an existing company" in page and "e-mail domain acme.no" in page
    assert "Found an existing person" in page and "e-mail kari@acme.no" in page
    response = browser.post(
        f"/records/leads/{lead.pk}/convert/",
        {
            "company_choice": "link",
            "person_choice": "link",
            "create_opportunity": "on",
            "pipeline": "business-development",
            "opportunity-name": "Acme archive",
        },
    )
    lead.refresh_from_db()
    assert (lead.converted_person, lead.converted_company) == (kari, company)
    assert Person.objects.count() == 1 and Company.objects.count() == 1
    deal = lead.converted_opportunity
    assert response["Location"] == f"/records/opportunities/{deal.pk}/"
    assert deal.name == "Acme archive" and deal.primary_contact == kari


def test_conversion_can_create_new_records_despite_a_match(browser, lead, company):
    form = form_of(browser.get(f"/records/leads/{lead.pk}/convert/"))
    form |= {f"company-{k}": v for k, v in CONVERT_COMPANY.items()}
    form |= {f"person-{k}": v for k, v in CONVERT_PERSON.items()}
    form["company_choice"] = "new"
    response = browser.post(f"/records/leads/{lead.pk}/convert/", form)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.converted_company != company and Company.objects.count() == 2


def test_conversion_problems_are_shown_by_field_and_nothing_is_written(browser, lead):
    response = browser.post(
        f"/records/leads/{lead.pk}/convert/",
        {
            "company_choice": "new",
            "person_choice": "new",
            "company-name": "Acme Archives",
            "person-name": "Kari Hansen",
            "create_opportunity": "on",
            "pipeline": "nope",
        },
    )
    assert response.status_code == 400
    text = html(response)
    assert 'id="f-company-market-errors"' in text and "Market is required." in text
    assert 'id="f-person-title-errors"' in text
    lead.refresh_from_db()
    assert lead.converted_at is None and not Company.objects.exists()


def test_a_converted_lead_cannot_be_converted_again(browser, lead, company, person):
    browser.post(
        f"/records/leads/{lead.pk}/convert/",
        {
            "company_choice": "link",
            "person_choice": "new",
            **{
                f"person-{k}": v
                for k, v in {**PERSON, "name": "Kari Hansen", "email": "kari@acme.no"}.items()
            },
        },
    )
    lead.refresh_from_db()
    assert lead.converted_at is not None
    page = html(browser.get(f"/records/leads/{lead.pk}/convert/"))
    assert "This lead was converted on" in page and '<form method="post" class="convert' not in page
    assert "Convert</a>" not in html(browser.get(f"/records/leads/{lead.pk}/"))
    again = browser.post(f"/records/leads/{lead.pk}/convert/", {"company_choice": "link"})
    assert again.status_code == 409 and "already converted" in html(again)


# ---------------------------------------------------------------- scoping and bad input


def test_another_organisations_records_are_404(browser, other_actor):
    other = records.record_create(actor=other_actor, kind="lead", data=LEAD)
    base = f"/records/leads/{other.pk}"
    for url in [
        f"{base}/",
        f"{base}/edit/",
        f"{base}/fields/name/edit/",
        f"{base}/fields/name/",
        f"{base}/delete/",
        f"{base}/convert/",
        f"{base}/deleted/",
    ]:
        assert browser.get(url).status_code == 404, url
    for url in [
        f"{base}/edit/",
        f"{base}/fields/name/edit/",
        f"{base}/notes/",
        f"{base}/delete/",
        f"{base}/convert/",
        f"{base}/restore/",
    ]:
        assert (
            browser.post(url, {"name": "Mine now", "version": "1", "body": "x"}).status_code == 404
        ), url
    other.refresh_from_db()
    assert other.name == "Kari Hansen" and other.deleted_at is None and not Note.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/records/companies/999999/",
        "/records/companies/999999/edit/",
        "/records/companies/99999999999999999999999/",
        "/records/companies/99999999999999999999999/restore/",
        "/records/deals/new/",
        "/records/deals/1/edit/",
        "/records/companies/0/delete/",
        "/records/leads/99999999999999999999999/convert/",
    ],
)
def test_bad_ids_and_kinds_are_404(browser, url):
    assert browser.get(url).status_code in (404, 405)
    assert browser.post(url, {"version": "1"}).status_code == 404


def test_pages_need_a_signed_in_member(client, company):
    response = client.get(f"/records/companies/{company.pk}/edit/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_conversion_asks_for_a_custom_minimum_field(browser, lead, admin_actor):
    from tests.conftest import edit_definition

    def require_concept(document):
        document["minimum_fields"]["person"].append("buying_influence_concept")

    edit_definition(admin_actor, require_concept)
    page = html(browser.get(f"/records/leads/{lead.pk}/convert/"))
    assert 'name="person-cf_buying_influence_concept"' in page
    response = browser.post(
        f"/records/leads/{lead.pk}/convert/",
        {"company_choice": "new", "person_choice": "new", "person-name": "Kari Hansen"},
    )
    assert response.status_code == 400
    assert 'id="f-person-cf_buying_influence_concept-errors"' in html(response)
