"""The dashboard's numbers through the selector, the API (JSON and CSV) and the page, on a
hand-made history (tests/analytics/dashboard_history.py). Runs on SQLite and PostgreSQL."""

from datetime import date

import pytest
from django.core.cache import cache

from salesline.analytics import charts, dashboard_selectors
from salesline.analytics.filters import parse_metric_filters
from salesline.analytics.forecast_selectors import forecast_report
from salesline.pipeline.models import StageChange
from tests.analytics.dashboard_history import PIPELINE, day, make_history

pytestmark = pytest.mark.django_db

PERIOD = {"pipeline": PIPELINE, "from": "2026-01-01", "to": "2026-01-10"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def history(actor):
    return make_history(actor)


def report_of(actor, params=PERIOD):
    filters = parse_metric_filters(actor, params)
    return dashboard_selectors.dashboard_report(actor=actor, filters=filters)


def rows(report, key):
    return report.chart(key).rows


def test_the_dashboard_of_a_hand_made_history(actor, history):
    report = report_of(actor)
    # Funnel: reached the stage or a later one in 1–10 Jan. Identify: Alpha, Beta, Gamma and
    # Delta (created in qualify, past identify) = 4; qualify: Alpha, Delta; the rest: Alpha.
    assert rows(report, "funnel") == [
        ("Identify", 4),
        ("Qualify", 2),
        ("Develop", 1),
        ("Propose", 1),
        ("Negotiate", 1),
        ("Won", 1),
    ]
    # Cumulative flow at the end of 7 Jan (day 7): Gamma in identify, Delta in qualify,
    # Alpha won, Beta lost.
    seventh = {
        stage: n for date, stage, n in rows(report, "cumulative-flow") if date == "2026-01-07"
    }
    assert seventh == {
        "Identify": 1,
        "Qualify": 1,
        "Develop": 0,
        "Propose": 0,
        "Negotiate": 0,
        "Won": 1,
        "Lost": 1,
    }
    # Time in stage, stays ended in the period: identify Alpha 2 days, Beta 3 days; qualify
    # Alpha 3 days.
    assert [(s, band, n) for s, band, n in rows(report, "time-in-stage") if n] == [
        ("Identify", "1–3 days", 1),
        ("Identify", "3–7 days", 1),
        ("Qualify", "3–7 days", 1),
    ]
    # Velocity per week: open Gamma + Delta = 2; closes Alpha won, Beta lost: win rate 1/2;
    # average won value 9,000; cycle 5 days (d0 -> d5): 2 × 0.5 × 9,000 ÷ 5 = 1,800 a day.
    assert rows(report, "velocity") == [
        ("2026-01-07", 2, 0.5, 9000.0, 5.0, 1800.0),
        ("2026-01-10", 2, 0.5, 9000.0, 5.0, 1800.0),
    ]
    assert dict(report.key_numbers) == {
        "new opportunities": 4,
        "open at the period's end": 2,
        "won": 1,
        "lost": 1,
        "win rate": 0.5,
        "average won value": 9000.0,
        "average cycle days": 5.0,
        "sales velocity (value per day)": 1800.0,
    }
    assert not report.empty


def test_the_fan_chart_draws_the_forecast_with_the_dashboards_seed(actor, history):
    filters = parse_metric_filters(actor, PERIOD)
    expected = forecast_report(
        actor=actor,
        filters=filters,
        trials=dashboard_selectors.FORECAST_TRIALS,
        seed=dashboard_selectors.FORECAST_SEED,
        horizon=dashboard_selectors.FORECAST_HORIZON,
    )
    chart = report_of(actor).chart("forecast")
    assert len(chart.rows) == dashboard_selectors.FORECAST_HORIZON
    assert chart.rows == [
        (p["period"], p["weighted"], p["p10"], p["p50"], p["p90"], p["count_p50"])
        for p in expected["periods"]
    ]
    assert chart.spec is not None


def test_the_campaign_table_is_the_campaign_report(actor, history):
    from salesline.analytics.campaign_selectors import campaign_report
    from salesline.pipeline.models import Opportunity
    from salesline.records import campaign_services

    fair = campaign_services.campaign_create(
        actor=actor, data={"name": "Archiving Expo", "cost": "3000", "starts_on": "2026-01-02"}
    )
    Opportunity.objects.filter(pk=history["Alpha"].pk).update(campaign=fair)
    table = report_of(actor).chart("campaigns")
    expected = campaign_report(actor=actor, date_from=date(2026, 1, 1), date_to=date(2026, 1, 10))
    assert [row[0] for row in table.rows] == [row["name"] for row in expected]
    expo = table.as_json()["rows"][0]
    assert expo["campaign"] == "Archiving Expo"
    assert expo["cost"] == expected[0]["cost"]
    assert expo["return"] == expected[0]["return"]


def test_an_owner_filter_narrows_every_chart(actor, history, admin_user):
    from salesline.pipeline.models import Opportunity

    Opportunity.objects.filter(pk=history["Gamma"].pk).update(owner=admin_user)
    report = report_of(actor, {**PERIOD, "owner_id": str(admin_user.pk)})
    # Only Gamma: in identify from day 3.
    assert rows(report, "funnel")[0] == ("Identify", 1)
    assert dict(report.key_numbers)["open at the period's end"] == 1


def test_the_cache_is_per_filter_and_a_new_stage_change_refreshes_it(actor, history):
    first = report_of(actor)
    assert report_of(actor) is not None
    key = dashboard_selectors.cache_key(actor.organisation, parse_metric_filters(actor, PERIOD))
    assert cache.get(key) is not None
    gamma = history["Gamma"]
    StageChange.objects.create(
        organisation=actor.organisation,
        opportunity=gamma,
        opportunity_ref=gamma.pk,
        to_pipeline_key=PIPELINE,
        to_stage="won",
        to_stage_kind="won",
        actor_label="test",
        at=day(8),
    )
    assert (
        dashboard_selectors.cache_key(actor.organisation, parse_metric_filters(actor, PERIOD))
        != key
    )
    again = report_of(actor)
    assert dict(first.key_numbers)["won"] == 1
    assert dict(again.key_numbers)["won"] == 2


def test_api_answers_the_same_numbers_as_json(api, actor, history):
    response = api.get(
        "/metrics/dashboard?pipeline=business-development&from=2026-01-01&to=2026-01-10"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["pipeline"] == PIPELINE
    assert (body["from"], body["to"]) == ("2026-01-01", "2026-01-10")
    assert body["charts"]["funnel"]["rows"][:2] == [
        {"stage": "Identify", "opportunities": 4},
        {"stage": "Qualify", "opportunities": 2},
    ]
    assert body["charts"]["velocity"]["rows"][0]["sales velocity"] == 1800.0
    assert body["key_numbers"]["win rate"] == 0.5
    assert set(body["charts"]) == set(dashboard_selectors.CHART_ORDER)


def test_api_csv_of_a_chart(api, actor, history):
    response = api.get(
        "/metrics/dashboard/funnel.csv?pipeline=business-development&from=2026-01-01&to=2026-01-10"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.splitlines() == [
        "\ufeffstage,opportunities",
        "Identify,4",
        "Qualify,2",
        "Develop,1",
        "Propose,1",
        "Negotiate,1",
        "Won,1",
    ]


def test_a_charts_csv_neutralises_formulas():
    chart = charts.campaign_table(
        [("=HYPERLINK(1)", "EUR", 100, 1, 1, 0, 0, 100.0, 100.0, None, -1.0)]
    )
    report = dashboard_selectors.Dashboard("p", "P", date(2026, 1, 1), date(2026, 1, 2), [chart])
    chunks, name = dashboard_selectors.chart_csv(report, "campaigns")
    assert name == "p-campaigns-2026-01-01-2026-01-02.csv"
    assert "".join(chunks).splitlines()[1] == "'=HYPERLINK(1),EUR,100,1,1,0,0,100.0,100.0,,-1.0"


def test_api_refuses_bad_parameters_naming_them(api, history):
    response = api.get("/metrics/dashboard?from=yesterday")
    assert response.status_code == 422
    assert "from" in response.content.decode()
    assert api.get("/metrics/dashboard/nonsense.csv").status_code == 404
    unknown = api.get("/metrics/dashboard?pipeline=nope")
    assert unknown.status_code == 422
    assert "Unknown pipeline 'nope'" in unknown.content.decode()


def test_another_organisation_sees_only_its_own_history(other_api, history):
    response = other_api.get(
        "/metrics/dashboard?pipeline=business-development&from=2026-01-01&to=2026-01-10"
    )
    assert response.status_code == 200
    assert all(row["opportunities"] == 0 for row in response.json()["charts"]["funnel"]["rows"])


def test_api_needs_a_token(client):
    assert client.get("/api/v1/metrics/dashboard").status_code == 401
