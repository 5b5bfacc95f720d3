"""Vega-Lite specs and text alternatives from hand-made data (no database); each spec is
turned into SVG by vl-convert, as the PDF report does."""

import vl_convert

from salesline.analytics import charts

NAMES = {"lead": "Lead", "offer": "Offer", "won": "Won"}


def svg(chart: charts.Chart) -> str:
    return vl_convert.vegalite_to_svg(chart.spec, vl_version="6.4")


def test_funnel_spec_text_and_table_carry_the_same_numbers():
    chart = charts.funnel_chart([("lead", 40), ("offer", 10), ("won", 4)], NAMES)
    assert chart.rows == [("Lead", 40), ("Offer", 10), ("Won", 4)]
    assert chart.spec["data"]["values"] == [
        {"stage": "Lead", "opportunities": 40},
        {"stage": "Offer", "opportunities": 10},
        {"stage": "Won", "opportunities": 4},
    ]
    # 10 / 40 = 25 %, 4 / 40 = 10 %.
    assert chart.description == (
        "Funnel: opportunities that reached each stage in the period. Lead 40; "
        "Offer 10 (25% of the first stage); Won 4 (10% of the first stage)."
    )
    assert chart.spec["description"] == chart.description
    assert chart.as_json()["rows"][1] == {"stage": "Offer", "opportunities": 10}
    assert "<svg" in svg(chart)


def test_an_empty_chart_has_no_picture_and_says_why():
    chart = charts.funnel_chart([("lead", 0), ("won", 0)], NAMES)
    assert chart.spec is None
    assert chart.description == "No opportunity entered a stage in this period."


def test_cumulative_flow_stacks_stages_in_board_order():
    rows = [
        ("2026-01-01", "lead", 2),
        ("2026-01-01", "offer", 0),
        ("2026-01-02", "lead", 1),
        ("2026-01-02", "offer", 1),
    ]
    chart = charts.cumulative_flow_chart(rows, NAMES, "day")
    assert chart.columns == ("date", "stage", "opportunities")
    assert chart.spec["encoding"]["color"]["scale"]["domain"] == ["Lead", "Offer"]
    assert chart.description == (
        "Cumulative flow per day from 2026-01-01 to 2026-01-02: opportunities in each stage, "
        "stacked in stage order. On 2026-01-02: Lead 1; Offer 1."
    )
    assert "<svg" in svg(chart)


def test_time_in_stage_names_each_stages_commonest_band():
    rows = [("lead", "0–1 days", 1), ("lead", "1–3 days", 5), ("offer", "0–1 days", 0)]
    chart = charts.time_in_stage_chart(rows, NAMES)
    assert chart.description == (
        "Time in stage: stays that ended in the period, by how long they lasted. "
        "Lead: 6 stays, most 1–3 days (5)."
    )
    assert "<svg" in svg(chart)


def test_forecast_fan_draws_the_p10_p90_band_the_p50_and_the_weighted_line():
    periods = [
        {
            "period": "2026-02",
            "weighted": 900,
            "p10": 500,
            "p50": 1000,
            "p90": 1500,
            "count_p50": 2,
        },
        {"period": "2026-03", "weighted": 400, "p10": 0, "p50": 300, "p90": 800, "count_p50": 1},
    ]
    chart = charts.forecast_chart(periods, trials=10_000)
    band, median, weighted = chart.spec["layer"]
    assert band["encoding"]["y"]["field"] == "p10" and band["encoding"]["y2"]["field"] == "p90"
    assert median["encoding"]["y"]["field"] == "p50"
    assert weighted["encoding"]["y"]["field"] == "weighted"
    assert chart.rows == [("2026-02", 900, 500, 1000, 1500, 2), ("2026-03", 400, 0, 300, 800, 1)]
    assert "2026-02: P50 1,000 (P10 500 to P90 1,500)" in chart.description
    assert "from 10,000 simulated futures" in chart.description
    assert "<svg" in svg(chart)


def test_velocity_chart_draws_only_the_weeks_with_a_figure():
    rows = [("2026-01-07", 2, None, None, None, None), ("2026-01-14", 2, 0.5, 9000.0, 5.0, 1800.0)]
    chart = charts.velocity_chart(rows)
    assert chart.spec["data"]["values"] == [{"week": "2026-01-14", "velocity": 1800.0}]
    assert len(chart.rows) == 2  # the table and the CSV keep every week
    assert "<svg" in svg(chart)


def test_quality_chart_gives_shares():
    chart = charts.quality_chart([("low", 1), ("medium", 1), ("high", 2)])
    assert chart.description == "Opportunity quality: low 1 (25%); medium 1 (25%); high 2 (50%)."
    assert "<svg" in svg(chart)


def test_campaign_table_names_the_best_return():
    rows = [
        ("Fair", "EUR", 1000, 10, 4, 1, 3000, 100.0, 250.0, 1000.0, 2.0),
        ("Mailing", "EUR", 500, 5, 1, 0, 0, 100.0, 500.0, None, -1.0),
    ]
    chart = charts.campaign_table(rows)
    assert chart.spec is None
    assert chart.description == "2 campaigns. Best return: Fair (200%)."
