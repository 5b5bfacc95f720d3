"""Sign-in, home, search and the phone layout in a real browser."""

from playwright.sync_api import expect

from .conftest import PASSWORD, axe_violations


def test_sign_in_with_the_form_and_sign_out(page, member):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("E-mail").fill(member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Good to see you")
    expect(page.locator("#organisation")).to_contain_text("Piql")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_wrong_password_is_refused_with_a_message(page, member):
    page.goto("/login/")
    page.get_by_label("E-mail").fill(member.email)
    page.get_by_label("Password").fill("not it")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_home_has_no_serious_accessibility_violations(signed_in):
    signed_in.goto("/")
    assert axe_violations(signed_in) == []


def test_every_main_page_fits_desktop_and_phone_without_console_errors(page, sign_in):
    """The demo organisation's main pages: no sideways scroll of the page at 1280 or 390 px,
    and no error in the console (a CSP violation, a missing file, a script error)."""
    from salesline import demo
    from salesline.accounts.models import User
    from salesline.capacity.models import CapacityPlan
    from salesline.pipeline.models import Opportunity
    from salesline.records.models import Lead

    from .conftest import DESKTOP, PHONE

    demo.load_demo()
    sign_in(page, User.objects.get(email=demo.DEMO_EMAIL))
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    lead = Lead.objects.filter(deleted_at=None).order_by("id").first()
    opportunity = Opportunity.objects.filter(deleted_at=None, status="open").first()
    paths = [
        "/",
        "/records/leads/",
        f"/records/leads/{lead.pk}/",
        f"/records/opportunities/{opportunity.pk}/",
        "/records/opportunities/new/",
        "/board/",
        "/imports/",
        "/imports/new/",
        "/settings/",
        "/settings/process/",
        "/search/?q=a",
        "/capacity/",
        f"/capacity/{CapacityPlan.objects.get().pk}/",
    ]
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        for path in paths:
            response = page.goto(path)
            assert response.status == 200, path
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{path} is {width} px wide at {viewport['width']}"
    assert errors == []


def test_a_custom_fields_key_follows_its_label_until_typed(admin_signed_in):
    page = admin_signed_in
    page.goto("/settings/fields/new/")
    page.get_by_label("Label").fill("Contract № (2027)")
    expect(page.get_by_label("Key")).to_have_value("contract_no_2027")
    page.get_by_label("Key").fill("contract")
    page.get_by_label("Label").fill("Contract number")
    expect(page.get_by_label("Key")).to_have_value("contract")  # typed: left alone
    page.get_by_label("Key").fill("")
    page.get_by_label("Label").fill("Renewal date")
    expect(page.get_by_label("Key")).to_have_value("renewal_date")
    assert axe_violations(page) == []


def test_the_phones_top_menu_shows_that_it_scrolls(signed_in):
    from .conftest import PHONE

    page = signed_in
    page.set_viewport_size(PHONE)
    page.goto("/")
    menu = page.locator("nav.sections")
    expect(menu).to_have_class("sections more-right")  # more links to the right
    menu.evaluate("m => { m.scrollLeft = m.scrollWidth; }")
    expect(menu).to_have_class("sections more-left")
