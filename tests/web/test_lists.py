"""Record lists: the API's filters, search, ordering and keyset pages, scoped to the organisation."""

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.records import services as records

PASSWORD = "correct horse battery staple"


@pytest.fixture
def browser(org):
    member = accounts.user_create(
        email="ann@piql.test", organisation=org, role="salesperson", password=PASSWORD
    )
    client = Client()
    client.force_login(member)
    client.actor = accounts.actor_for(member, org)
    return client


def add_leads(actor, names, source="Expo"):
    for name in names:
        records.lead_create(
            actor=actor,
            data={
                "name": name,
                "email": f"{name.split()[0].lower()}@piql.com",
                "company_name": "Piql",
                "business_unit": "Nordics",
                "source": source,
                "details": "x",
            },
        )


@pytest.mark.parametrize("plural", ["companies", "people", "leads", "opportunities"])
def test_every_list_renders(browser, plural):
    page = browser.get(f"/records/{plural}/")
    assert page.status_code == 200
    assert f"No {plural} match.".encode() in page.content


def test_a_list_shows_only_this_organisation(browser, other_actor):
    add_leads(browser.actor, ["Ann Berg"])
    add_leads(other_actor, ["Eve Other"])
    page = browser.get("/records/leads/")
    assert b"Ann Berg" in page.content and b"Eve Other" not in page.content


def test_search_filter_and_ordering(browser):
    add_leads(browser.actor, ["Ann Berg", "Bo Li"], source="Web")
    add_leads(browser.actor, ["Anna Ek"], source="Expo")
    page = browser.get("/records/leads/?q=ann")
    assert b"Ann Berg" in page.content and b"Anna Ek" in page.content
    assert b"Bo Li" not in page.content
    page = browser.get("/records/leads/?source=Web&ordering=-name")
    text = page.content.decode()
    assert text.index("Bo Li") < text.index("Ann Berg") and "Anna Ek" not in text


def test_a_bad_filter_is_shown_not_a_500(browser):
    page = browser.get("/records/leads/?sauce=Web")
    assert page.status_code == 400
    assert b'role="alert"' in page.content and b"sauce" in page.content


def test_keyset_pages(browser):
    add_leads(browser.actor, [f"Person {i:02d}" for i in range(5)])
    first = browser.get("/records/leads/?ordering=name&limit=2")
    assert first.context["next_query"]
    second = browser.get("/records/leads/?" + first.context["next_query"])
    names = [row[0] for row in first.context["rows"] + second.context["rows"]]
    assert names == ["Person 00", "Person 01", "Person 02", "Person 03"]


def test_an_unknown_list_is_404(browser):
    assert browser.get("/records/deals/").status_code == 404
