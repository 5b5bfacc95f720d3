"""The company and person pickers in a real browser: the combobox by keyboard only (WAI-ARIA
combobox with a listbox popup), a choice that survives a refused save, typed text that is never
sent as "no company", the contact narrowed to the chosen company, the gate panel and the lead
conversion — at desktop and phone width, axe clean, without console errors."""

import pytest
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.pipeline.models import Opportunity
from salesline.pipeline.services import opportunity_create
from salesline.records import services as records
from salesline.records.models import Person
from tests.conftest import COMPANY, LEAD, PERSON

from .conftest import DESKTOP, PHONE, axe_violations, with_timeouts

SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])


@pytest.fixture
def actor(member, org):
    return accounts.actor_for(member, org)


@pytest.fixture
def companies(actor):
    """Acme, and two companies a word of which starts with "fjord"."""
    return {
        name: records.record_create(
            actor=actor, kind="company", data={**COMPANY, "name": name, "email_domain": domain}
        )
        for name, domain in (
            ("Acme Archives AS", "acme.no"),
            ("Fjord Analytics", "fjord.no"),
            ("Nordic Fjordline", "fjordline.no"),
        )
    }


# A refused save answers 400 (a form) or 422 (a gate panel) on purpose; Chromium logs each.
REFUSALS = ("status of 400 (Bad Request)", "status of 422 (Unprocessable Content)")


@pytest.fixture
def console_errors(page):
    """Script errors, CSP violations and failed requests, except the refusals asked for."""
    errors: list[str] = []

    def log(message) -> None:
        if message.type == "error" and not message.text.endswith(REFUSALS):
            errors.append(message.text)

    page.on("console", log)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def person_at(actor, company, name: str, email: str):
    return records.record_create(
        actor=actor,
        kind="person",
        data={**PERSON, "name": name, "email": email, "company_id": company.pk},
    )


def options(page):
    return page.get_by_role("listbox").get_by_role("option")


def expect_active(box, option) -> None:
    """The option the keyboard is on: the combobox points at it, and it says it is selected."""
    expect(option).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", option.get_attribute("id"))


def assert_accessible(page) -> None:
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@SIZES
def test_the_combobox_by_keyboard_only(signed_in, companies, console_errors, size):
    page = signed_in
    page.set_viewport_size(size)
    page.goto("/records/people/new/")
    page.get_by_label("Name", exact=True).fill("Kari Hansen")
    page.get_by_label("E-mail").fill("kari@fjord.no")
    page.get_by_label("Phone").fill("+4790000000")
    page.get_by_label("Business unit").select_option("Nordics")
    page.get_by_label("Business unit").focus()
    # Tab reaches the combobox; typing asks the server; the list opens with the matches.
    page.keyboard.press("Tab")
    box = page.get_by_role("combobox", name="Company", exact=True)
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-expanded", "false")
    page.keyboard.type("fjord")
    expect(options(page)).to_have_count(2)
    expect(box).to_have_attribute("aria-expanded", "true")
    listbox = page.get_by_role("listbox")
    expect(listbox).to_have_attribute("id", box.get_attribute("aria-controls"))
    expect(listbox).to_be_in_viewport()
    assert_accessible(page)
    first, last = options(page).first, options(page).last
    expect(first).to_have_text("Fjord Analytics")
    expect(last).to_have_text("Nordic Fjordline")
    # Arrows move through the options (and wrap); Home and End jump; focus stays in the input.
    page.keyboard.press("ArrowDown")
    expect_active(box, first)
    page.keyboard.press("ArrowDown")
    expect_active(box, last)
    expect(first).to_have_attribute("aria-selected", "false")
    page.keyboard.press("ArrowDown")
    expect_active(box, first)
    page.keyboard.press("ArrowUp")
    expect_active(box, last)
    page.keyboard.press("Home")
    expect_active(box, first)
    page.keyboard.press("End")
    expect_active(box, last)
    expect(box).to_be_focused()
    # Escape closes the list and keeps the text; ArrowDown opens it again.
    page.keyboard.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("fjord")
    page.keyboard.press("ArrowDown")
    expect_active(box, first)
    # Enter chooses (it does not send the form).
    page.keyboard.press("Enter")
    expect(box).to_have_value("Fjord Analytics")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.locator("input[type=hidden][name=company_id]")).to_have_value(
        str(companies["Fjord Analytics"].pk)
    )
    # A refused save (Title is missing) shows the form again with the company still chosen.
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Title is required.")
    box = page.get_by_role("combobox", name="Company", exact=True)
    expect(box).to_have_value("Fjord Analytics")
    page.get_by_label("Title").fill("Archivist")
    page.get_by_label("Title").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kari Hansen")
    assert Person.objects.get().company == companies["Fjord Analytics"]
    assert console_errors == []


