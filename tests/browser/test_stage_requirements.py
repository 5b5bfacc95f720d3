"""Rules visible before they bite, in a real browser: the opportunity page's stage path and
what the next stage needs, the move page that asks for it, the new-opportunity form that shows
each stage's needs with its checklist boxes; and a card dragged on a touch screen."""

import re

import pytest
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.pipeline.models import ChecklistTick, Opportunity
from salesline.pipeline.services import opportunity_create
from salesline.records.services import record_create
from tests.conftest import COMPANY, PERSON, qualify_fields

from .conftest import DESKTOP, PHONE, axe_violations, with_timeouts

SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])


def _actor(member):
    return accounts.actor_for(member, member.memberships.first().organisation)


def _qualified(member):
    actor = _actor(member)
    company = record_create(actor=actor, kind="company", data=COMPANY)
    person = record_create(actor=actor, kind="person", data={**PERSON, "company_id": company.pk})
    return opportunity_create(
        actor=actor, data={**qualify_fields(company, person), "stage": "qualify"}
    )


def _console_errors(page) -> list[str]:
    """Script errors and failed loads. A refused form's 400 and a refused move's 422 are the
    answers the errors come in (Chromium logs any 4xx as a failed resource): not failures."""
    errors: list[str] = []

    def seen(message) -> None:
        refusal = "status of 400" in message.text or "status of 422" in message.text
        if message.type == "error" and not refusal:
            errors.append(message.text)

    page.on("console", seen)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@SIZES
