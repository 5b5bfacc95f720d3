"""The meeting planner in a real browser: propose a plan from the form, see the itinerary,
accept it; the plan, itinerary and requests pages are axe-clean, on a phone too."""

from playwright.sync_api import expect

from salesline.accounts.services import actor_for
from salesline.scheduling.models import Appointment, WorkingPattern
from tests.scheduling.test_planner import make_request, next_monday

from .conftest import PHONE, axe_violations


def test_propose_review_and_accept_a_plan(signed_in, member, org):
    page = signed_in
    actor = actor_for(member, org)
    WorkingPattern.objects.create(
        organisation=org, user=member, base_latitude=51.5074, base_longitude=-0.1278
    )
    for town in ("Oxford", "Reading"):
        for n in range(2):
            make_request(actor, town, n)
    page.goto("/planner/requests/")
    expect(page.get_by_role("heading", name="Meeting requests", level=1)).to_be_visible()
    assert axe_violations(page) == []
    page.goto("/planner/")
    assert axe_violations(page) == []
    page.get_by_label("First day").fill(next_monday().isoformat())
    page.get_by_label("Days").fill("5")
    page.get_by_role("button", name="Propose a plan").click()
    expect(page.get_by_role("heading", name="Itinerary")).to_be_visible()
    expect(page.locator(".plan-day")).not_to_have_count(0)
    page.locator("details summary").first.click()
    assert axe_violations(page) == []
    page.set_viewport_size(PHONE)
    assert axe_violations(page) == []
    page.get_by_role("button", name="Accept: put 4 meetings on the calendar").click()
    expect(page.get_by_text("Plan accepted: 4 meetings")).to_be_visible()
    assert Appointment.objects.filter(owner=member, source="plan").count() == 4
