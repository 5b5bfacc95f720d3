"""Layout and one way of showing things, at 1280 and 390 px (issue 17, items 8, 9 and 11): the
stage history on a phone, "Add a note" near the top, a compact bulk bar, list filters changed
quickly without console errors, the settings error summary and custom fields as list columns."""

import pytest
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.process.services import custom_field_create
from salesline.records import services as records
from salesline.records.models import Note
from tests.conftest import COMPANY

from .conftest import DESKTOP, PHONE, axe_violations

SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])


@pytest.fixture
def actor(member, org):
    return accounts.actor_for(member, org)


@pytest.fixture
def console_errors(page):
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def fits(page, size) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= size["width"]


def add_leads(actor, names, source="Expo"):
    for name in names:
        records.record_create(
            actor=actor,
            kind="lead",
            data={
                "name": name,
                "email": f"{name.split()[0].lower()}@piql.com",
                "company_name": "Piql",
                "business_unit": "Nordics",
                "source": source,
                "details": "Met at the stand.",
            },
        )


@SIZES
def test_the_stage_history_fits_and_names_stages(signed_in, actor, size):
    opportunity = opportunity_create(actor=actor, data={"name": "County archive"})
    reason = "The county moved its archive budget to next year's plan " * 2
    opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost", reason=reason)
    page = signed_in
    page.set_viewport_size(size)
    page.goto(f"/records/opportunities/{opportunity.pk}/")
    history = page.locator("table.history")
    expect(history).to_contain_text("Lost")
    assert fits(page, size)
    # Every cell, the long reason too, lies within the screen: nothing clipped or scrolled.
    rights = history.locator("td").evaluate_all(
        "cells => cells.map(c => c.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= size["width"]
    # On a phone each cell names its column; on a desktop the header row does.
    label = history.locator("td[data-label=To]").first
    shown = label.evaluate("c => getComputedStyle(c, '::before').content")
    assert (shown == '"To: "') is (size == PHONE)
    if size == DESKTOP:
        expect(history.locator("thead")).to_be_visible()
    assert axe_violations(page) == []


@SIZES
def test_add_a_note_is_in_the_first_screen_and_lands_in_the_box(signed_in, actor, size):
    company = records.record_create(actor=actor, kind="company", data=COMPANY)
    page = signed_in
    page.set_viewport_size(size)
    page.goto(f"/records/companies/{company.pk}/")
    link = page.get_by_role("link", name="Add a note")
    box = link.bounding_box()
    assert box and box["y"] + box["height"] <= size["height"]  # no scrolling past the fields
    link.click()
    box = page.get_by_label("Note", exact=True)
    expect(box).to_be_focused()
    expect(box).to_be_in_viewport()
    page.keyboard.type("Called, sending the offer on Monday.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".timeline")).to_contain_text("Called, sending the offer on Monday.")
    assert Note.objects.filter(company=company).count() == 1
    assert axe_violations(page) == []


@SIZES
def test_the_bulk_bar_is_compact(signed_in, actor, size):
    add_leads(actor, ["Ann Berg", "Bo Li", "Cy Dee"])
    page = signed_in
    page.set_viewport_size(size)
    page.goto("/records/leads/?ordering=name")
    bar = page.locator(".bulk-bar")
    if size == PHONE:
        expect(bar).to_be_hidden()  # no room taken until a row is ticked
    else:
        expect(bar).to_be_visible()
        assert bar.bounding_box()["height"] <= 60  # one line
    page.get_by_label("Select Bo Li").check()
    expect(bar).to_be_visible()
    expect(page.locator("[data-bulk-count]")).to_have_text("1 selected")
    box = bar.bounding_box()
    assert box["height"] <= size["height"] / 5
    if size == PHONE:  # waiting at the bottom of the screen, in reach
        assert abs(box["y"] + box["height"] - size["height"]) <= 1
        assert fits(page, size)
    assert axe_violations(page) == []
    page.get_by_label("Select Bo Li").uncheck()
    if size == PHONE:
        expect(bar).to_be_hidden()


@SIZES
def test_quick_filter_changes_log_no_errors_and_the_last_one_wins(
    signed_in, actor, size, console_errors
):
    add_leads(actor, ["Ann Berg", "Bo Li"])
    add_leads(actor, ["Cy Web"], source="Web")
    add_leads(actor, ["Di Fair"], source="Fair")
    page = signed_in
    page.set_viewport_size(size)
    page.goto("/records/leads/")
    page.locator("details.filters").evaluate("d => d.open = true")
    expect(page.locator("table.records tbody tr")).to_have_count(4)
    # Three changes in one task: each supersedes a request still on its way.
    page.get_by_label("Source").evaluate(
        """input => {
            for (const value of ["Expo", "Web", "Fair"]) {
                input.value = value;
                input.dispatchEvent(new Event("change", {bubbles: true}));
            }
        }"""
    )
    expect(page.locator("table.records")).to_contain_text("Di Fair")
    expect(page.locator("table.records tbody tr")).to_have_count(1)
    page.wait_for_function("() => location.search.includes('source=Fair')")
    page.wait_for_timeout(300)  # any late answer would have swapped in by now
    expect(page.locator("table.records tbody tr")).to_have_count(1)
    assert console_errors == []


@SIZES
def test_settings_errors_start_with_a_summary_that_leads_to_each_input(admin_signed_in, size):
    page = admin_signed_in
    page.set_viewport_size(size)
    page.goto("/settings/fields/new/")
    page.get_by_label("Label").fill("Band")
    page.get_by_label("Key").fill("Bad Key")
    page.get_by_label("Type").select_option("choice")
    page.get_by_role("button", name="Add field").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(summary.get_by_role("heading")).to_have_text("Nothing was saved")
    summary.get_by_role("link", name="Choices").click()
    expect(page.get_by_label("Choices (one per line, for a choice field)")).to_be_focused()
    summary.get_by_role("link", name="Key").click()
    expect(page.get_by_label("Key")).to_be_focused()
    assert fits(page, size)
    assert axe_violations(page) == []


@SIZES
def test_a_custom_field_becomes_a_list_column(admin_signed_in, admin_member, org, size):
    actor = accounts.actor_for(admin_member, org)
    custom_field_create(
        actor=actor, data={"record": "company", "key": "motto", "label": "Motto", "type": "text"}
    )
    records.record_create(
        actor=actor, kind="company", data={**COMPANY, "custom_fields": {"motto": "Keep it safe"}}
    )
    page = admin_signed_in
    page.set_viewport_size(size)
    page.goto("/records/companies/")
    expect(page.locator("table.records")).not_to_contain_text("Keep it safe")
    page.get_by_text("Columns", exact=True).click()
    page.get_by_role("checkbox", name="Motto").check()
    expect(page.locator("table.records")).to_contain_text("Keep it safe")
    if size == DESKTOP:
        expect(page.get_by_role("columnheader", name="Motto")).to_be_visible()
    assert fits(page, size)
    assert axe_violations(page) == []
    # The list keeps it: in another order (a sort link's address), then from the menu.
    page.goto("/records/companies/?ordering=name")
    expect(page.locator("table.records")).to_contain_text("Keep it safe")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Companies").click()
    expect(page.locator("table.records")).to_contain_text("Keep it safe")
