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
