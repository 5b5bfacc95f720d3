"""The reports dashboard page (/reports/): charts with text alternatives, tables and CSV links;
htmx swaps only the results; an empty state; bad filters shown with a 422."""

import pytest
from django.core.cache import cache

from tests.analytics.dashboard_history import make_history

pytestmark = pytest.mark.django_db

QUERY = "pipeline=business-development&from=2026-01-01&to=2026-01-10"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def test_an_organisation_without_opportunities_is_told_what_to_do(browser):
    response = browser.get("/reports/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "There is nothing to measure yet" in page
    assert 'href="/reports/"' in page  # the main navigation's "Reports"


def test_the_dashboard_shows_every_chart_with_its_text_table_and_csv(browser):
    make_history(browser.actor)
    response = browser.get(f"/reports/?{QUERY}")
    assert response.status_code == 200
    page = response.content.decode()
    for key in ("funnel", "cumulative-flow", "time-in-stage", "velocity"):
        assert f'data-chart="{key}" data-chart-spec="{{&quot;$schema&quot;' in page
        assert f'href="/reports/data/{key}.csv?{QUERY.replace("&", "&amp;")}"' in page
    assert "Funnel: opportunities that reached each stage in the period. Identify 4" in page
    assert "Download the weekly report (PDF)" in page
    assert 'type="importmap" nonce="' in page


def test_htmx_gets_only_the_results(browser):
    make_history(browser.actor)
    response = browser.get(f"/reports/?{QUERY}", HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="dashboard-results"')
    assert "<html" not in page


def test_a_bad_filter_is_named(browser):
    make_history(browser.actor)
    response = browser.get("/reports/?from=2026-02-30")
    assert response.status_code == 422
    page = response.content.decode()
    assert "&#x27;from&#x27; must be a date (YYYY-MM-DD), not &#x27;2026-02-30&#x27;." in page


def test_the_page_csv_download(browser):
    make_history(browser.actor)
    response = browser.get(f"/reports/data/funnel.csv?{QUERY}")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[1] == "Identify,4"
    assert browser.get(f"/reports/data/nothing.csv?{QUERY}").status_code == 404


def test_the_report_pdf_download_holds_the_numbers(browser):
    import io

    from pypdf import PdfReader

    make_history(browser.actor)
    response = browser.get(f"/reports/report.pdf?{QUERY}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Business development" in text or "business" in text.lower()
    assert "Identify 4" in text
