"""Company and person pickers: the search they ask (organisation-scoped, live records only, a
contact narrowed to a company), and what the pages render so that a choice is never lost."""

import re

import pytest
from django.test import Client

from salesline.pipeline.services import opportunity_create
from salesline.records import services as records
from salesline.records.models import Person
from salesline.web.forms import PICKER_SIZE
from tests.conftest import COMPANY, CONVERT_PERSON, PERSON

SCRIPT = {"HTTP_X_REQUESTED_WITH": "fetch"}


@pytest.fixture
def web(user):
    client = Client()
    client.force_login(user)
    return client


def picked(web, url: str) -> list[dict]:
    response = web.get(url)
    assert response.status_code == 200, response.content
    return response.json()["items"]


def combobox_of(text: str, name: str) -> str:
    """The markup of the picker posting `name`: its wrapper and plain select."""
    found = re.search(
        rf'<div class="combobox" data-combobox[^>]*>\s*<select[^>]*name="{name}".*?</select>',
        text,
        re.S,
    )
    assert found, f"no picker for {name}"
    return found.group(0)


def test_pick_finds_by_any_word_in_this_organisation_only(web, company, other_actor, actor):
    records.record_create(actor=other_actor, kind="company", data={**COMPANY, "name": "Acme Else"})
    gone = records.record_create(actor=actor, kind="company", data={**COMPANY, "name": "Acme Gone"})
    records.record_delete(actor=actor, kind="company", record_id=gone.pk)
    assert picked(web, "/pick/companies/?q=acm") == [
        {"id": str(company.pk), "name": "Acme Archives AS", "detail": ""}
    ]
    assert [i["name"] for i in picked(web, "/pick/companies/?q=archiv")] == ["Acme Archives AS"]
    assert picked(web, "/pick/companies/?q=fjord") == []
    assert picked(web, "/pick/companies/?q=zz%00") == []


def test_pick_without_text_lists_the_first_by_name_and_no_more(web, actor):
    for n in range(PICKER_SIZE + 3):
        records.record_create(actor=actor, kind="company", data={**COMPANY, "name": f"Co {n:02}"})
    names = [item["name"] for item in picked(web, "/pick/companies/")]
    assert names == [f"Co {n:02}" for n in range(PICKER_SIZE)]


def test_pick_narrows_people_to_a_company_and_tells_them_apart(web, actor, company, person):
    other = records.record_create(actor=actor, kind="company", data={**COMPANY, "name": "Fjord"})
    namesake = records.record_create(
        actor=actor,
        kind="person",
        data={**PERSON, "email": "ola@fjord.no", "company_id": other.pk},
    )
    everyone = picked(web, "/pick/people/?q=ola")
    assert {i["id"] for i in everyone} == {str(person.pk), str(namesake.pk)}
    assert {i["detail"] for i in everyone} == {
        "ola@acme.no · Acme Archives AS",
        "ola@fjord.no · Fjord",
    }
    at_fjord = picked(web, f"/pick/people/?q=ola&company={other.pk}")
    assert [i["id"] for i in at_fjord] == [str(namesake.pk)]
    assert [i["id"] for i in picked(web, f"/pick/people/?company={company.pk}")] == [str(person.pk)]


def test_pick_refuses_what_it_cannot_pick(web, other_actor, person):
    theirs = records.record_create(actor=other_actor, kind="company", data=COMPANY)
    # Another organisation's company narrows to nobody, never to its people.
    assert picked(web, f"/pick/people/?company={theirs.pk}") == []
    bad = web.get("/pick/people/?company=acme")
    assert bad.status_code == 400 and "company" in bad.json()["detail"]
    assert picked(web, f"/pick/people/?company={2**70}") == []
    assert (
        web.get("/pick/leads/?q=a").status_code == 200
    )  # the message-template preview picks leads
    assert web.get("/pick/nothing/").status_code == 404
    assert web.post("/pick/companies/").status_code == 405
    assert Client().get("/pick/companies/").status_code == 302  # signed in only


def test_the_form_picker_degrades_to_a_select_and_keeps_the_choice(web, actor, company):
    # The chosen company is beyond the first names: still shown, by name, after a refusal.
    for n in range(PICKER_SIZE):
        records.record_create(actor=actor, kind="company", data={**COMPANY, "name": f"A {n:02}"})
    response = web.post("/records/people/new/", {"company_id": str(company.pk), "name": ""})
    assert response.status_code == 400
    picker = combobox_of(response.content.decode(), "company_id")
    assert 'data-source="/pick/companies/"' in picker and 'data-kind="company"' in picker
    assert 'data-name="Acme Archives AS"' in picker
    assert f'<option value="{company.pk}" selected>Acme Archives AS</option>' in picker
    assert picker.count("<option") == PICKER_SIZE + 2  # none, the chosen one, the first 20


