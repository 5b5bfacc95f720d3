"""The quality rating in the browser: the board card's badge reads as text, the record page's
unmet reasons lead to where they are fixed, the quality report; all axe-clean."""

from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline.services import opportunity_create

from .conftest import axe_violations


def test_badge_reasons_and_report(signed_in, member, org, person):
    page = signed_in
    actor = accounts.actor_for(member, org)
    plain = opportunity_create(actor=actor, data={"name": "Plain deal"})
    opportunity_create(
        actor=actor,
        data={"name": "Valued deal", "primary_contact_id": person.pk, "value": "1000"},
    )
    run_pending_tasks()

    page.goto("/board/")
    card = page.locator(".card", has_text="Valued deal")
    badge = card.locator(".quality")
    # The unmet reasons are read too (and are the badge's tooltip).
    expect(badge).to_have_text("Quality 85 of 100, good. To raise it: Set the expected close date.")
    expect(page.locator(".card", has_text="Plain deal").locator(".quality")).to_have_text(
        "Quality 60 of 100, fair. To raise it: Name a primary contact: who speaks for the "
        "customer? Set the expected close date. Estimate the value of the opportunity."
    )
    expect(badge).to_have_attribute(
        "title", "Quality 85 of 100: good. To raise it: Set the expected close date."
    )
    assert axe_violations(page) == []

    page.goto("/records/opportunities/")
    cell = page.get_by_role("row", name="Valued deal").locator("td", has_text="85 (good)")
    expect(cell).to_have_text("85 (good). To raise it: Set the expected close date.")
    assert axe_violations(page) == []

    page.goto(f"/records/opportunities/{plain.pk}/")
    panel = page.locator(".quality-panel")
    expect(panel.get_by_role("heading", name="Quality 60 of 100, fair")).to_be_visible()
    action = panel.get_by_role("link", name="Set the expected close date.")
    expect(action).to_be_visible()
    assert axe_violations(page) == []
    action.click()
    expect(page).to_have_url(
        f"{page.url.split('/records/')[0]}/records/opportunities/{plain.pk}/edit/"
    )

    page.goto("/reports/quality/")
    expect(page.get_by_role("heading", name="Opportunity quality", level=1)).to_be_visible()
    lowest = page.locator(".quality-lowest")
    expect(lowest.get_by_role("link", name="Plain deal")).to_be_visible()
    assert axe_violations(page) == []
