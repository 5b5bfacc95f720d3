"""Settings → Places in Chromium: add a place, upload a CSV with a bad line, edit one, enter and
remove a travel time, remove a place after the confirmation; every page passes axe."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.scheduling.models import Place

from .conftest import PASSWORD, axe_violations

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def coordinator(org, live_server):
    return accounts.user_create(
        email="cy@piql.test",
        actor=accounts.system_actor(org),
        role="sales_coordinator",
        password=PASSWORD,
    )


def test_the_places_page(page, coordinator, sign_in, tmp_path):
    sign_in(page, coordinator)
    page.goto("/settings/")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Places").click()
    expect(page.get_by_role("heading", name="Places", level=1)).to_be_visible()
    expect(page.get_by_text("No places yet")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("Name", exact=True).fill("Chicago")
    page.get_by_label("Country", exact=True).fill("US")
    page.get_by_label("Latitude", exact=True).fill("41.8781")
    page.get_by_label("Longitude", exact=True).fill("-87.6298")
    page.get_by_role("button", name="Add place").click()
    expect(page.get_by_text("Place “Chicago, US” added.")).to_be_visible()
    assert axe_violations(page) == []

    page.goto("/settings/places/")
    csv = tmp_path / "places.csv"
    csv.write_text("name,country,latitude,longitude\nAtlanta,US,33.749,-84.388\nNowhere,US,x,1\n")
    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name="Upload: 1 added", exact=False)).to_be_visible()
    expect(page.get_by_text("Line 3")).to_be_visible()
    assert axe_violations(page) == []

    page.get_by_role("link", name="Edit Atlanta, US").click()
    assert axe_violations(page) == []
    page.get_by_label("Latitude", exact=True).fill("91")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Nothing was saved")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("Latitude", exact=True).fill("33.75")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Place “Atlanta, US” saved.")).to_be_visible()

    page.goto("/settings/places/")
    page.get_by_label("From", exact=True).select_option(label="Chicago, US")
    page.get_by_label("To", exact=True).select_option(label="Atlanta, US")
    page.get_by_label("Minutes", exact=True).fill("125")
    page.get_by_role("button", name="Save travel time").click()
    expect(page.get_by_text("Travel time from Chicago, US to Atlanta, US saved")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Remove Chicago, US to Atlanta, US").click()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Remove travel time").click()
    expect(page.get_by_text("Travel time from Chicago, US to Atlanta, US removed.")).to_be_visible()

    page.get_by_role("link", name="Remove Chicago, US", exact=True).click()
    expect(page.get_by_role("heading", name="Remove place “Chicago, US”?")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Remove place").click()
    expect(page.get_by_text("Place “Chicago, US” removed.")).to_be_visible()
    assert sorted(Place.objects.values_list("name", "latitude")) == [("Atlanta", 33.75)]
