"""The rating's copy of "the opportunity is open and not deleted" (QualityRating.is_open): it
follows moves, deletion and restore, and the open-only lists and the quality report read it
without changing what they show (checked against the plain join on the opportunity)."""

import pytest

from salesline.analytics.models import QualityRating
from salesline.analytics.quality_selectors import (
    ListFilters,
    quality_distribution,
    quality_lowest,
)
from salesline.analytics.quality_services import quality_open_sync, quality_rerate_daily
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline.models import Opportunity
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.records.fields import KINDS
from salesline.records.filters import parse_list_query
from salesline.records.selectors import record_list, record_queryset
from salesline.records.services import record_delete, record_restore
from tests.conftest import qualify_fields

pytestmark = pytest.mark.django_db(transaction=True)

# What the business-development template asks before `won` from any stage.
WON_FIELDS = {"business_case": "Saves 2 FTE", "status_report": "Signed"}
WON_CHECKS = ["use_case_verified", "proposal_sent", "proposal_answered"]


def is_open(opportunity) -> bool:
    return QualityRating.objects.get(opportunity=opportunity).is_open


def test_the_copy_follows_won_lost_and_reopened(actor, company, person):
    won = opportunity_create(actor=actor, data={"name": "To be won"})
    lost = opportunity_create(actor=actor, data={"name": "To be lost"})
    run_pending_tasks()
    assert is_open(won) and is_open(lost)

    opportunity_move(
        actor=actor,
        opportunity_id=won.pk,
        stage="won",
        reason="Signed",
        checks=WON_CHECKS,
        fields={**qualify_fields(company, person), **WON_FIELDS},
    )
    opportunity_move(actor=actor, opportunity_id=lost.pk, stage="lost", reason="No budget")
    run_pending_tasks()
    assert Opportunity.objects.get(pk=won.pk).status == "won"
    assert (is_open(won), is_open(lost)) == (False, False)

    opportunity_move(actor=actor, opportunity_id=lost.pk, stage="identify")
    run_pending_tasks()
    assert (is_open(won), is_open(lost)) == (False, True)


def test_the_copy_follows_delete_and_restore(actor, opportunity):
    run_pending_tasks()
    assert is_open(opportunity)
    record_delete(actor=actor, kind="opportunity", record_id=opportunity.pk)
    run_pending_tasks()
    assert not is_open(opportunity)  # kept for a restore, no longer open
    record_restore(actor=actor, kind="opportunity", record_id=opportunity.pk)
    run_pending_tasks()
    assert is_open(opportunity)


def test_the_sync_reads_the_opportunity_not_the_event(actor, opportunity):
    """Handlers may run out of order (the deletion's after the restore's): the copy is set from
    the opportunity as it is when the handler runs."""
    run_pending_tasks()
    record_delete(actor=actor, kind="opportunity", record_id=opportunity.pk)
    record_restore(actor=actor, kind="opportunity", record_id=opportunity.pk)
    quality_open_sync(organisation=actor.organisation, opportunity_ids=[opportunity.pk])
    assert is_open(opportunity)


def test_the_daily_rerating_clears_a_stale_copy(actor, other_actor):
    import datetime as dt

    lost = opportunity_create(actor=actor, data={"name": "Lost"})
    deleted = opportunity_create(actor=actor, data={"name": "Deleted"})
    theirs = opportunity_create(actor=other_actor, data={"name": "Theirs"})
    run_pending_tasks()
    opportunity_move(actor=actor, opportunity_id=lost.pk, stage="lost", reason="No budget")
    record_delete(actor=actor, kind="opportunity", record_id=deleted.pk)
    QualityRating.objects.update(is_open=True)  # as if the handlers had not run
    quality_rerate_daily(organisation=actor.organisation, today=dt.date(2026, 12, 7))
    assert (is_open(lost), is_open(deleted)) == (False, False)
    assert is_open(theirs)  # another organisation's ratings are not touched


# --- The lists and the report read the same rows as the plain join ---------------------