@SIZES
def test_typed_but_not_chosen_is_never_sent_as_no_company(
    signed_in, companies, console_errors, size
):
    """The issue's "Fjord": typing filtered but chose nothing, and saving lost it."""
    page = signed_in
    page.set_viewport_size(size)
    page.goto("/records/opportunities/new/")
    page.get_by_label("Name", exact=True).fill("Archive deal")
    box = page.get_by_role("combobox", name="Company", exact=True)
    box.fill("Fjord")
    expect(options(page)).to_have_count(2)
    page.get_by_role("button", name="Create opportunity").click()
    # Not sent: the field says what to do, and the text is still there.
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-company_id-note")).to_have_text(
        "Choose a company from the list, or clear the text: “Fjord” is not chosen yet."
    )
    expect(box).to_have_value("Fjord")
    expect(box).to_be_focused()
    assert page.url.endswith("/records/opportunities/new/")
    assert not Opportunity.objects.exists()
    assert_accessible(page)
    # The whole name of one listed company is that company.
    box.fill("nordic fjordline")
    expect(options(page)).to_have_count(1)
    page.keyboard.press("Tab")
    expect(box).to_have_value("Nordic Fjordline")
    expect(box).not_to_have_attribute("aria-invalid", "true")
    # Nothing matching says so.
    page.get_by_role("combobox", name="Primary contact").fill("zz")
    expect(page.locator("#f-primary_contact_id-note")).to_have_text(
        "No person at Nordic Fjordline has a word starting with “zz”."
    )
    page.get_by_role("combobox", name="Primary contact").fill("")
    page.get_by_role("button", name="Create opportunity").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Archive deal")
    assert Opportunity.objects.get().company == companies["Nordic Fjordline"]
    assert console_errors == []


def test_the_contact_is_looked_for_at_the_chosen_company(
    signed_in, actor, companies, console_errors
):
    acme, fjord = companies["Acme Archives AS"], companies["Fjord Analytics"]
    person_at(actor, acme, "Ola Nordmann", "ola@acme.no")
    person_at(actor, fjord, "Olga Fjeld", "olga@fjord.no")
    page = signed_in
    page.goto("/records/opportunities/new/")
    company = page.get_by_role("combobox", name="Company", exact=True)
    company.fill("acme")
    expect(options(page)).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(company).to_have_value("Acme Archives AS")
    contact = page.get_by_role("combobox", name="Primary contact")
    contact.focus()
    page.keyboard.type("ol")
    expect(options(page)).to_have_count(1)
    expect(options(page).first).to_contain_text("Ola Nordmann")
    expect(options(page).first).to_contain_text("ola@acme.no")
    # Everyone, when the contact is at another company.
    scope = page.get_by_role("checkbox", name="Only people at Acme Archives AS")
    expect(scope).to_be_checked()
    scope.uncheck()
    contact.press("ArrowDown")
    expect(options(page)).to_have_count(2)
    expect_active(contact, options(page).first)
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    expect(contact).to_have_value("Olga Fjeld")
    # Clearing the text clears the choice.
    contact.fill("")
    expect(page.locator("input[type=hidden][name=primary_contact_id]")).to_have_value("")
    assert console_errors == []


