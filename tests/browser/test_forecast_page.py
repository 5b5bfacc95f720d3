"""Reports → Forecast in Chromium: the page is accessible (axe), runs again with the seed it
shows, and a manager takes this week's snapshot with the button."""

import re

from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.analytics.forecast_services import forecast_snapshot_backfill
from salesline.analytics.models import ForecastSnapshot
from tests.analytics.forecast_data import forecast_organisation, load_known_pipeline

from .conftest import PASSWORD, axe_violations


def test_forecast_page_is_accessible_reruns_with_its_seed_and_takes_a_snapshot(
    page, sign_in, live_server, db
):
    organisation = forecast_organisation()
    boss = accounts.user_create(
        email="boss@forecast.test",
        actor=accounts.system_actor(organisation),
        role="admin",
        password=PASSWORD,
    )
    load_known_pipeline(organisation, boss)
    sign_in(page, boss)
    page.goto("/reports/forecast/?pipeline=p&trials=500")
    expect(page.get_by_role("heading", name="Forecast", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Forecast")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("table").first).to_be_visible()
    assert axe_violations(page) == []
    seed = page.locator("#forecast-seed-value").inner_text()
    first_table = page.get_by_role("region", name="By month").inner_text()

    page.get_by_role("link", name="Run again with this seed").click()
    expect(page).to_have_url(re.compile(rf"seed={seed}"))
    expect(page.get_by_label("Seed", exact=True)).to_have_value(seed)
    assert page.get_by_role("region", name="By month").inner_text() == first_table

    page.get_by_role("button", name="Take this week's snapshot now").click()
    expect(page.get_by_role("status")).to_contain_text("Took the forecast snapshot of")
    assert ForecastSnapshot.objects.filter(organisation=organisation).count() == 1


def test_backfilled_snapshots_are_marked_in_an_accessible_accuracy_table(
    page, sign_in, live_server, db
):
    organisation = forecast_organisation()
    boss = accounts.user_create(
        email="boss@forecast.test",
        actor=accounts.system_actor(organisation),
        role="admin",
        password=PASSWORD,
    )
    load_known_pipeline(organisation, boss)
    # Ten weeks back: the last two or three months are judged by backfilled snapshots.
    forecast_snapshot_backfill(
        actor=accounts.actor_for(boss, organisation), pipeline_key="p", weeks=10, trials=200
    )
    sign_in(page, boss)
    page.goto("/reports/forecast/?pipeline=p&trials=200")
    accuracy = page.get_by_role("region", name="Accuracy of past forecasts")
    expect(accuracy.get_by_role("row").nth(1)).to_contain_text("(backfilled)")
    expect(page.get_by_text("computed later from the history as it stood")).to_be_visible()
    assert axe_violations(page) == []
