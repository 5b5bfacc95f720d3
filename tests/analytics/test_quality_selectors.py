"""The distribution of ratings and the lowest rated, scoped and filtered."""

from types import SimpleNamespace

import pytest

from salesline.analytics.models import QualityRating
from salesline.analytics.quality_selectors import (
    ListFilters,
    quality_distribution,
    quality_lowest,
)
from salesline.pipeline.services import opportunity_create
from salesline.records.fields import KINDS
from salesline.records.filters import parse_list_query

pytestmark = pytest.mark.django_db


def rated(actor, name: str, score: int, band: str, **data):
    opportunity = opportunity_create(actor=actor, data={"name": name, **data})
    QualityRating.objects.create(
        organisation=actor.organisation,
        opportunity=opportunity,
        score=score,
        band=band,
        reasons=[{"key": "contact", "met": score > 50, "text": f"{name} reason"}],
        is_open=opportunity.status == "open",
    )
    return opportunity


@pytest.fixture
def five(actor, other_actor):
    rated(actor, "A", 5, "poor")
    rated(actor, "B", 45, "poor", value="10")
    rated(actor, "C", 59, "fair", value="500")
    rated(actor, "D", 100, "good", value="900")
    opportunity_create(actor=actor, data={"name": "Unrated"})
    rated(other_actor, "Theirs", 10, "poor")


def test_counts_per_band_and_decile(actor, five):
    found = quality_distribution(actor=actor, filters=ListFilters(query=None))
    assert found["bands"] == [
        {"band": "good", "label": "Good", "count": 1},
        {"band": "fair", "label": "Fair", "count": 1},
        {"band": "poor", "label": "Poor", "count": 2},
    ]
    assert [(row["range"], row["count"]) for row in found["deciles"]] == [
        ("0-9", 1),
        ("10-19", 0),
        ("20-29", 0),
        ("30-39", 0),
        ("40-49", 1),
        ("50-59", 1),
        ("60-69", 0),
        ("70-79", 0),
        ("80-89", 0),
        ("90-100", 1),
    ]
    assert (found["rated"], found["unrated"], found["mean"]) == (4, 1, 52.2)  # 209 / 4


def test_filtered_by_the_list_filters_and_the_pipeline(actor, five):
    query = parse_list_query(KINDS["opportunity"], {"value__gte": "400"}, lambda: [])
    found = quality_distribution(actor=actor, filters=ListFilters(query=query))
    assert [row["count"] for row in found["bands"]] == [1, 1, 0]
    assert found["unrated"] == 0
    # MetricFilters' shape: a pipeline and no list filter.
    other = quality_distribution(
        actor=actor, filters=SimpleNamespace(query=None, pipeline_key="nope")
    )
    assert other["rated"] == 0


def test_lowest_rated_first_with_unmet_reasons(actor, five):
    lowest = quality_lowest(actor=actor, filters=ListFilters(query=None), limit=3)
    assert [(row["name"], row["score"]) for row in lowest] == [("A", 5), ("B", 45), ("C", 59)]
    assert lowest[0]["unmet"] == ["A reason"]
    assert lowest[2]["unmet"] == []


def test_the_dashboard_draws_the_distribution(actor, five):
    from salesline.analytics.dashboard_selectors import _quality_chart
    from salesline.analytics.filters import parse_metric_filters

    chart = _quality_chart(actor, parse_metric_filters(actor, {}))
    assert chart.rows == [("Good", 1), ("Fair", 1), ("Poor", 2)]
