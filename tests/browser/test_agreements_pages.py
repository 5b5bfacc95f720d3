"""Signing an agreement in the browser: the opportunity of the partnerships template goes to
Partner; the panel and the confirmation page are axe-clean."""

from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.pipeline.services import opportunity_create, opportunity_move

from .conftest import PASSWORD, axe_violations


def test_sign_an_agreement_and_see_the_opportunity_in_partner(
    page, partners_org, live_server, sign_in
):
    member = accounts.user_create(
        email="pat@partners.test",
        actor=accounts.system_actor(partners_org),
        role="salesperson",
        password=PASSWORD,
    )
    actor = accounts.actor_for(member, partners_org)
    opportunity = opportunity_create(actor=actor, data={"name": "Climate hub"})
    opportunity_move(
        actor=actor, opportunity_id=opportunity.pk, stage="prospect", checks=["verbal_close_yes"]
    )
    sign_in(page, member)

    page.goto(f"/records/opportunities/{opportunity.pk}/")
    panel = page.locator("#agreement")
    expect(panel.get_by_role("heading", name="Agreement")).to_be_visible()
    panel.get_by_label("Start date", exact=True).fill("2026-09-01")
    panel.get_by_label("End date", exact=True).fill("2027-08-31")
    panel.get_by_label("Total value", exact=True).fill("24000")
    panel.get_by_label("Billing", exact=True).select_option("quarterly")
    panel.get_by_role("button", name="Draft the agreement").click()

    expect(page.get_by_text("Agreement drafted.")).to_be_visible()
    expect(panel.locator(".agreement-status")).to_have_text("Draft")
    assert axe_violations(page) == []
    panel.get_by_role("button", name="Mark as shared").click()
    expect(panel.locator(".agreement-status")).to_have_text("Shared")
    panel.get_by_role("button", name="Mark as ready to sign").click()
    expect(panel.locator(".agreement-status")).to_have_text("Ready to sign")

    panel.get_by_role("link", name="Sign…").click()
    expect(page.get_by_text("Signing moves Climate hub to Partner.")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("Signed on").fill("2026-08-20")
    page.get_by_role("button", name="Sign and move to Partner").click()

    expect(page.get_by_text("Agreement signed; “Climate hub” moved to Partner.")).to_be_visible()
    expect(page.get_by_role("heading", name="Stage: Partner")).to_be_visible()
    expect(page.locator("#agreement .agreement-status")).to_have_text("Signed")
    assert axe_violations(page) == []