def test_the_contact_picker_is_narrowed_to_the_forms_company(web, actor, company, person):
    other = records.record_create(actor=actor, kind="company", data={**COMPANY, "name": "Else"})
    records.record_create(
        actor=actor,
        kind="person",
        data={**PERSON, "name": "Kim Else", "email": "kim@else.no", "company_id": other.pk},
    )
    deal = opportunity_create(actor=actor, data={"name": "Deal", "company_id": company.pk})
    text = web.get(f"/records/opportunities/{deal.pk}/edit/").content.decode()
    contact = combobox_of(text, "primary_contact_id")
    assert 'data-narrow="company_id"' in contact and 'data-source="/pick/people/"' in contact
    assert "Ola Nordmann" in contact and "Kim Else" not in contact
    # Listed when no company narrows:
    assert "Kim Else" in combobox_of(
        web.get("/records/opportunities/new/").content.decode(), "primary_contact_id"
    )


def test_the_gate_panel_pickers_search_and_keep_a_choice(web, actor, company, person):
    for n in range(PICKER_SIZE):
        records.record_create(actor=actor, kind="company", data={**COMPANY, "name": f"A {n:02}"})
    deal = opportunity_create(actor=actor, data={"name": "Deal"})
    answer = web.post(
        f"/board/move/{deal.pk}/", {"stage": "qualify", "company_id": str(company.pk)}, **SCRIPT
    )
    assert answer.status_code == 422
    text = answer.content.decode()
    chosen = combobox_of(text, "company_id")
    assert 'data-source="/pick/companies/"' in chosen
    assert f'<option value="{company.pk}" selected>Acme Archives AS</option>' in chosen
    contact = combobox_of(text, "primary_contact_id")
    assert 'data-source="/pick/people/"' in contact and 'data-narrow="company_id"' in contact


def test_conversion_links_a_company_and_person_chosen_in_the_pickers(web, actor, lead):
    fjord = records.record_create(actor=actor, kind="company", data={**COMPANY, "name": "Fjord"})
    kim = records.record_create(
        actor=actor, kind="person", data={**PERSON, "name": "Kim", "company_id": fjord.pk}
    )
    page = web.get(f"/records/leads/{lead.pk}/convert/").content.decode()
    assert 'value="other"' in page
    assert 'data-source="/pick/companies/"' in combobox_of(page, "company_id")
    assert 'data-narrow="company_id"' in combobox_of(page, "person_id")
    response = web.post(
        f"/records/leads/{lead.pk}/convert/",
        {
            "company_choice": "other",
            "company_id": str(fjord.pk),
            "person_choice": "other",
            "person_id": str(kim.pk),
        },
    )
    assert response.status_code == 302, response.content
    lead.refresh_from_db()
    assert (lead.converted_company, lead.converted_person) == (fjord, kim)
    assert Person.objects.count() == 1


def test_conversion_names_a_missing_or_foreign_choice_and_keeps_the_rest(
    web, actor, other_actor, lead
):
    fjord = records.record_create(actor=actor, kind="company", data={**COMPANY, "name": "Fjord"})
    their_company = records.record_create(actor=other_actor, kind="company", data=COMPANY)
    theirs = records.record_create(
        actor=other_actor, kind="person", data={**PERSON, "company_id": their_company.pk}
    )
    response = web.post(
        f"/records/leads/{lead.pk}/convert/",
        {
            "company_choice": "other",
            "company_id": str(fjord.pk),
            "person_choice": "other",
            "person_id": str(theirs.pk),
            **{f"person-{k}": v for k, v in CONVERT_PERSON.items()},
        },
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert f"No person with id {theirs.pk} to link to." in text
    assert 'id="f-person_id-errors"' in text
    # The company chosen stays chosen, by name.
    assert 'data-name="Fjord"' in combobox_of(text, "company_id")
    empty = web.post(
        f"/records/leads/{lead.pk}/convert/",
        {"company_choice": "other", "company_id": "", "person_choice": "new"},
    )
    assert empty.status_code == 400
    assert "Choose a company, or create a new one." in empty.content.decode()
    lead.refresh_from_db()
    assert lead.converted_at is None and list(Person.objects.all()) == [theirs]
