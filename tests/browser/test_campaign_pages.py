"""Campaigns and costs in a real browser: add a campaign, credit a lead to it, log travel on
the lead's page, read the report — and accessibility on each page."""

from playwright.sync_api import expect

from salesline.records.services import record_create
from tests.conftest import LEAD

from .conftest import axe_violations


def test_a_campaign_its_lead_its_travel_and_the_report(signed_in, member, org):
    from salesline.accounts import services as accounts

    page = signed_in
    page.goto("/reports/campaigns/")
    expect(page.get_by_text("No campaigns yet.")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Add a campaign").click()
    page.get_by_label("Name").fill("Archiving Expo 2026")
    page.get_by_label("Kind").select_option("trade_show")
    page.get_by_label("Cost", exact=True).fill("1200")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Add campaign").click()
    expect(page.get_by_role("status")).to_contain_text("Campaign “Archiving Expo 2026” saved.")

    from salesline.records.models import Campaign

    expo = Campaign.objects.get(organisation=org)
    lead = record_create(
        actor=accounts.actor_for(member, org), kind="lead", data={**LEAD, "campaign_id": expo.pk}
    )
    page.goto(f"/records/leads/{lead.pk}/")
    expect(page.get_by_role("link", name="Archiving Expo 2026")).to_be_visible()
    panel = page.locator("#costs")
    panel.get_by_label("An expense").check()
    panel.get_by_label("Amount (expenses)").fill("300")
    panel.get_by_label("Description").fill("Train to Oslo")
    panel.get_by_role("button", name="Log it").click()
    expect(page.locator("#costs")).to_contain_text("Total: 300 EUR")
    assert axe_violations(page) == []

    page.goto("/reports/campaigns/")
    table = page.locator("table.report-table")
    # 1,200 own + 300 travel = 1,500 for one lead.
    expect(table.locator("tbody tr").first).to_contain_text("1,500 EUR")
    expect(page.get_by_role("link", name="Download as CSV")).to_be_visible()
    assert axe_violations(page) == []
