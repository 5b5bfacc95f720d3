"""Settings in a real browser: a custom field added through the form, a token shown once, a bad
definition's problems by line, accessibility and the phone layout."""

from playwright.sync_api import expect

from salesline.accounts.models import ApiToken
from salesline.accounts.services import token_authenticate
from salesline.process.models import CustomField
from salesline.process.selectors import definition_row_for

from .conftest import PHONE, axe_violations


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_admin_adds_a_custom_field_and_sees_it_listed(admin_signed_in, org):
    page = admin_signed_in
    page.goto("/settings/fields/")
    page.get_by_role("link", name="Add a field to leads").click()
    expect(page.get_by_label("Record kind")).to_have_value("lead")
    page.get_by_label("Key").fill("budget_band")
    page.get_by_label("Label").fill("Budget band")
    page.get_by_label("Type").select_option("choice")
    page.get_by_label("Choices (one per line, for a choice field)").fill("small\nlarge")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_role("status")).to_contain_text("Custom field “Budget band” added.")
    leads = page.locator("section", has=page.get_by_role("heading", name="Leads"))
    expect(leads.get_by_role("cell", name="Budget band", exact=True)).to_be_visible()
    field = CustomField.objects.get(organisation=org, key="budget_band")
    assert (field.record, field.type, field.choices) == ("lead", "choice", ["small", "large"])


def test_a_token_is_shown_once_then_never_again(signed_in, member, org):
    page = signed_in
    page.goto("/settings/tokens/")
    page.get_by_label("Name").fill("nightly export")
    page.get_by_role("button", name="Create token").click()
    shown = page.get_by_role("textbox", name="Token")
    expect(shown).to_be_focused()
    plain = shown.input_value()
    assert plain.startswith("sl_")
    assert token_authenticate(plain).user.pk == member.pk
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").last).not_to_be_empty()
    expect(page.get_by_role("cell", name="nightly export", exact=True)).to_be_visible()
    page.reload()
    expect(page.get_by_role("cell", name="nightly export", exact=True)).to_be_visible()
    expect(page.get_by_role("textbox", name="Token")).to_have_count(0)
    assert plain not in page.content()
    assert ApiToken.objects.filter(user=member, organisation=org).count() == 1


def test_a_bad_definition_shows_its_problems_by_line(admin_signed_in, org):
    page = admin_signed_in
    before = definition_row_for(org).version
    page.goto("/settings/process/")
    page.get_by_role("link", name="Upload a new version").click()
    page.get_by_label("Or paste the YAML").fill(
        "name: Broken\npipelines:\n  - key: sales\n    name: Sales\n    stages:\n"
        "      - key: new\n        name: New\n        probability: 150\n"
    )
    page.get_by_role("button", name="Check and load").click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("1 problem: nothing was loaded")
    expect(problems).to_contain_text("Line 8")
    expect(problems).to_contain_text("Must be between 0 and 100")
    expect(problems.locator("pre")).to_contain_text("probability: 150")
    assert definition_row_for(org).version == before


def test_overview_and_process_pages_are_accessible(admin_signed_in):
    page = admin_signed_in
    for url in ("/settings/", "/settings/process/", "/settings/tokens/", "/settings/organisation/"):
        page.goto(url)
        assert axe_violations(page) == [], url


def test_settings_fit_a_phone(admin_signed_in):
    page = admin_signed_in
    page.set_viewport_size(PHONE)
    for url in (
        "/settings/",
        "/settings/organisation/",
        "/settings/process/",
        "/settings/members/",
        "/settings/fields/",
    ):
        page.goto(url)
        assert fits_the_width(page), url
    page.goto("/settings/tokens/")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("textbox", name="Token")).to_be_visible()
    assert fits_the_width(page)
