"""The dashboard in Chromium: every chart drawn (an <svg> in its figure) under the strict CSP
with no violation and no console error, axe clean, the filter applied by htmx without a full
reload, the CSV downloaded; without JavaScript the text alternatives and tables show."""

from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from salesline.accounts import services as accounts
from tests.analytics.dashboard_history import make_history
from tests.browser.conftest import axe_violations, with_timeouts

pytestmark = pytest.mark.django_db(transaction=True)

QUERY = "pipeline=business-development&from=2026-01-01&to=2026-01-10"
DRAWN = ("funnel", "cumulative-flow", "time-in-stage", "velocity")


@pytest.fixture
def history(org, member):
    cache.clear()
    make_history(accounts.actor_for(member, org))


def watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber + ' ' + e.sample));"
    )
    return errors


def test_every_chart_is_drawn_under_the_csp_and_the_page_is_accessible(
    signed_in, live_server, history
):
    page = signed_in
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/reports/?{QUERY}")
    for key in DRAWN:
        figure = page.locator(f"section[aria-labelledby='chart-{key}-title'] figure")
        expect(figure.locator("svg").first).to_be_visible()
        expect(figure.locator("figcaption")).not_to_be_empty()
    assert axe_violations(page) == []

    # The filter by htmx: the results change, the page is not reloaded.
    page.evaluate("window.notReloaded = true")
    page.get_by_label("From", exact=True).fill("2026-01-05")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#chart-funnel-text")).to_contain_text("Identify 2")
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("[data-chart='funnel'] svg")).to_be_visible()
    assert "from=2026-01-05" in page.url

    with page.expect_download() as download:
        page.locator("section[aria-labelledby='chart-funnel-title']").get_by_role(
            "link", name="Download the data (CSV)"
        ).click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[:2] == ["stage,opportunities", "Identify,2"]
    assert errors == []


def test_without_javascript_the_text_and_tables_show(
    browser, live_server, member, sign_in, history
):
    context = browser.new_context(java_script_enabled=False)
    page = with_timeouts(context.new_page())
    sign_in(page, member)
    page.goto(f"{live_server.url}/reports/?{QUERY}")
    expect(page.locator("#chart-funnel-text")).to_contain_text("Identify 4")
    assert page.locator("svg").count() == 0
    page.locator("section[aria-labelledby='chart-funnel-title'] summary").click()
    expect(page.get_by_role("cell", name="Identify")).to_be_visible()
    context.close()


def test_a_filter_that_waits_for_the_worker_looks_again_and_shows_the_results(
    signed_in, live_server, history, org, settings, tmp_path
):
    from salesline.analytics import extract
    from salesline.core.tasks import run_pending_tasks
    from salesline.pipeline.models import Pipeline

    settings.ANALYTICS_CACHE_DIR = str(tmp_path / "analytics")
    extract.forget()
    page = signed_in
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/reports/?{QUERY}")  # small enough: read inline
    expect(page.locator("[data-chart='funnel'] svg")).to_be_visible()

    # What an import does: the past is rewritten, and now the history counts as large.
    settings.ANALYTICS_INLINE_ROWS = 3
    Pipeline.objects.filter(organisation=org).update(history_revision=99)
    page.get_by_label("From", exact=True).fill("2026-01-05")
    page.get_by_role("button", name="Show").click()
    notice = page.locator("section.preparing")
    expect(notice).to_contain_text("waiting for a worker")
    assert page.locator("h1", has_text="Dashboard").count() == 1  # swapped in, not a page

    run_pending_tasks()  # the worker reads the history; the notice looks again by itself
    expect(page.locator("#chart-funnel-text")).to_contain_text("Identify 2", timeout=15_000)
    expect(notice).to_have_count(0)
    expect(page.locator("[data-chart='funnel'] svg")).to_be_visible()
    assert "from=2026-01-05" in page.url
    assert errors == []
    extract.forget()