@SIZES
def test_the_gate_panel_picks_by_keyboard(signed_in, actor, companies, console_errors, size):
    acme = companies["Acme Archives AS"]
    person_at(actor, acme, "Ola Nordmann", "ola@acme.no")
    deal = opportunity_create(actor=actor, data={"name": "Archive project"})
    page = signed_in
    page.set_viewport_size(size)
    page.goto("/board/")
    page.locator(f"#o{deal.pk} [data-move]").click()
    page.get_by_role("dialog").get_by_label("To stage").select_option(label="Qualify")
    page.get_by_role("dialog").get_by_role("button", name="Move", exact=True).click()
    panel = page.get_by_role("dialog", name="Before Qualify")
    box = panel.get_by_role("combobox", name="Company", exact=True)
    box.focus()
    page.keyboard.type("acm")
    expect(options(page)).to_have_count(1)
    assert_accessible(page)
    # Escape closes the list, not the panel.
    page.keyboard.press("Escape")
    expect(panel).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect_active(box, options(page).first)
    page.keyboard.press("Enter")
    expect(box).to_have_value("Acme Archives AS")
    expect(panel).to_be_visible()
    contact = panel.get_by_role("combobox", name="Primary contact")
    contact.focus()
    page.keyboard.press("ArrowDown")  # the company's people, before anything is typed
    expect(options(page)).to_have_count(1)
    expect_active(contact, options(page).first)
    page.keyboard.press("Enter")
    expect(contact).to_have_value("Ola Nordmann")
    panel.get_by_role("button", name="Save and move").click()
    # Refused for the rest: both choices are still there, by name.
    panel = page.get_by_role("dialog", name="Before Qualify")
    expect(panel.get_by_role("combobox", name="Company", exact=True)).to_have_value(
        "Acme Archives AS"
    )
    expect(panel.get_by_role("combobox", name="Primary contact")).to_have_value("Ola Nordmann")
    deal.refresh_from_db()
    assert deal.company is None  # the move (and its fields) waits for the rest
    assert console_errors == []


@SIZES
def test_conversion_links_a_company_chosen_by_keyboard(
    signed_in, actor, companies, console_errors, size
):
    lead = records.record_create(
        actor=actor, kind="lead", data={**LEAD, "company_name": "Nobody", "email": "k@x.test"}
    )
    fjord = companies["Fjord Analytics"]
    olga = person_at(actor, fjord, "Olga Fjeld", "olga@fjord.no")
    page = signed_in
    page.set_viewport_size(size)
    page.goto(f"/records/leads/{lead.pk}/convert/")
    company = page.get_by_role("combobox", name="Company", exact=True)
    expect(company).to_be_hidden()  # until "Link to an existing company" is chosen
    page.get_by_label("Link to an existing company").check()
    company.focus()
    page.keyboard.type("fjord a")
    expect(options(page)).to_have_count(1)
    page.keyboard.press("ArrowDown")
    expect_active(company, options(page).first)
    page.keyboard.press("Enter")
    expect(company).to_have_value("Fjord Analytics")
    page.get_by_label("Link to an existing person").check()
    person = page.get_by_role("combobox", name="Person", exact=True)
    person.focus()
    page.keyboard.press("ArrowDown")
    expect(options(page)).to_have_count(1)
    expect_active(person, options(page).first)
    assert_accessible(page)
    page.keyboard.press("Enter")
    expect(person).to_have_value("Olga Fjeld")
    page.get_by_role("button", name="Convert lead").click()
    expect(page.get_by_role("status")).to_contain_text("Lead converted")
    lead.refresh_from_db()
    assert (lead.converted_company, lead.converted_person) == (fjord, olga)
    assert console_errors == []


def test_without_javascript_the_picker_is_a_plain_list(
    browser, member, sign_in, companies, live_server
):
    context = browser.new_context(
        java_script_enabled=False, viewport=PHONE, base_url=live_server.url
    )
    page = with_timeouts(context.new_page())
    sign_in(page, member)
    page.goto("/records/opportunities/new/")
    page.get_by_label("Name", exact=True).fill("Archive deal")
    page.get_by_label("Company", exact=True).select_option(label="Fjord Analytics")
    page.get_by_role("button", name="Create opportunity").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Archive deal")
    assert Opportunity.objects.get().company == companies["Fjord Analytics"]
    context.close()


def test_an_inline_edit_picks_by_keyboard(signed_in, actor, companies, console_errors):
    ola = person_at(actor, companies["Acme Archives AS"], "Ola Nordmann", "ola@acme.no")
    page = signed_in
    page.goto(f"/records/people/{ola.pk}/")
    page.get_by_role("link", name="Edit Company").click()
    box = page.get_by_role("combobox", name="Company", exact=True)
    expect(box).to_be_focused()
    expect(box).to_have_value("Acme Archives AS")
    page.keyboard.press("Control+a")
    page.keyboard.type("fjordl")
    expect(options(page)).to_have_count(1)
    page.keyboard.press("ArrowDown")
    expect_active(box, options(page).first)
    page.keyboard.press("Enter")  # chooses
    expect(box).to_have_value("Nordic Fjordline")
    page.keyboard.press("Enter")  # saves
    expect(page.locator("#field-company_id .value")).to_have_text("Nordic Fjordline")
    ola.refresh_from_db()
    assert ola.company == companies["Nordic Fjordline"]
    assert console_errors == []
