"""The geocoding table: places through the services, the API and a CSV upload — validation
naming each field, uniqueness per (name, country), who may write, audit and isolation."""

from __future__ import annotations

import pytest

from salesline.accounts import services as accounts
from salesline.core.errors import NotFound, PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.scheduling import places
from salesline.scheduling.models import Place
from tests.conftest import ApiClient

OSLO = {"name": "Oslo", "country": "NO", "latitude": 59.9139, "longitude": 10.7522}


def locs(error) -> list:
    return [p.loc for p in error.value.problems]


def test_an_admin_adds_edits_and_removes_a_place_each_audited(admin_actor, org):
    place = places.place_create(actor=admin_actor, data={**OSLO, "country": "no"})
    assert (place.organisation_id, place.name, place.country) == (org.pk, "Oslo", "NO")
    place = places.place_update(actor=admin_actor, place_id=place.pk, data={"latitude": 60})
    assert place.latitude == 60
    places.place_delete(actor=admin_actor, place_id=place.pk)
    assert not Place.objects.filter(pk=place.pk).exists()
    events = AuditEvent.objects.filter(action__startswith="place.").order_by("id")
    assert [e.action for e in events] == ["place.create", "place.update", "place.delete"]
    assert events[1].changes == {"latitude": [59.9139, 60.0]}


def test_every_field_is_checked_and_named(admin_actor):
    with pytest.raises(ValidationFailed) as error:
        places.place_create(
            actor=admin_actor,
            data={"name": " ", "country": "UK", "latitude": 91, "longitude": -180.5},
        )
    assert locs(error) == [("name",), ("country",), ("latitude",), ("longitude",)]
    assert "GB" in error.value.problems[1].msg
    with pytest.raises(ValidationFailed) as error:
        places.place_create(actor=admin_actor, data={"name": "Bergen"})
    assert locs(error) == [("latitude",), ("longitude",)]
    with pytest.raises(ValidationFailed) as error:
        places.place_create(actor=admin_actor, data={**OSLO, "name": "Os\x00lo"})
    assert locs(error) == [("name",)]
    # The limits themselves are allowed, as is a place with no country.
    place = places.place_create(
        actor=admin_actor, data={"name": "Pole", "latitude": -90, "longitude": 180}
    )
    assert place.country == ""


def test_a_second_place_of_the_same_name_and_country_is_refused_naming_name(admin_actor):
    first = places.place_create(actor=admin_actor, data=OSLO)
    with pytest.raises(ValidationFailed) as error:
        places.place_create(actor=admin_actor, data={**OSLO, "name": "oslo"})
    assert locs(error) == [("name",)] and "already" in error.value.problems[0].msg
    # Another country, or none, is another place.
    other = places.place_create(actor=admin_actor, data={**OSLO, "country": ""})
    with pytest.raises(ValidationFailed) as error:
        places.place_update(actor=admin_actor, place_id=other.pk, data={"country": "NO"})
    assert locs(error) == [("name",)]
    assert Place.objects.get(pk=first.pk).country == "NO"
    assert Place.objects.get(pk=other.pk).country == ""


def test_coordinators_write_salespeople_only_read(org, actor, admin_actor):
    coordinator = accounts.user_create(
        email="cy@piql.test", actor=accounts.system_actor(org), role="sales_coordinator"
    )
    coordinator_actor = accounts.actor_for(coordinator, org)
    place = places.place_create(actor=coordinator_actor, data=OSLO)
    with pytest.raises(PermissionDenied):
        places.place_create(actor=actor, data={**OSLO, "name": "Bergen"})
    with pytest.raises(PermissionDenied):
        places.place_update(actor=actor, place_id=place.pk, data={"latitude": 1})
    with pytest.raises(PermissionDenied):
        places.place_delete(actor=actor, place_id=place.pk)
    assert places.place_list(actor=actor)[1] == 1
    assert places.place_get_for(actor=actor, place_id=place.pk) == place


def test_other_organisations_places_are_not_found(admin_actor, other_actor):
    place = places.place_create(actor=admin_actor, data=OSLO)
    for call in (
        lambda: places.place_get_for(actor=other_actor, place_id=place.pk),
        lambda: places.place_update(actor=other_actor, place_id=place.pk, data={"latitude": 1}),
        lambda: places.place_delete(actor=other_actor, place_id=place.pk),
    ):
        with pytest.raises(NotFound):
            call()
    assert places.place_list(actor=other_actor) == ([], 0)
    # The same name in another organisation is not a duplicate.
    places.place_create(actor=other_actor, data=OSLO)


CSV = """name,country,latitude,longitude
Oslo,NO,59.9139,10.7522
Bergen,XX,60.39,5.32
Trondheim,NO,63.43,abc
,NO,1,1
Stavanger,,58.97,5.73
Tromsø,NO,69.65
oslo,NO,59.9,10.7
"Drammen",NO,59.74,10.2
"""