def test_the_opportunity_page_leads_through_the_next_stage(signed_in, member, size):
    opportunity = _qualified(member)
    page = signed_in
    page.set_viewport_size(size)
    errors = _console_errors(page)
    page.goto(f"/records/opportunities/{opportunity.pk}/")
    path = page.locator(".stage-path")
    expect(path.locator("[aria-current=step]")).to_have_text("Qualify")
    needs = path.locator(".next-needs")
    expect(needs.get_by_role("heading")).to_have_text("What Develop needs")
    expect(needs.locator("li.unmet")).to_have_text(
        ["To do: Business case", "To do: Tick 'Use-case verified by the client'"]
    )
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]

    path.get_by_role("link", name="Move to Develop…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("to Develop")
    panel = page.locator(".gate")
    expect(panel).to_contain_text("2 things to do first")
    assert axe_violations(page) == []
    # One thing at a time: the business case alone is refused for the box, and kept.
    panel.get_by_label("Business case").fill("Saves two archivists a year")
    panel.get_by_role("button", name="Save and move").click()
    panel = page.locator(".gate")
    expect(panel).to_contain_text("Tick 'Use-case verified by the client' to enter Develop.")
    expect(panel.get_by_label("Business case")).to_have_value("Saves two archivists a year")
    panel.get_by_label("Use-case verified by the client").check()
    panel.get_by_role("button", name="Save and move").click()

    # Back on the opportunity's page, which says so, one stage on, with the tick recorded.
    expect(page).to_have_url(re.compile(rf"/records/opportunities/{opportunity.pk}/$"))
    expect(page.get_by_text("moved to Develop")).to_be_visible()
    expect(page.locator(".stage-path [aria-current=step]")).to_have_text("Develop")
    expect(page.locator(".checklist li.met")).to_contain_text("Use-case verified by the client")
    assert Opportunity.objects.get(pk=opportunity.pk).stage.key == "develop"
    assert errors == []


@SIZES
def test_the_new_opportunity_form_shows_what_the_chosen_stage_needs(signed_in, member, size):
    actor = _actor(member)
    company = record_create(actor=actor, kind="company", data=COMPANY)
    record_create(actor=actor, kind="person", data={**PERSON, "company_id": company.pk})
    page = signed_in
    page.set_viewport_size(size)
    errors = _console_errors(page)
    page.goto("/records/opportunities/new/")
    needs = page.locator(".stage-needs .needs:not([hidden])")
    expect(needs).to_contain_text("Identify needs nothing more.")
    page.get_by_label("Stage").select_option(label="Develop")
    expect(needs).to_contain_text("To start in Develop, it needs:")
    expect(needs).to_contain_text("Name must read '<amount of data> - <content> - <service>'")
    box = needs.get_by_label("Use-case verified by the client")
    expect(box).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("Name", exact=True).fill("3 TB - Personnel records - Preservation")
    page.get_by_label("Business case").fill("Saves two archivists a year")
    box.check()
    page.get_by_role("button", name="Create opportunity").click()
    # Still missing the Qualify fields: refused, and the tick is kept for the next try.
    expect(page.locator(".error-summary")).to_be_visible()
    expect(needs.get_by_label("Use-case verified by the client")).to_be_checked()
    assert not Opportunity.objects.filter(name__startswith="3 TB").exists()
    assert errors == []


def test_a_card_is_dragged_on_a_touch_screen_and_the_gate_panel_follows(
    browser, live_server, member, sign_in
):
    opportunity = opportunity_create(actor=_actor(member), data={"name": "Archive project"})
    context = browser.new_context(
        has_touch=True, is_mobile=True, viewport=PHONE, base_url=live_server.url, locale="en-GB"
    )
    page = context.new_page()
    with_timeouts(page)
    errors = _console_errors(page)
    sign_in(page, member)
    # What the browser did to the pointer, for the failure message.
    page.add_init_script(
        "window.seen = []; for (const kind of ['pointerdown', 'pointercancel', 'touchcancel',"
        " 'dragstart', 'contextmenu']) document.addEventListener(kind, (e) =>"
        " window.seen.push([kind, e.pointerId, Math.round(performance.now())]), true);"
    )
    page.goto("/board/")
    card = page.locator(f"#o{opportunity.pk}")
    box = card.bounding_box()
    start = {"x": box["x"] + 20, "y": box["y"] + box["height"] / 2}
    cdp = context.new_cdp_session(page)

    def touch(kind: str, x: float, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    # A quick swipe is a scroll: the card stays where it is and nothing is asked.
    touch("touchStart", start["x"], start["y"])
    touch("touchMove", start["x"] + 60, start["y"])
    touch("touchEnd", start["x"] + 60, start["y"])
    expect(page.locator(".gate")).to_have_count(0)

    # Held, then dragged to the edge of the phone's screen: the board scrolls to Lost's column.
    touch("touchStart", start["x"], start["y"])
    page.wait_for_timeout(500)
    expect(card).to_have_class("card dragging")
    # A browser may cancel the pointer of a held card (its own long-press drag, a pan decided
    # under load): the drag carries on with the finger's touch events.
    page.evaluate(
        "() => { const [, id] = window.seen.filter(([kind]) => kind === 'pointerdown').at(-1);"
        " document.dispatchEvent(new PointerEvent('pointercancel',"
        " {pointerId: id, pointerType: 'touch', bubbles: true})); }"
    )
    expect(card).to_have_class("card dragging")
    lost = page.locator("section[data-stage-key='lost']")
    edge = PHONE["width"] - 10
    for _ in range(2000):  # the board scrolls 12 px a frame; a loaded machine draws slowly
        touch("touchMove", edge, start["y"])
        page.wait_for_timeout(20)
        target = lost.bounding_box()
        if target and target["x"] + target["width"] / 2 < edge - 40:
            break
    target = lost.bounding_box()
    assert target["x"] + target["width"] / 2 < edge - 40, (
        "the board did not scroll to Lost",
        card.get_attribute("class"),
        page.evaluate("[document.querySelector('.board').scrollLeft, window.seen]"),
    )
    x, y = target["x"] + target["width"] / 2, target["y"] + 80
    touch("touchMove", x, y)
    touch("touchEnd", x, y)
    # Lost asks for a reason: the same panel as a mouse drop, over the board.
    dialog = page.get_by_role("dialog", name="Before Lost")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").fill("No budget this year")
    dialog.get_by_role("button", name="Save and move").click()
    expect(lost.locator(f"#o{opportunity.pk}")).to_be_visible()
    expect(page.locator("[data-toast]")).to_contain_text("moved to Lost")
    assert Opportunity.objects.get(pk=opportunity.pk).stage.key == "lost"
    assert errors == []
    context.close()


def test_the_move_dialog_says_what_the_chosen_stage_needs(signed_in, member):
    opportunity = _qualified(member)
    page = signed_in
    page.goto("/board/")
    page.locator(f"#o{opportunity.pk} [data-move]").click()
    dialog = page.locator("#move-dialog")
    expect(dialog.locator("[data-needs]")).to_contain_text("Develop needs:")
    dialog.get_by_label("To stage").select_option(label="Propose")
    expect(dialog.locator("[data-needs]")).to_contain_text("Propose needs:")
    expect(dialog.locator("[data-needs] li.unmet").last).to_contain_text(
        "Proposal sent to the client"
    )
    assert axe_violations(page) == []
    assert not ChecklistTick.objects.filter(opportunity=opportunity).exists()
