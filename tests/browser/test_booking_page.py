"""The public booking page in Chromium: a visitor books a slot end to end (with and without
JavaScript, on a phone), the slot is then gone; the pages pass axe."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from salesline.scheduling.models import Appointment
from tests.scheduling.booking_fixtures import make_page, next_weekday

from .conftest import PHONE, axe_violations, with_timeouts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


def book_one(page, day, *, check) -> str:
    page.goto("/book/ann-intro")
    expect(page.get_by_role("heading", name="Intro call", level=1)).to_be_visible()
    check(page)
    page.get_by_role("link", name=f"{day:%a} {day.day} {day:%b}", exact=True).click()
    expect(page.get_by_role("heading", name=f"{day:%A} {day.day} {day:%B %Y}")).to_be_visible()
    check(page)
    page.get_by_role("link", name="10:00 to 10:30").click()
    expect(page.get_by_role("heading", name="Confirm", exact=False)).to_be_visible()
    check(page)
    page.get_by_label("Your name").fill("Kari Hansen")
    page.get_by_label("Your e-mail").fill("kari@acme.no")
    page.get_by_role("button", name="Book 10:00").click()
    expect(page.get_by_role("heading", name="Booked: thank you, Kari Hansen")).to_be_visible()
    check(page)
    reference = Appointment.objects.get().booking.reference
    expect(page.get_by_text(reference)).to_be_visible()
    expect(page.get_by_role("link", name="Add to your calendar (.ics)")).to_be_visible()
    return reference


def no_violations(page) -> None:
    assert axe_violations(page) == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_visitor_books_a_slot_and_it_is_gone(browser, live_server, org, member, javascript):
    make_page(org, member, slug="ann-intro", title="Intro call", minimum_notice_hours=0)
    day = next_weekday()
    context = browser.new_context(
        java_script_enabled=javascript, viewport=PHONE, base_url=live_server.url
    )
    page = context.new_page()
    with_timeouts(page)
    try:
        # axe runs in the page: with JavaScript off the same pages were checked with it on.
        book_one(page, day, check=no_violations if javascript else lambda page: None)
        # The phone layout does not scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.goto(f"/book/ann-intro?day={day.isoformat()}")
        expect(page.get_by_role("link", name="09:30 to 10:00")).to_be_visible()
        expect(page.get_by_role("link", name="10:00 to 10:30")).to_have_count(0)
    finally:
        context.close()


def test_the_settings_pages_create_a_page_and_a_feed(signed_in, member):
    page = signed_in
    page.goto("/settings/booking-pages/")
    expect(page.get_by_text("No booking pages yet")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="New booking page").click()
    assert axe_violations(page) == []
    page.get_by_label("Link", exact=True).fill("sam-intro")
    page.get_by_label("Title").fill("Intro with Sam")
    page.get_by_label("Buffer (minutes)").fill("10")
    page.get_by_role("button", name="Create page").click()
    expect(page.get_by_text("Booking page /book/sam-intro created.")).to_be_visible()
    link = page.get_by_label("Link", exact=True)
    expect(link).to_have_value(f"{page.url.split('/settings/')[0]}/book/sam-intro")
    assert axe_violations(page) == []

    page.goto("/settings/calendar-feeds/")
    assert axe_violations(page) == []
    page.get_by_label("Name").fill("Phone")
    page.get_by_role("button", name="Create feed").click()
    address = page.get_by_label("Feed address")
    expect(address).to_have_value(re.compile(r"/calendar/feed/cf_.+\.ics$"))
    assert axe_violations(page) == []
    page.get_by_role("link", name="Revoke Phone").click()
    page.get_by_role("button", name="Revoke feed").click()
    expect(page.get_by_text("Feed revoked")).to_be_visible()
