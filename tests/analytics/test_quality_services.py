"""Ratings kept current: by the event handlers (run by the worker), the daily re-rating and the
re-rating after the quality section changes."""

import datetime as dt

import pytest
import time_machine

from salesline.analytics.models import QualityRating, QualityRerating
from salesline.analytics.quality_services import quality_rerate, quality_rerate_daily
from salesline.core.models import AuditEvent
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline.services import opportunity_create, opportunity_update
from salesline.records.services import note_create
from tests.conftest import edit_definition, qualify_fields

pytestmark = pytest.mark.django_db(transaction=True)

# The business-development template, default quality specs (weights 25, 15, 15, 20, 15, 10):
# a new opportunity in Identify has no gate behind it (40 for gate fields and checklist), was
# just worked on (20), but has no contact (15), close date (15) or value (10): 60, fair.
NEW_SCORE = 60


def rating_of(opportunity) -> QualityRating:
    return QualityRating.objects.get(opportunity=opportunity)


def test_a_new_opportunity_is_rated_by_the_worker(actor):
    opportunity = opportunity_create(actor=actor, data={"name": "Archive project"})
    assert not QualityRating.objects.exists()
    run_pending_tasks()
    rating = rating_of(opportunity)
    assert (rating.score, rating.band) == (NEW_SCORE, "fair")
    assert [r["text"] for r in rating.reasons if not r["met"]] == [
        "Name a primary contact: who speaks for the customer?",
        "Set the expected close date.",
        "Estimate the value of the opportunity.",
    ]
    assert rating.organisation_id == actor.organisation.pk


def test_an_edit_and_a_move_rate_it_again(actor, company, person):
    opportunity = opportunity_create(actor=actor, data={"name": "Archive project"})
    run_pending_tasks()
    opportunity_update(actor=actor, opportunity_id=opportunity.pk, data={"value": "5000"})
    run_pending_tasks()
    assert rating_of(opportunity).score == NEW_SCORE + 10
    opportunity_update(
        actor=actor,
        opportunity_id=opportunity.pk,
        data={**qualify_fields(company, person), "stage": "qualify"},
    )
    run_pending_tasks()
    rating = rating_of(opportunity)
    # Qualify's required fields are filled, contact named, close date ahead; only Develop's
    # checklist, the work in hand, is left (15).
    assert (rating.score, rating.band) == (85, "good")
    assert [r["text"] for r in rating.reasons if not r["met"]] == [
        "Tick 'Use-case verified by the client' on the checklist."
    ]


def test_ticking_the_checklist_rates_it_again(actor, company, person):
    with time_machine.travel(dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)):
        opportunity = opportunity_create(
            actor=actor,
            data={**qualify_fields(company, person), "stage": "qualify"},
        )
        run_pending_tasks()
        # Develop's checklist item, the work in hand, is not ticked: 15 lost.
        assert rating_of(opportunity).score == 85
        opportunity_update(
            actor=actor, opportunity_id=opportunity.pk, data={"checks": ["use_case_verified"]}
        )
        run_pending_tasks()
        assert rating_of(opportunity).score == 100


def test_a_note_counts_as_activity(actor):
    with time_machine.travel(dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)):
        opportunity = opportunity_create(actor=actor, data={"name": "Archive project"})
        run_pending_tasks()
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)):
        # 55 days idle: the daily re-rating takes the activity's 20 away.
        assert quality_rerate_daily(organisation=actor.organisation, today=dt.date(2026, 3, 1))
        assert rating_of(opportunity).score == NEW_SCORE - 20
        note_create(
            actor=actor, body="Called the archivist", target={"opportunity_id": opportunity.pk}
        )
        run_pending_tasks()
        assert rating_of(opportunity).score == NEW_SCORE


def test_the_daily_rerating_runs_once_a_day(actor, opportunity):
    today = dt.date(2026, 3, 1)
    assert quality_rerate_daily(organisation=actor.organisation, today=today) == 1
    assert quality_rerate_daily(organisation=actor.organisation, today=today) is None
    assert QualityRerating.objects.get(organisation=actor.organisation).rerated_on == today
    assert quality_rerate_daily(organisation=actor.organisation, today=today.replace(day=2)) == 1


def test_a_changed_quality_section_rates_everything_again(actor, admin_actor, opportunity):
    run_pending_tasks()
    assert rating_of(opportunity).score == NEW_SCORE

    def contact_only(document):
        document["quality"] = {
            "bands": {"good": 80, "fair": 40},
            "specs": [{"key": "contact", "check": "contact", "weight": 1, "label": ""}],
        }

    edit_definition(admin_actor, contact_only)
    run_pending_tasks()
    rating = rating_of(opportunity)
    assert (rating.score, rating.band) == (0, "poor")
    assert AuditEvent.objects.filter(
        organisation=actor.organisation, action="quality_rerate"
    ).exists()


def test_rerate_rates_only_the_actors_organisation(actor, other_actor, admin_actor):
    mine = opportunity_create(actor=actor, data={"name": "Mine"})
    theirs = opportunity_create(actor=other_actor, data={"name": "Theirs"})
    assert quality_rerate(actor=admin_actor) == 1
    assert QualityRating.objects.filter(opportunity=mine).exists()
    assert not QualityRating.objects.filter(opportunity=theirs).exists()


def test_salesline_quality_rerate(capsys, actor, opportunity):
    from salesline import cli

    assert cli.main(["quality", "rerate", "--org", actor.organisation.slug]) == 0
    assert capsys.readouterr().out == f"Rated 1 opportunity of {actor.organisation.slug}.\n"
    assert rating_of(opportunity).score == NEW_SCORE
    assert cli.main(["quality", "rerate", "--org", "nobody"]) == 1