@pytest.fixture
def mixed(actor, other_actor):
    """Open, lost and deleted opportunities with ratings of equal and different scores, one
    open opportunity not rated, and another organisation's open one."""
    scores = [40, 70, 40, 95, 10, 70, 55, 40, 100, 0]
    made = []
    for index, score in enumerate(scores):
        opportunity = opportunity_create(actor=actor, data={"name": f"Deal {index}"})
        made.append((opportunity, score))
    theirs = opportunity_create(actor=other_actor, data={"name": "Theirs"})
    run_pending_tasks()
    for opportunity, score in made:
        band = "good" if score >= 75 else "fair" if score >= 50 else "poor"
        QualityRating.objects.filter(opportunity=opportunity).update(score=score, band=band)
    QualityRating.objects.filter(opportunity=theirs).update(score=1, band="poor")
    for opportunity, _ in made[1::3]:
        opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost", reason="No")
    record_delete(actor=actor, kind="opportunity", record_id=made[2][0].pk)
    record_delete(actor=actor, kind="opportunity", record_id=made[3][0].pk)
    run_pending_tasks()
    opportunity_create(actor=actor, data={"name": "Not rated yet"})  # its task is not run
    return made


def plain_open_ratings(actor):
    """The rated open live opportunities of the actor's organisation, by the opportunity's
    own columns only (what the lists showed before the copy)."""
    return QualityRating.objects.filter(
        organisation=actor.organisation,
        opportunity__status="open",
        opportunity__deleted_at=None,
    )


@pytest.mark.parametrize("ordering", ["-quality", "quality"])
def test_the_open_list_by_quality_is_the_plain_join(actor, mixed, ordering):
    query = parse_list_query(
        KINDS["opportunity"], {"status": "open", "ordering": ordering}, lambda: []
    )
    rows = record_queryset(actor=actor, kind="opportunity", query=query)
    assert "is_open" in str(rows.query)  # read from the open ratings' index
    sign = "-" if ordering.startswith("-") else ""
    expected = list(
        plain_open_ratings(actor)
        .order_by(f"{sign}score", f"{sign}opportunity_id")
        .values_list("opportunity_id", flat=True)
    )
    assert len(expected) == 5  # 10, less 3 lost and 2 deleted
    assert [row.pk for row in rows] == expected
    page = record_list(actor=actor, kind="opportunity", query=query)
    assert [row.pk for row in page.items] == expected


def test_other_lists_do_not_use_the_copy(actor, mixed):
    for params in ({"status": "lost", "ordering": "quality"}, {"ordering": "quality"}):
        query = parse_list_query(KINDS["opportunity"], params, lambda: [])
        rows = record_queryset(actor=actor, kind="opportunity", query=query)
        assert "is_open" not in str(rows.query)
    lost = parse_list_query(
        KINDS["opportunity"], {"status": "lost", "ordering": "quality"}, lambda: []
    )
    assert len(record_queryset(actor=actor, kind="opportunity", query=lost)) == 3


def test_the_report_is_the_plain_join(actor, mixed):
    found = quality_distribution(actor=actor, filters=ListFilters(query=None))
    plain = list(plain_open_ratings(actor).values_list("score", "band"))
    assert found["rated"] == len(plain) == 5
    assert found["unrated"] == 1
    for row in found["bands"]:
        assert row["count"] == sum(1 for _, band in plain if band == row["band"])
    for index, row in enumerate(found["deciles"]):
        assert row["count"] == sum(1 for score, _ in plain if min(score // 10, 9) == index)
    assert found["mean"] == round(sum(score for score, _ in plain) / len(plain), 1)
    lowest = quality_lowest(actor=actor, filters=ListFilters(query=None), limit=4)
    expected = list(
        plain_open_ratings(actor)
        .order_by("score", "opportunity_id")
        .values_list("opportunity_id", flat=True)[:4]
    )
    assert [row["id"] for row in lowest] == expected


def test_a_copy_the_worker_has_not_caught_up_with_shows_no_closed_deal(actor, mixed):
    """A rating still marked open after its opportunity was lost (the handler has not run)
    is not listed: the opportunity's own status decides. The report's counts trust the copy
    until the handler has run."""
    still_open = plain_open_ratings(actor).order_by("score").first()
    Opportunity.objects.filter(pk=still_open.opportunity_id).update(status="lost")
    assert QualityRating.objects.get(pk=still_open.pk).is_open
    query = parse_list_query(
        KINDS["opportunity"], {"status": "open", "ordering": "quality"}, lambda: []
    )
    rows = record_queryset(actor=actor, kind="opportunity", query=query)
    assert still_open.opportunity_id not in [row.pk for row in rows]
    lowest = quality_lowest(actor=actor, filters=ListFilters(query=None))
    assert still_open.opportunity_id not in [row["id"] for row in lowest]
    assert quality_distribution(actor=actor, filters=ListFilters(query=None))["rated"] == 5
    quality_open_sync(organisation=actor.organisation, opportunity_ids=[still_open.opportunity_id])
    assert quality_distribution(actor=actor, filters=ListFilters(query=None))["rated"] == 4
