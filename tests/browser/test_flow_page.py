"""Reports → Flow and calibration in Chromium: the page is accessible (axe), a heading's
definition is there on hover and in the legend, and an admin applies a calibrated probability
with the button, confirms, and reads the status message."""

from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.process.selectors import definition_for
from tests.analytics.flow_data import flow_organisation, load_history

from .conftest import PASSWORD, axe_violations


def test_flow_page_is_accessible_and_apply_sets_the_probability(page, sign_in, live_server, db):
    organisation = flow_organisation()
    system = accounts.system_actor(organisation)
    boss = accounts.user_create(
        email="boss@flow.test", actor=system, role="admin", password=PASSWORD
    )
    load_history(organisation, owners=dict.fromkeys(range(1, 10), boss))
    sign_in(page, boss)
    page.goto("/reports/flow/?pipeline=p&from=2026-01-01&to=2026-01-31")
    expect(page.get_by_role("heading", name="Flow and calibration")).to_be_visible()
    arrivals = page.get_by_role("columnheader", name="Arrivals")
    expect(arrivals).to_have_attribute(
        "title",
        "Entries into the stage during the period (an "
        "opportunity that comes back counts again; its creation is an entry).",
    )
    expect(page.locator("#def-arrivals")).to_be_visible()
    expect(page.get_by_role("link", name="Flow and calibration")).to_have_attribute(
        "aria-current", "page"
    )
    assert axe_violations(page) == []

    page.get_by_role("button", name="Apply 60 % to A").click()
    expect(page.get_by_role("heading", name="Set A's win probability to 60 %?")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Set to 60 %").click()
    expect(page.get_by_role("status")).to_contain_text(
        "A's win probability is now 60 % (it was 10 %)"
    )
    pipeline = next(p for p in definition_for(organisation).section("pipelines") if p.key == "p")
    assert next(s.probability for s in pipeline.stages if s.key == "a") == 60
    # Observed and configured now agree: the row offers nothing more.
    expect(page.get_by_role("button", name="Apply 60 % to A")).to_have_count(0)