def test_a_csv_upload_loads_the_good_rows_and_names_each_bad_line(admin_actor):
    result = places.places_import_csv(actor=admin_actor, text="\ufeff" + CSV)
    assert (result.created, result.updated) == (3, 0)
    assert [p.line for p in result.problems] == [3, 4, 5, 7, 8]
    messages = {p.line: p.message for p in result.problems}
    assert "Country" in messages[3] and "Latitude" not in messages[3]
    assert "Longitude" in messages[4]
    assert "Name is required" in messages[5]
    assert "3 values" in messages[7]
    assert "line 2" in messages[8]
    assert sorted(Place.objects.values_list("name", flat=True)) == ["Drammen", "Oslo", "Stavanger"]
    # Again, with Oslo moved: it is updated, the unchanged rows stay as they are.
    again = places.places_import_csv(
        actor=admin_actor,
        text="name,country,latitude,longitude\nOslo,NO,59.95,10.75\nStavanger,,58.97,5.73\n",
    )
    assert (again.created, again.updated, again.unchanged, again.problems) == (0, 1, 1, [])
    assert Place.objects.get(name="Oslo").latitude == 59.95
    assert AuditEvent.objects.filter(action="place.create").count() == 3
    assert AuditEvent.objects.filter(action="place.update").count() == 1


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "empty"),
        ("town,lat,lon\nOslo,1,2\n", "header"),
        ("name,latitude\nOslo,1\n", "longitude"),
    ],
)
def test_a_csv_with_a_bad_header_loads_nothing(admin_actor, text, words):
    result = places.places_import_csv(actor=admin_actor, text=text)
    assert result.created == 0 and result.problems[0].line == 1
    assert words in result.problems[0].message
    assert not Place.objects.exists()


def test_a_salesperson_may_not_upload(actor):
    with pytest.raises(PermissionDenied):
        places.places_import_csv(actor=actor, text=CSV)


# -- the API --------------------------------------------------------------------------------


def test_api_places_crud(admin_api, api):
    created = admin_api.post("/places", OSLO)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body == {"id": body["id"], **OSLO}
    assert api.get(f"/places/{body['id']}").json() == body
    listed = api.get("/places").json()
    assert listed == {"items": [body], "count": 1, "limit": 50, "offset": 0}
    changed = admin_api.patch(f"/places/{body['id']}", {"name": "Christiania"})
    assert changed.status_code == 200 and changed.json()["name"] == "Christiania"
    assert admin_api.delete(f"/places/{body['id']}").status_code == 204
    assert api.get(f"/places/{body['id']}").status_code == 404


def test_api_places_list_is_paginated_and_searchable(admin_actor, api):
    for i in range(5):
        places.place_create(
            actor=admin_actor, data={"name": f"Town {i}", "latitude": i, "longitude": i}
        )
    places.place_create(actor=admin_actor, data=OSLO)
    page = api.get("/places?limit=2&offset=2").json()
    assert (page["count"], [p["name"] for p in page["items"]]) == (6, ["Town 1", "Town 2"])
    assert [p["name"] for p in api.get("/places?q=os").json()["items"]] == ["Oslo"]
    bad = api.get("/places?limit=0")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "limit"]


def test_api_places_problems_are_422_naming_each_field(admin_api):
    assert admin_api.post("/places", OSLO).status_code == 201
    duplicate = admin_api.post("/places", OSLO)
    assert duplicate.status_code == 422
    assert [p["loc"] for p in duplicate.json()["detail"]] == [["body", "name"]]
    bad = admin_api.post("/places", {"name": "X", "country": "ZZ", "latitude": 100})
    assert bad.status_code == 422
    assert [p["loc"] for p in bad.json()["detail"]] == [
        ["body", "country"],
        ["body", "latitude"],
        ["body", "longitude"],
    ]
    unknown = admin_api.post("/places", {**OSLO, "population": 700000})
    assert unknown.status_code == 422


def test_api_places_who_may_write_and_isolation(admin_api, api, other_api, org):
    assert api.post("/places", OSLO).status_code == 403
    body = admin_api.post("/places", OSLO).json()
    assert api.patch(f"/places/{body['id']}", {"latitude": 1}).status_code == 403
    assert api.delete(f"/places/{body['id']}").status_code == 403
    assert other_api.get(f"/places/{body['id']}").status_code == 404
    assert other_api.patch(f"/places/{body['id']}", {"latitude": 1}).status_code == 404
    assert other_api.delete(f"/places/{body['id']}").status_code == 404
    assert other_api.get("/places").json()["count"] == 0
    assert api.get("/places/99999999999999999999").status_code in (404, 422)
    coordinator = accounts.user_create(
        email="cy@piql.test", actor=accounts.system_actor(org), role="sales_coordinator"
    )
    _, token = accounts.token_create(user=coordinator, actor=accounts.system_actor(org))
    answer = ApiClient(token).patch(f"/places/{body['id']}", {"longitude": 11})
    assert answer.status_code == 200 and answer.json()["longitude"] == 11
