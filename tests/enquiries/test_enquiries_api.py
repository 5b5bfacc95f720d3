"""GET/POST /api/v1/enquiries and GET/PATCH /api/v1/enquiries/{id} (the issue's contract)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesline.core.models import AuditEvent
from salesline.enquiries import intake
from salesline.enquiries.models import Enquiry, RotaPeriod

CONTRACT_FIELDS = {
    "id",
    "reference",
    "network",
    "name",
    "email",
    "organisation_name",
    "country",
    "message",
    "category",
    "status",
    "chair_org",
    "respond_by",
    "lead_id",
}


@pytest.fixture
def chair(world):
    """Webarchitects on duty this quarter."""
    today = timezone.localdate()
    return RotaPeriod.objects.create(
        network=world.network,
        organisation=world.webarch.org,
        person=world.webarch.user,
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=60),
    )


def _receive(world, **data):
    values = {"name": "Jo Baker", "email": "jo@bakery.test", "message": "A website, please."}
    values.update(data)
    return intake.enquiry_receive(network=world.network, data=values, source="form")


def test_a_member_records_an_enquiry(world, chair):
    response = world.outlandish.api.post(
        "/enquiries",
        {
            "network": "cotech",
            "name": "Jo Baker",
            "email": "Jo@Bakery.test",
            "organisation_name": "Bakery Co-op",
            "country": "gb",
            "message": "We need a shop.",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= CONTRACT_FIELDS
    assert body["reference"].startswith("COTECH-")
    assert body["network"] == "cotech"
    assert body["email"] == "jo@bakery.test"
    assert body["country"] == "GB"
    assert (body["status"], body["category"], body["lead_id"]) == ("new", "", None)
    assert body["chair_org"] == world.webarch.org.slug
    assert body["source"] == "api"
    assert dt.date.fromisoformat(body["respond_by"]) > timezone.localdate()
    assert response.headers["ETag"] == f'"{body["id"]}-1"'


def test_posting_names_every_bad_field_and_records_nothing(world):
    response = world.webarch.api.post(
        "/enquiries",
        {"network": "cotech", "email": "not an address", "country": "ZZ", "message": ""},
    )
    assert response.status_code == 422
    locs = sorted(tuple(p["loc"]) for p in response.json()["detail"])
    assert locs == [("body", "country"), ("body", "email"), ("body", "message")]
    assert not Enquiry.objects.exists()


def test_outsiders_cannot_post_or_see_enquiries(world):
    enquiry = _receive(world)
    assert (
        world.outsider.api.post(
            "/enquiries", {"network": "cotech", "name": "x", "message": "y"}
        ).status_code
        == 404
    )
    assert world.outsider.api.get(f"/enquiries/{enquiry.pk}").status_code == 404
    assert world.outsider.api.get("/enquiries").json()["count"] == 0
    assert (
        world.outsider.api.request("patch", f"/enquiries/{enquiry.pk}", {"status": "closed"})
    ).status_code == 404
    assert world.webarch.api.get("/enquiries/abc").status_code == 404
    assert world.webarch.api.get("/enquiries/99999999").status_code == 404


def test_the_list_filters_searches_pages_and_counts_its_queries(world, chair):
    first = _receive(world, name="Ada Lovelace", email="ada@engines.test")
    second = _receive(world, organisation_name="Bakery Co-op")
    third = _receive(world, email="zed@zoo.test", name="Zed")
    Enquiry.objects.filter(pk=second.pk).update(category="sales", status="triaged")
    Enquiry.objects.filter(pk=third.pk).update(chair_org=world.outlandish.org)
    api = world.agile.api

    def refs(query=""):
        response = api.get(f"/enquiries{query}")
        assert response.status_code == 200, response.content
        return [item["reference"] for item in response.json()["items"]]

    assert refs() == [third.reference, second.reference, first.reference]
    assert refs("?status=triaged") == [second.reference]
    assert refs("?category=sales") == [second.reference]
    assert refs(f"?chair_org={world.outlandish.org.slug}") == [third.reference]
    assert refs(f"?chair_org={world.webarch.org.slug}") == [second.reference, first.reference]
    assert refs("?q=lovelace") == [first.reference]
    assert refs("?q=BAKERY") == [second.reference]
    assert refs("?q=zoo.test") == [third.reference]
    assert refs(f"?q={first.reference}") == [first.reference]
    page = api.get("/enquiries?limit=2&offset=1").json()
    assert (page["count"], page["limit"], page["offset"]) == (3, 2, 1)
    assert [i["reference"] for i in page["items"]] == [second.reference, first.reference]
    bad = api.get("/enquiries?status=open&category=x&limit=0")
    assert bad.status_code == 422
    assert sorted(p["loc"][1] for p in bad.json()["detail"]) == ["category", "limit", "status"]
    # The query count does not grow with the rows (attachments included).
    for n in range(5):
        _receive(world, name=f"More {n}")
    with CaptureQueriesContext(connection) as few:
        assert api.get("/enquiries?limit=2").status_code == 200
    with CaptureQueriesContext(connection) as many:
        assert api.get("/enquiries?limit=8").status_code == 200
    assert len(few) == len(many) <= 8


def test_get_answers_the_enquiry_to_every_member(world, chair):
    enquiry = _receive(world)
    for member in world.members:
        response = member.api.get(f"/enquiries/{enquiry.pk}")
        assert response.status_code == 200
        assert response.json()["reference"] == enquiry.reference
        assert response.json()["overdue"] is False


def test_patch_is_for_the_chair_and_the_coordinator(world, chair):
    enquiry = _receive(world)
    path = f"/enquiries/{enquiry.pk}"
    refused = world.outlandish.api.request("patch", path, {"category": "sales"})
    assert refused.status_code == 403
    by_chair = world.webarch.api.request("patch", path, {"category": "sales", "status": "triaged"})
    assert by_chair.status_code == 200, by_chair.content
    assert (by_chair.json()["category"], by_chair.json()["status"]) == ("sales", "triaged")
    by_coordinator = world.coordinator.api.request(
        "patch", path, {"organisation_name": "Bakery Workers' Co-op", "status": "replied"}
    )
    assert by_coordinator.status_code == 200
    enquiry.refresh_from_db()
    assert enquiry.status == "replied"
    assert enquiry.first_response_at is not None
    first_response = enquiry.first_response_at
    world.coordinator.api.request("patch", path, {"status": "triaged"})
    world.coordinator.api.request("patch", path, {"status": "replied"})
    enquiry.refresh_from_db()
    assert enquiry.first_response_at == first_response  # set once
    event = AuditEvent.objects.filter(
        organisation=world.network.organisation, object_type="enquiry", action="update"
    ).first()
    assert event.changes["category"] == ["", "sales"]
    assert event.changes["status"] == ["new", "triaged"]
    assert event.actor == world.webarch.user


def test_patch_refuses_bad_values_and_stale_versions(world, chair):
    enquiry = _receive(world)
    path = f"/enquiries/{enquiry.pk}"
    api = world.coordinator.api
    bad = api.request("patch", path, {"status": "open", "category": "x", "email": "nope"})
    assert bad.status_code == 422
    assert sorted(p["loc"][1] for p in bad.json()["detail"]) == ["category", "email", "status"]
    assert api.request("patch", path, {"colour": "red"}).status_code == 422
    etag = api.get(path).headers["ETag"]
    assert api.request("patch", path, {"category": "jobs"}, HTTP_IF_MATCH=etag).status_code == 200
    stale = api.request("patch", path, {"category": "research"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    enquiry.refresh_from_db()
    assert (enquiry.category, enquiry.version) == ("jobs", 2)


def test_an_enquiry_past_its_deadline_is_overdue(world):
    enquiry = _receive(world)
    Enquiry.objects.filter(pk=enquiry.pk).update(
        respond_by=timezone.localdate() - dt.timedelta(days=1)
    )
    assert world.webarch.api.get(f"/enquiries/{enquiry.pk}").json()["overdue"] is True
