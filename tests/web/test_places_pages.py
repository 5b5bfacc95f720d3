"""Settings → Places: the list (paginated, searchable), adding, editing, removing after a
confirmation, the CSV upload naming each bad line, and who may change the table."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salesline.accounts import services as accounts
from salesline.scheduling.models import Place

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator_client(org):
    user = accounts.user_create(
        email="cy@piql.test", actor=accounts.system_actor(org), role="sales_coordinator"
    )
    client = Client()
    client.force_login(user)
    return client


def test_the_settings_menu_links_the_page_and_it_helps_when_empty(browser):
    html = browser.get("/settings/").content.decode()
    assert 'href="/settings/places/"' in html
    page = browser.get("/settings/places/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "No places yet" in html
    # A salesperson reads but is offered no form.
    assert "Add a place" not in html and "Only admins and sales coordinators" in html


def test_a_coordinator_adds_edits_and_removes_a_place(coordinator_client, org):
    answer = coordinator_client.post(
        "/settings/places/new/",
        {"name": "Chicago", "country": "us", "latitude": "41.8781", "longitude": "-87.6298"},
    )
    assert answer.status_code == 302
    place = Place.objects.get(organisation=org)
    assert (place.name, place.country, place.latitude) == ("Chicago", "US", 41.8781)
    listed = coordinator_client.get(answer["Location"]).content.decode()
    assert "Place “Chicago, US” added." in listed and "-87.6298" in listed
    edit = coordinator_client.get(f"/settings/places/{place.pk}/").content.decode()
    assert 'value="41.8781"' in edit
    saved = coordinator_client.post(
        f"/settings/places/{place.pk}/",
        {"name": "Chicago", "country": "US", "latitude": "41.9", "longitude": "-87.6"},
    )
    assert saved.status_code == 302
    place.refresh_from_db()
    assert place.latitude == 41.9
    confirm = coordinator_client.get(f"/settings/places/{place.pk}/delete/")
    assert confirm.status_code == 200 and "Remove place “Chicago, US”?" in confirm.content.decode()
    assert Place.objects.filter(pk=place.pk).exists()  # asking changes nothing
    removed = coordinator_client.post(f"/settings/places/{place.pk}/delete/")
    assert removed.status_code == 302 and not Place.objects.filter(pk=place.pk).exists()


def test_a_refused_place_is_shown_again_with_each_problem_by_its_field(coordinator_client, org):
    Place.objects.create(organisation=org, name="Oslo", country="NO", latitude=59.9, longitude=10.7)
    answer = coordinator_client.post(
        "/settings/places/new/",
        {"name": "Oslo", "country": "NO", "latitude": "north", "longitude": "200"},
    )
    assert answer.status_code == 422
    html = answer.content.decode()
    assert "Nothing was saved" in html
    assert 'href="#id_name"' in html and 'href="#id_latitude"' in html
    assert 'href="#id_longitude"' in html and "already" in html
    assert Place.objects.count() == 1


def test_the_list_is_paginated_and_searchable(coordinator_client, org):
    Place.objects.bulk_create(
        Place(organisation=org, name=f"Town {i:02}", latitude=i, longitude=i) for i in range(30)
    )
    first = coordinator_client.get("/settings/places/").content.decode()
    assert "<td>Town 00</td>" in first and "<td>Town 25</td>" not in first
    assert "page 1 of 2" in first and "page=2" in first
    second = coordinator_client.get("/settings/places/?page=2").content.decode()
    assert "<td>Town 25</td>" in second and "<td>Town 00</td>" not in second
    found = coordinator_client.get("/settings/places/?q=town 1").content.decode()
    assert "<td>Town 19</td>" in found and "<td>Town 20</td>" not in found
    none = coordinator_client.get("/settings/places/?q=Zz").content.decode()
    assert "No place&#x27;s name starts with" in none or "No place's name starts with" in none


def test_the_csv_upload_loads_good_lines_and_names_the_bad_ones(coordinator_client, org):
    data = (
        b"name,country,latitude,longitude\n"
        b"Chicago,US,41.8781,-87.6298\n"
        b"Atlanta,US,91,-84.388\n"
        b"Denver,US,39.74,-104.99\n"
    )
    answer = coordinator_client.post(
        "/settings/places/upload/",
        {"file": SimpleUploadedFile("places.csv", data, content_type="text/csv")},
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "2 added, 0 updated, 0 unchanged, 1 line skipped" in html
    assert "<strong>Line 3</strong>" in html and "Latitude" in html
    assert sorted(Place.objects.values_list("name", flat=True)) == ["Chicago", "Denver"]
    bad = coordinator_client.post(
        "/settings/places/upload/",
        {"file": SimpleUploadedFile("places.csv", b"\xff\xfe\x00", content_type="text/csv")},
    )
    assert bad.status_code == 400 and "not UTF-8" in bad.content.decode()


def test_a_salesperson_may_not_change_places(browser, org):
    place = Place.objects.create(organisation=org, name="Oslo", latitude=59.9, longitude=10.7)
    assert browser.get("/settings/places/new/").status_code == 403
    answer = browser.post(
        "/settings/places/new/", {"name": "Bergen", "latitude": "60", "longitude": "5"}
    )
    assert answer.status_code == 403 and not Place.objects.filter(name="Bergen").exists()
    assert browser.post(f"/settings/places/{place.pk}/delete/").status_code == 403
    assert browser.get(f"/settings/places/{place.pk}/delete/").status_code == 403
    upload = browser.post(
        "/settings/places/upload/",
        {"file": SimpleUploadedFile("p.csv", b"name,latitude,longitude\nX,1,1\n")},
    )
    assert upload.status_code == 403 and Place.objects.count() == 1


def test_another_organisations_place_is_not_found(coordinator_client, other_org):
    place = Place.objects.create(organisation=other_org, name="Oslo", latitude=59.9, longitude=10.7)
    assert coordinator_client.get(f"/settings/places/{place.pk}/").status_code == 404
    assert coordinator_client.post(f"/settings/places/{place.pk}/delete/").status_code == 404
    assert Place.objects.filter(pk=place.pk).exists()
    assert coordinator_client.get("/settings/places/99999999999999999999/").status_code == 404


def test_travel_times_are_added_changed_and_removed_on_the_page(coordinator_client, org):
    from salesline.scheduling.models import TravelTime

    single = coordinator_client.get("/settings/places/").content.decode()
    assert "No travel times" in single and "Add at least two places" in single
    london = Place.objects.create(organisation=org, name="London", latitude=51.5, longitude=-0.1)
    leeds = Place.objects.create(organisation=org, name="Leeds", latitude=53.8, longitude=-1.5)
    url = "/settings/places/travel-times/"
    answer = coordinator_client.post(
        url, {"from_place": london.pk, "to_place": leeds.pk, "minutes": "150"}
    )
    assert answer.status_code == 302
    page = coordinator_client.get(answer["Location"]).content.decode()
    assert "Travel time from London to Leeds saved: 150 min." in page
    assert (
        coordinator_client.post(
            url, {"from_place": london.pk, "to_place": leeds.pk, "minutes": "140"}
        ).status_code
        == 302
    )
    row = TravelTime.objects.get()
    assert (row.from_place_id, row.to_place_id, row.minutes) == (london.pk, leeds.pk, 140)
    refused = coordinator_client.post(
        url, {"from_place": london.pk, "to_place": london.pk, "minutes": "2000"}
    )
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "The travel time was not saved" in html
    assert "two different places" in html and "from 0 to 1440" in html
    confirm = coordinator_client.get(f"/settings/places/travel-times/{row.pk}/delete/")
    assert confirm.status_code == 200 and TravelTime.objects.exists()
    assert "Remove the travel time from London to Leeds?" in confirm.content.decode()
    removed = coordinator_client.post(f"/settings/places/travel-times/{row.pk}/delete/")
    assert removed.status_code == 302 and not TravelTime.objects.exists()


def test_a_salesperson_sees_travel_times_but_may_not_change_them(browser, org):
    from salesline.scheduling.models import TravelTime

    london = Place.objects.create(organisation=org, name="London", latitude=51.5, longitude=-0.1)
    leeds = Place.objects.create(organisation=org, name="Leeds", latitude=53.8, longitude=-1.5)
    row = TravelTime.objects.create(
        organisation=org, from_place=london, to_place=leeds, minutes=150
    )
    html = browser.get("/settings/places/").content.decode()
    assert "<td>150</td>" in html and "Save travel time" not in html
    answer = browser.post(
        "/settings/places/travel-times/",
        {"from_place": leeds.pk, "to_place": london.pk, "minutes": "5"},
    )
    assert answer.status_code == 403
    assert browser.post(f"/settings/places/travel-times/{row.pk}/delete/").status_code == 403
    assert TravelTime.objects.count() == 1
