"""The capacity planner in Chromium: the results recompute as a figure is typed (htmx, nothing
saved), Save keeps it, the organisation diagram is on the page, and the page passes axe."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.capacity import services
from salesline.capacity.models import CapacityPlan

from .conftest import PASSWORD, PHONE, axe_violations

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def manager(org, live_server):
    return accounts.user_create(
        email="max@piql.test",
        actor=accounts.system_actor(org),
        role="sales_support_manager",
        password=PASSWORD,
    )


def test_the_planner_recomputes_as_one_types_and_draws_the_model(page, manager, sign_in, org):
    sign_in(page, manager)
    page.goto("/")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Capacity").click()
    expect(page.get_by_text("No capacity plan yet")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("Name", exact=True).fill("New model")
    page.get_by_role("button", name="Create plan").click()
    expect(page.get_by_role("heading", name="New model", level=1)).to_be_visible()

    page.get_by_label("Salespeople today").fill("10")
    page.get_by_label("True business-development meetings a week, each").fill("2")
    results = page.locator("#results")
    expect(results.get_by_role("row", name="Field salespeople 1")).to_be_visible()
    expect(page.locator("#explain-salespeople")).to_contain_text("= 1.")
    # The chapter's sensitivity: 20 more a week needs a second salesperson and coordinator.
    page.get_by_label("Extra meetings a week from existing accounts").fill("20")
    expect(results.get_by_role("row", name="Field salespeople 2")).to_be_visible()
    expect(results.get_by_role("row", name="Sales coordinators 2")).to_be_visible()
    expect(page.locator("#explain-salespeople")).to_contain_text("ceil((20 + 20)")
    page.get_by_label("Salespeople today").fill("")
    page.get_by_label("Salespeople today").fill("many")
    expect(results.get_by_text("Fix these inputs")).to_be_visible()
    page.get_by_label("Salespeople today").fill("10")
    expect(results.get_by_role("row", name="Field salespeople 2")).to_be_visible()
    plan = CapacityPlan.objects.get(organisation=org)
    assert plan.document["incremental"]["existing_accounts"] == 0  # nothing saved yet

    # The diagram follows the figures typed: two salespeople, two coordinators.
    diagram = page.get_by_role("img", name="New model: the new sales organisation")
    expect(diagram).to_be_visible()
    expect(page.locator('#diagram g[data-role="salesperson"] circle')).to_have_count(2)
    expect(page.locator('#diagram g[data-role="sales_coordinator"] circle')).to_have_count(2)
    assert axe_violations(page) == []

    page.get_by_role("button", name="Save plan").click()
    expect(page.get_by_text("Plan “New model” saved.")).to_be_visible()
    plan.refresh_from_db()
    assert plan.document["incremental"]["existing_accounts"] == 20
    # The saved model is drawn: two salespeople, two coordinators.
    assert page.locator('#diagram g[data-role="salesperson"] circle').count() == 2
    assert page.locator('#diagram g[data-role="sales_coordinator"] circle').count() == 2

    services.transition_generate(
        actor=accounts.actor_for(manager, org),
        plan_id=plan.pk,
        start=plan.created_at.date(),
        owner_id=manager.pk,
    )
    page.reload()
    page.get_by_role("listitem").filter(has_text="Appoint a project champion").get_by_label(
        "Done"
    ).check()
    page.get_by_role("button", name="Save step 1").click()
    expect(page.get_by_text("“Appoint a project champion”, saved.")).to_be_visible()
    assert axe_violations(page) == []
    page.set_viewport_size(PHONE)
    assert axe_violations(page) == []
