"""The board in a real browser: drag and drop through the gates, the keyboard's Move dialog,
accessibility and the phone layout."""

from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.pipeline.models import ChecklistTick, Opportunity
from salesline.pipeline.services import opportunity_create
from salesline.records.services import record_create
from tests.conftest import COMPANY, PERSON, qualify_fields

from .conftest import PHONE, axe_violations


def _actor(member):
    return accounts.actor_for(member, member.memberships.first().organisation)


def column(page, key):
    return page.locator(f"section[data-stage-key='{key}']")


def test_a_refused_drag_snaps_back_and_the_panel_gets_it_through(signed_in, member):
    actor = _actor(member)
    company = record_create(actor=actor, kind="company", data=COMPANY)
    record_create(actor=actor, kind="person", data={**PERSON, "company_id": company.pk})
    opportunity = opportunity_create(actor=actor, data={"name": "Archive project"})
    page = signed_in
    page.goto("/board/")
    card = page.locator(f"#o{opportunity.pk}")
    # Develop lies beyond Qualify: both gates are checked, and every unmet criterion is listed.
    card.drag_to(column(page, "develop"))
    panel = page.locator(f"#gate-{opportunity.pk}")
    expect(panel).to_be_visible()
    expect(column(page, "identify").locator(f"#o{opportunity.pk}")).to_be_visible()
    expect(column(page, "identify").locator(f"#gate-{opportunity.pk}")).to_be_visible()
    expect(panel).to_contain_text("Company is required to enter Qualify.")
    expect(panel).to_contain_text("Business case is required to enter Develop.")
    expect(panel).to_contain_text("Tick 'Use-case verified by the client' to enter Develop.")
    expect(panel.get_by_role("heading")).to_be_focused()

    panel.get_by_label("Find a company by name").fill("acme")
    expect(panel.get_by_label("Company", exact=True)).to_have_value(str(company.pk))
    panel.get_by_label("Primary contact").select_option(label="Ola Nordmann")
    panel.get_by_label("Expected close date").fill("2027-03-31")
    panel.get_by_label("Estimated value").fill("180000")
    panel.get_by_label("Data volume").fill("3 TB")
    panel.get_by_label("Sector").select_option("public")
    panel.get_by_label("Name", exact=True).fill("3 TB - Personnel records - Preservation")
    panel.get_by_label("Business case").fill("Saves two archivists a year")
    panel.get_by_label("Use-case verified by the client").check()
    panel.get_by_role("button", name="Save and move").click()

    moved = column(page, "develop").locator(f"#o{opportunity.pk}")
    expect(moved).to_be_visible()
    expect(panel).to_have_count(0)
    expect(column(page, "develop").locator(".total")).to_contain_text("1 opportunity")
    expect(column(page, "identify").locator(".total")).to_contain_text("0 opportunities")
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "develop"
    assert opportunity.business_case == "Saves two archivists a year"
    assert ChecklistTick.objects.filter(opportunity=opportunity, item="use_case_verified").exists()


def test_a_drag_that_meets_the_gate_moves_the_card(signed_in, member):
    actor = _actor(member)
    company = record_create(actor=actor, kind="company", data=COMPANY)
    person = record_create(actor=actor, kind="person", data={**PERSON, "company_id": company.pk})
    opportunity = opportunity_create(actor=actor, data=qualify_fields(company, person))
    # Two deals already in Qualify, closing before and after the one moved (31 March 2027).
    for name, close in (
        ("1 TB - Court records - Digitization", "2027-01-15"),
        ("9 TB - Tax records - Preservation", "2027-09-01"),
    ):
        opportunity_create(
            actor=actor,
            data={
                **qualify_fields(company, person),
                "name": name,
                "expected_close_date": close,
                "value": "1000",
                "stage": "qualify",
            },
        )
    page = signed_in
    page.goto("/board/")
    expect(column(page, "identify").locator(".total")).to_contain_text("180,000 EUR")
    page.locator(f"#o{opportunity.pk}").drag_to(column(page, "qualify"))
    expect(column(page, "qualify").locator(f"#o{opportunity.pk}")).to_be_visible()
    expect(column(page, "qualify").locator(".total")).to_contain_text("182,000 EUR")
    # The card lands where a reload would show it: in expected-close order.
    expect(column(page, "qualify").locator(".card > a")).to_have_text(
        [
            "1 TB - Court records - Digitization",
            "3 TB - Personnel records - Preservation",
            "9 TB - Tax records - Preservation",
        ]
    )
    expect(page.locator("#board-status")).to_contain_text("moved to Qualify")
    assert Opportunity.objects.get(pk=opportunity.pk).stage.key == "qualify"


def test_the_keyboard_moves_a_card_with_the_move_dialog(signed_in, member):
    opportunity = opportunity_create(actor=_actor(member), data={"name": "Archive project"})
    page = signed_in
    page.goto("/board/")
    move_button = page.locator(f"#o{opportunity.pk} [data-move]")
    move_button.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("To stage").select_option(label="Lost")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    # Lost asks for a reason: the panel opens at the card, and the keyboard fills it in.
    panel = page.locator(f"#gate-{opportunity.pk}")
    expect(panel.get_by_role("heading")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type("No budget this year")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(column(page, "lost").locator(f"#o{opportunity.pk}")).to_be_visible()
    expect(page.locator(f"#o{opportunity.pk} [data-move]")).to_be_focused()
    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.close_reason) == ("lost", "No budget this year")


def test_the_board_is_accessible_and_fits_a_phone(signed_in, member):
    actor = _actor(member)
    for number in range(3):
        opportunity_create(actor=actor, data={"name": f"Deal {number}", "value": "1000"})
    page = signed_in
    page.goto("/board/")
    assert axe_violations(page) == []
    page.locator(".card").first.drag_to(column(page, "qualify"))
    expect(page.locator(".gate")).to_be_visible()
    assert axe_violations(page) == []
    page.set_viewport_size(PHONE)
    page.goto("/board/?owner=me")
    expect(column(page, "identify").locator(".card")).to_have_count(3)
    # The columns scroll sideways inside the board; the page itself does not.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("(b => b.scrollWidth > b.clientWidth)(document.querySelector('.board'))")
