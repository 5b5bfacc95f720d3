"""The quality rating in the API: fields on the opportunity, ordering and filters of the list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesline.core.tasks import run_pending_tasks
from salesline.pipeline.services import opportunity_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rated(actor, person):
    """Three opportunities, rated 60 (nothing but a name), 75 (a contact) and 85 (and a value)
    under the default specs of the business-development template."""
    plain = opportunity_create(actor=actor, data={"name": "Plain"})
    contact = opportunity_create(
        actor=actor, data={"name": "With contact", "primary_contact_id": person.pk}
    )
    valued = opportunity_create(
        actor=actor,
        data={"name": "Valued", "primary_contact_id": person.pk, "value": "1000"},
    )
    run_pending_tasks()
    return plain, contact, valued


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


def test_the_opportunity_shows_its_score_band_and_reasons(api, rated):
    plain, _, valued = rated
    body = api.get(f"/opportunities/{plain.pk}").json()
    assert (body["quality_score"], body["quality_band"]) == (60, "fair")
    unmet = [reason["text"] for reason in body["quality_reasons"] if not reason["met"]]
    assert unmet == [
        "Name a primary contact: who speaks for the customer?",
        "Set the expected close date.",
        "Estimate the value of the opportunity.",
    ]
    listed = {item["name"]: item for item in api.get("/opportunities").json()["items"]}
    assert listed["Valued"]["quality_score"] == 85
    assert listed["Valued"]["quality_band"] == "good"
    assert len(listed["Valued"]["quality_reasons"]) == 6


def test_an_opportunity_not_yet_rated_shows_nulls(api, actor):
    fresh = opportunity_create(actor=actor, data={"name": "Fresh"})
    body = api.get(f"/opportunities/{fresh.pk}").json()
    assert body["quality_score"] is None
    assert body["quality_reasons"] is None


def test_ordering_by_quality(api, rated):
    assert names(api.get("/opportunities?ordering=quality")) == ["Plain", "With contact", "Valued"]
    assert names(api.get("/opportunities?ordering=-quality")) == [
        "Valued",
        "With contact",
        "Plain",
    ]


def test_filtering_by_quality_and_band(api, rated):
    assert names(api.get("/opportunities?quality__gte=75&ordering=quality")) == [
        "With contact",
        "Valued",
    ]
    assert names(api.get("/opportunities?quality__lte=75&ordering=quality")) == [
        "Plain",
        "With contact",
    ]
    assert names(api.get("/opportunities?quality=85")) == ["Valued"]
    assert names(api.get("/opportunities?quality_band=fair")) == ["Plain"]


def test_bad_quality_filters_answer_422_naming_the_parameter(api, rated):
    response = api.get("/opportunities?quality__gte=high")
    assert response.status_code == 422
    assert "quality__gte" in response.content.decode()
    response = api.get("/opportunities?quality_band=excellent")
    assert response.status_code == 422
    assert "must be one of good, fair, poor" in response.content.decode()
    response = api.get("/opportunities?ordering=qualityx")
    assert response.status_code == 422
    assert "quality" in response.json()["detail"][0]["msg"]


def test_another_organisations_opportunities_stay_out(other_api, rated):
    assert names(other_api.get("/opportunities?ordering=-quality")) == []


def test_the_quality_list_costs_no_more_queries_than_the_plain_list(api, rated):
    api.get("/opportunities")  # warm caches (definition, token)
    with CaptureQueriesContext(connection) as plain:
        api.get("/opportunities")
    with CaptureQueriesContext(connection) as by_quality:
        api.get("/opportunities?ordering=-quality&quality__gte=10")
    assert len(by_quality) == len(plain)
