"""The appointments, members and working-pattern API, as the contract has it."""

import pytest

from salesline.accounts import services as accounts
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db

SLOT = {"starts_at": "2027-03-01T10:00:00+00:00", "ends_at": "2027-03-01T11:00:00+00:00"}


def client_for(user, org):
    _, plain = accounts.token_create(user=user, actor=accounts.system_actor(org))
    return ApiClient(plain)


@pytest.fixture
def coordinator_api(coordinating, org):
    return client_for(coordinating, org)


def locs(response) -> dict:
    return {tuple(p["loc"]): p for p in response.json()["detail"]}


def test_create_get_patch_delete_restore(api, opportunity, user, located_opportunity):
    created = api.post(
        "/appointments",
        {
            "kind": "business_development",
            **SLOT,
            "opportunity_id": located_opportunity.pk,
            "objective": "Agree the pilot",
            "attendees": [{"name": "Pat", "email": "pat@windy.test"}],
            "title": "Pilot scope",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["owner_id"] == user.pk
    assert body["kind"] == "business_development"
    assert body["starts_at"].startswith("2027-03-01T10:00:00") and (
        body["starts_at"].endswith("+00:00") or body["starts_at"].endswith("Z")
    )
    assert body["location"] == {"address": "1 Wacker Dr, Chicago", "lat": 41.8781, "lon": -87.6298}
    assert body["uid"].endswith("@salesline")
    assert body["outcome"] == "" and body["cancelled_at"] is None
    got = api.get(f"/appointments/{body['id']}")
    assert got.status_code == 200 and got.json() == body

    moved = api.patch(
        f"/appointments/{body['id']}",
        {
            "starts_at": "2027-03-01T13:00:00+00:00",
            "ends_at": "2027-03-01T14:00:00+00:00",
            "outcome": "Pilot agreed",
        },
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["sequence"] == 1 and moved.json()["outcome"] == "Pilot agreed"

    deleted = api.delete(f"/appointments/{body['id']}")
    assert deleted.status_code == 200 and deleted.json()["cancelled_at"] is not None
    assert api.get(f"/appointments?owner_id={user.pk}").json()["count"] == 0
    assert api.get("/appointments?cancelled=true").json()["count"] == 1
    restored = api.post(f"/appointments/{body['id']}/restore")
    assert restored.status_code == 200 and restored.json()["cancelled_at"] is None


def test_business_development_without_opportunity_and_objective_names_each(api):
    response = api.post("/appointments", {"kind": "business_development", **SLOT})
    assert response.status_code == 422
    assert {("body", "opportunity_id"), ("body", "objective")} <= set(locs(response))


def test_naive_datetimes_are_refused(api):
    response = api.post(
        "/appointments",
        {"kind": "call", "starts_at": "2027-03-01T10:00:00", "ends_at": "2027-03-01T11:00:00"},
    )
    assert response.status_code == 422
    assert {("body", "starts_at"), ("body", "ends_at")} <= set(locs(response))


def test_capacity_answers_422_naming_the_rule(api, opportunity, org, user):
    from .conftest import pattern

    pattern(org, user, business_development_per_day=1)
    first = {
        "kind": "business_development",
        **SLOT,
        "opportunity_id": opportunity.pk,
        "objective": "Qualify",
    }
    assert api.post("/appointments", first).status_code == 201
    second = {**first, "starts_at": "2027-03-01T12:00:00Z", "ends_at": "2027-03-01T13:00:00Z"}
    response = api.post("/appointments", second)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["type"] == "capacity_per_day" and "Daily capacity" in problem["msg"]


def test_list_filters(api, opportunity):
    api.post("/appointments", {"kind": "call", **SLOT})
    api.post(
        "/appointments",
        {
            "kind": "business_development",
            "starts_at": "2027-03-02T10:00:00Z",
            "ends_at": "2027-03-02T11:00:00Z",
            "opportunity_id": opportunity.pk,
            "objective": "Qualify",
        },
    )
    assert api.get("/appointments").json()["count"] == 2
    assert api.get("/appointments?kind=call").json()["count"] == 1
    assert api.get(f"/appointments?opportunity_id={opportunity.pk}").json()["count"] == 1
    only = api.get("/appointments?from=2027-03-02&to=2027-03-02").json()
    assert [a["kind"] for a in only["items"]] == ["business_development"]
    bad = api.get("/appointments?kind=lunch&from=yesterday")
    assert bad.status_code == 422
    assert {("query", "kind"), ("query", "from")} <= set(locs(bad))


def test_permissions_and_isolation(api, coordinator_api, salesperson2, user, org, other_api):
    mine = api.post("/appointments", {"kind": "call", **SLOT}).json()
    # The coordinator runs the salesperson's calendar, not salesperson2's.
    on_theirs = coordinator_api.post(
        "/appointments",
        {
            "kind": "call",
            "owner_id": user.pk,
            "starts_at": "2027-03-01T12:00:00Z",
            "ends_at": "2027-03-01T13:00:00Z",
        },
    )
    assert on_theirs.status_code == 201
    refused = coordinator_api.post(
        "/appointments", {"kind": "call", "owner_id": salesperson2.pk, **SLOT}
    )
    assert refused.status_code == 403
    other = client_for(salesperson2, org)
    assert other.patch(f"/appointments/{mine['id']}", {"notes": "x"}).status_code == 403
    assert other.delete(f"/appointments/{mine['id']}").status_code == 403
    # Another organisation sees nothing.
    assert other_api.get(f"/appointments/{mine['id']}").status_code == 404
    assert other_api.patch(f"/appointments/{mine['id']}", {"notes": "x"}).status_code == 404
    assert other_api.delete(f"/appointments/{mine['id']}").status_code == 404
    assert other_api.get("/appointments").json()["count"] == 0


def test_members_and_me(admin_api, api, coordinator_api, user, coordinating, admin_user):
    listed = admin_api.get("/members")
    assert listed.status_code == 200
    body = listed.json()
    assert set(body) == {"items", "count"} and body["count"] == len(body["items"]) == 3
    by_email = {m["email"]: m for m in body["items"]}
    assert set(by_email["ann@piql.test"]) == {"id", "email", "name", "roles"}
    assert by_email["cora@piql.test"]["roles"] == ["sales_coordinator"]
    assert by_email["cora@piql.test"]["name"] == "Cora Ordinator"
    assert coordinator_api.get("/members").status_code == 200
    assert api.get("/members").status_code == 403
    me = api.get("/me").json()
    assert me == {
        "items": [{"id": user.pk, "email": "ann@piql.test", "name": "", "roles": ["salesperson"]}],
        "count": 1,
    }


def test_set_coordinates(admin_api, api, coordinator, user, salesperson2):
    path = f"/members/{coordinator.pk}/coordinates"
    response = admin_api.request("put", path, {"salesperson_ids": [user.pk, salesperson2.pk]})
    assert response.status_code == 200, response.content
    assert response.json()["salesperson_ids"] == sorted([user.pk, salesperson2.pk])
    assert api.request("put", path, {"salesperson_ids": []}).status_code == 403
    not_salesperson = admin_api.request("put", path, {"salesperson_ids": [coordinator.pk]})
    assert not_salesperson.status_code == 422


def test_working_pattern(api, admin_api, user, salesperson2, org):
    path = f"/members/{user.pk}/working-pattern"
    got = api.get(path).json()
    assert got["time_zone"] == "Europe/London" and got["business_development_per_day"] == 4
    assert got["business_development_per_week"] == 20 and got["weekdays"] == [1, 2, 3, 4, 5]
    changed = api.request(
        "put",
        path,
        {
            "time_zone": "America/Chicago",
            "day_starts": "08:00",
            "business_development_per_week": 12,
        },
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["time_zone"] == "America/Chicago"
    assert changed.json()["day_starts"] == "08:00"
    bad = api.request("put", path, {"time_zone": "Mars/Olympus", "weekdays": [0, 8]})
    assert bad.status_code == 422
    assert {("body", "time_zone"), ("body", "weekdays")} <= set(locs(bad))
    assert api.request("put", path, {"day_starts": "18:00"}).status_code == 422
    other = f"/members/{salesperson2.pk}/working-pattern"
    assert api.request("put", other, {"time_zone": "UTC"}).status_code == 403
    assert admin_api.request("put", other, {"time_zone": "UTC"}).status_code == 200


def test_company_location_fields(api):
    from tests.conftest import COMPANY

    created = api.post(
        "/companies",
        {
            **COMPANY,
            "address": "1 Wacker Dr",
            "city": "Chicago",
            "country": "us",
            "latitude": 41.88,
            "longitude": -87.63,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["address"], body["city"], body["country"]) == ("1 Wacker Dr", "Chicago", "US")
    assert (body["latitude"], body["longitude"]) == (41.88, -87.63)
    bad = api.post("/companies", {**COMPANY, "name": "Bad", "country": "UK", "latitude": 91})
    assert bad.status_code == 422
    problems = locs(bad)
    assert "GB" in problems[("body", "country")]["msg"]
    assert ("body", "latitude") in problems
