"""One rule per field in every interface: web addresses, LinkedIn and phone numbers are cleaned
by the import's normaliser on every write — the API and the web forms refuse what an import
refuses, and store what it would store."""

import pytest
from django.test import Client
from django.urls import reverse

from salesline.accounts import services as accounts
from salesline.records.models import Company, Person
from tests.conftest import COMPANY, PERSON

BAD_WEBSITES = [
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://user:pw@evil.example",
    "ftp://files.example.com",
    "https://exa mple.com",
]
BAD_PHONES = ["not a phone", "0000000000", "+1 123 456 7890", "12"]


@pytest.mark.parametrize("website", BAD_WEBSITES)
def test_the_api_refuses_a_website_an_import_refuses(api, website):
    response = api.post("/companies", {**COMPANY, "website": website})

    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "website"]
    assert problem["msg"].startswith("Website is not a web address")
    assert not Company.objects.exists()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("//evil.example", "https://evil.example"),
        ("WWW.Acme.NO/", "https://www.acme.no"),
        ("http://acme.no:80/about", "http://acme.no/about"),
    ],
)
def test_the_api_stores_a_website_as_an_import_would(api, typed, stored):
    response = api.post("/companies", {**COMPANY, "website": typed})

    assert response.status_code == 201, response.content
    assert response.json()["website"] == stored


@pytest.mark.parametrize("linkedin", ["javascript:alert(1)", "mailto:x@acme.no"])
def test_the_api_refuses_a_linkedin_address_that_is_not_a_web_address(api, company, linkedin):
    response = api.post("/people", {**PERSON, "company_id": company.pk, "linkedin": linkedin})

    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["body", "linkedin"]]


@pytest.mark.parametrize("phone", BAD_PHONES)
def test_the_api_refuses_a_phone_number_an_import_refuses(api, company, phone):
    response = api.post("/people", {**PERSON, "company_id": company.pk, "phone": phone})

    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "phone"]
    assert problem["msg"].startswith("Phone ")
    assert not Person.objects.exists()


def test_a_phone_number_is_stored_in_e164(api, company):
    response = api.post("/people", {**PERSON, "company_id": company.pk, "phone": "+47 22 00 00 00"})

    assert response.json()["phone"] == "+4722000000"


def test_a_local_number_needs_the_organisation_s_phone_region(api, org, company):
    local = {**PERSON, "company_id": company.pk, "phone": "020 7946 0018"}

    without = api.post("/people", local)
    org.phone_region = "GB"
    org.save(update_fields=["phone_region"])
    with_region = api.post("/people", local)

    assert without.status_code == 422
    assert without.json()["detail"][0]["msg"] == (
        "Phone needs a country code (+..) or a phone region."
    )
    assert with_region.status_code == 201
    assert with_region.json()["phone"] == "+442079460018"


def test_an_organisation_is_created_with_a_phone_region(db):
    from salesline.process.services import organisation_create

    organisation = organisation_create(
        name="UK Ltd", template="business-development", phone_region="gb"
    )

    assert organisation.phone_region == "GB"


def test_an_unknown_phone_region_is_refused(db):
    from salesline.core.errors import ValidationFailed
    from salesline.process.services import organisation_create

    with pytest.raises(ValidationFailed) as refused:
        organisation_create(name="X", template="business-development", phone_region="XX")

    assert [p.loc for p in refused.value.problems] == [("phone_region",)]


# ---------------------------------------------------------------- the same through the web


@pytest.fixture
def browser(org):
    member = accounts.user_create(
        email="ann@piql.test", actor=accounts.system_actor(org), role="salesperson"
    )
    client = Client()
    client.force_login(member)
    return client


def form_errors(response, name):
    return next(i.errors for i in response.context["inputs"] if i.name == name)


@pytest.mark.parametrize("website", BAD_WEBSITES)
def test_the_web_form_refuses_a_website_an_import_refuses(browser, website):
    response = browser.post(
        reverse("web:record-create", args=["companies"]), {**COMPANY, "website": website}
    )

    assert response.status_code == 400
    assert form_errors(response, "website")[0].startswith("Website is not a web address")
    assert not Company.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("phone", p) for p in BAD_PHONES] + [("linkedin", "javascript:x")]
)
def test_the_web_form_refuses_a_phone_or_linkedin_an_import_refuses(browser, company, field, value):
    data = {**PERSON, "company_id": str(company.pk), field: value}

    response = browser.post(reverse("web:record-create", args=["people"]), data)

    assert response.status_code == 400
    assert form_errors(response, field)
    assert not Person.objects.exists()
