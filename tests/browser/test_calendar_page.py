"""The calendar in a real browser: a coordinator picks a salesperson's week, adds a
business-development meeting (refused first without its objective), sees it in the week with
the capacity count, cancels it after confirming and restores it; pages are axe-clean, also on
a phone."""

import datetime as dt

from django.utils import timezone
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.pipeline.services import opportunity_create
from salesline.scheduling.models import Appointment

from .conftest import PASSWORD, PHONE, axe_violations, pick


def test_coordinator_plans_a_meeting_on_the_week(page, org, member, sign_in):
    system = accounts.system_actor(org)
    admin = accounts.user_create(email="ada@piql.test", actor=system, role="admin")
    coordinator = accounts.user_create(
        email="cora@piql.test",
        actor=system,
        role="sales_coordinator",
        password=PASSWORD,
        full_name="Cora Ordinator",
    )
    accounts.coordination_set(
        actor=accounts.actor_for(admin, org),
        coordinator_id=coordinator.pk,
        salesperson_ids=[member.pk],
    )
    opportunity_create(actor=accounts.actor_for(member, org), data={"name": "Chicago archive"})
    today = timezone.localdate()
    monday = today + dt.timedelta(days=7 - today.weekday())
    sign_in(page, coordinator)

    page.goto(f"/calendar/?week={monday:%Y-%m-%d}")
    # A coordinator who sells nothing opens on the salesperson they run; their own is a pick.
    expect(page.get_by_role("heading", name="Calendar of sam@piql.test", level=1)).to_be_visible()
    page.get_by_label("Person").select_option(str(coordinator.pk))
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="My calendar", level=1)).to_be_visible()
    page.get_by_label("Person").select_option(str(member.pk))
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="Calendar of sam@piql.test", level=1)).to_be_visible()
    expect(page.get_by_text("0 of 20 business-development meetings this week")).to_be_visible()
    assert axe_violations(page) == []

    page.get_by_role("link", name="New appointment").click()
    page.get_by_label("Kind").select_option("business_development")
    page.get_by_label("Day").fill(f"{monday:%Y-%m-%d}")
    page.get_by_label("Starts").fill("10:00")
    page.get_by_label("Ends").fill("11:00")
    page.get_by_label("Title").fill("Scoping visit")
    pick(page, "Opportunity", "Chicago", "Chicago archive")
    page.get_by_role("button", name="Add appointment").click()
    expect(page.get_by_role("alert")).to_contain_text("business-development objective")
    assert axe_violations(page) == []

    page.get_by_role("textbox", name="Business-development objective").fill("Agree the scope")
    page.get_by_role("button", name="Add appointment").click()
    expect(page.get_by_role("heading", name="Scoping visit", level=1)).to_be_visible()
    appointment = Appointment.objects.get()
    assert appointment.owner_id == member.pk and appointment.created_by_id == coordinator.pk
    assert axe_violations(page) == []

    page.locator(".crumbs").get_by_role("link", name="Calendar").click()
    expect(page.get_by_text("1 of 20 business-development meetings this week")).to_be_visible()
    expect(page.get_by_role("link", name="10:00–11:00 Scoping visit")).to_be_visible()

    page.get_by_role("link", name="10:00–11:00 Scoping visit").click()
    page.get_by_role("link", name="Cancel appointment").click()
    expect(page.get_by_role("heading", name="Cancel this appointment?")).to_be_visible()
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.get_by_role("button", name="Restore")).to_be_visible()
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("link", name="Cancel appointment")).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.cancelled_at is None

    page.set_viewport_size(PHONE)
    page.goto(f"/calendar/?person={member.pk}&week={monday:%Y-%m-%d}")
    expect(page.get_by_role("link", name="10:00–11:00 Scoping visit")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1
    assert axe_violations(page) == []
