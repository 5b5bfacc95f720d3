"""Browser tests: Playwright for Python driving Debian's Chromium against Django's live server.

A missing browser fails the run (CI must run these tests, never skip them); `make test` installs
the package. The live server shares the test database, so tests set data up with the services
and then look at it through the pages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect

from salesline.accounts import services as accounts

# Playwright's sync API runs an event loop in the test's thread; the ORM calls made by the
# fixtures in that thread are still synchronous and safe. Process-wide because the test
# databases are torn down after the last test, while that loop may still be running; tests that
# start a deployment check take it out of the subprocess's environment.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# What a page shows after a request (a gate panel after a refused move, a saved message) may
# take longer than Playwright's 5 s on a busy CI machine with two test workers and a browser
# each; it fails in ten seconds rather than flakily in five.
expect.set_options(timeout=10_000)

CHROMIUM = Path(os.environ.get("SALESLINE_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM}; `make browser` installs Debian's "
            "chromium package (set SALESLINE_CHROMIUM for another path)."
        )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture(scope="session", autouse=True)
def _test_database_outlives_the_live_server(django_db_setup, live_server):
    """Session fixtures end in reverse order: with the test database set up first, the live
    server (and its thread's connection) stops before the database is dropped."""


@pytest.fixture(scope="session")
def base_url(live_server):
    """Relative URLs in page.goto() go to the live server."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": DESKTOP, "locale": "en-GB"}


def with_timeouts(page):
    """Fail in seconds, not Playwright's default 30 s, when something is not there; a page
    load gets longer (the first request of a test can be slow on a busy CI machine). Every
    page of the tests, from the fixture or from a context of their own, gets these."""
    page.set_default_timeout(8_000)
    page.set_default_navigation_timeout(15_000)
    return page


@pytest.fixture
def page(page):
    return with_timeouts(page)


@pytest.fixture
def member(org, live_server):
    """A salesperson of `org` with a known password."""
    return accounts.user_create(
        email="sam@piql.test",
        actor=accounts.system_actor(org),
        role="salesperson",
        password=PASSWORD,
    )


@pytest.fixture
def admin_member(org, live_server):
    """An administrator of `org` with a known password."""
    return accounts.user_create(
        email="ada@piql.test", actor=accounts.system_actor(org), role="admin", password=PASSWORD
    )


@pytest.fixture
def sign_in(live_server):
    """sign_in(page, user): give the browser a signed-in session for `user` without going
    through the form (the sign-in test covers the form)."""

    def give_session(page, user) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies["sessionid"]
        page.context.add_cookies(
            [{"name": "sessionid", "value": cookie.value, "url": live_server.url}]
        )

    return give_session


@pytest.fixture
def signed_in(page, member, sign_in):
    """A page signed in as the salesperson `member`."""
    sign_in(page, member)
    return page


@pytest.fixture
def admin_signed_in(page, admin_member, sign_in):
    """A page signed in as the administrator `admin_member`."""
    sign_in(page, admin_member)
    return page


def pick(scope, label: str, typed: str, option: str) -> None:
    """Choose a company or person in a picker with the pointer: type the start of a name, then
    click the match (combobox.js); without JavaScript, choose it in the plain list. `scope`:
    the page, or a part of it (a gate panel)."""
    box = scope.get_by_role("combobox", name=label, exact=True)
    if box.evaluate("e => e.tagName") == "SELECT":
        box.select_option(label=option)
        return
    box.fill(typed)
    box.page.get_by_role("option", name=option).click()
    expect(box).to_have_value(option)


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (pinned in package.json) on the current page; the violations of the given
    impacts, each with its rule, help text and the first offending nodes."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci` (make test does).")
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', "
        "'wcag21aa', 'best-practice']})"
    )
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]
