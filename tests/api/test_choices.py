"""Choice lists through the API: a value outside a list is a 422 naming the field and the
allowed values; a choice is taken in any case and returned as declared; filters ignore case."""

from salesline.records.models import Company
from tests.conftest import COMPANY, LEAD


def test_a_value_outside_a_choice_list_is_422_listing_the_allowed_values(api):
    response = api.post("/companies", {**COMPANY, "contact_type": "Client", "segment": "Huge"})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "contact_type"],
            "msg": "Contact type must be one of: Customer, Prospect, Partner, Reseller, Supplier.",
            "type": "invalid",
        },
        {
            "loc": ["body", "segment"],
            "msg": "Segment must be one of: National, Regional, Municipal, Enterprise, "
            "Mid-market, Small business.",
            "type": "invalid",
        },
    ]
    assert not Company.objects.exists()


def test_a_choice_in_another_case_is_returned_as_declared(api, company):
    response = api.patch(f"/companies/{company.pk}", {"life_cycle": "former CUSTOMER"})

    assert response.status_code == 200, response.json()
    assert response.json()["life_cycle"] == "Former customer"


def test_list_filters_match_choices_and_sources_ignoring_case(api, company):
    lead = api.post("/leads", {**LEAD, "source": "Trade show"}).json()

    by_type = api.get("/companies?contact_type=CUSTOMER").json()["items"]
    by_source = api.get("/leads?source=trade%20SHOW").json()["items"]

    assert [item["id"] for item in by_type] == [company.pk]
    assert [item["id"] for item in by_source] == [lead["id"]]
    assert api.get("/leads?source=trade").json()["items"] == []
