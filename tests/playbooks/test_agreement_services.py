"""Agreements: validation, status changes, and signing as the executed close."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesline.core.errors import Conflict, NotFound, ValidationFailed
from salesline.core.models import AuditEvent, DomainEvent
from salesline.pipeline import selectors as pipeline_selectors
from salesline.pipeline.models import StageChange
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.playbooks import agreement_selectors, agreement_services
from salesline.playbooks.models import Agreement
from tests.playbooks.agreement_fixtures import (  # noqa: F401 - fixtures
    TERMS,
    agreement_fixture,
    partnership_fixture,
    sign,
)


def problems(error) -> dict:
    return {p.loc: p.msg for p in error.value.problems}


def test_create_keeps_the_terms_as_a_draft(partners_actor, agreement):
    assert agreement.status == "draft"
    assert (agreement.start_date, agreement.end_date) == (date(2026, 1, 31), date(2027, 1, 30))
    assert (agreement.value, agreement.currency) == (Decimal("12000.00"), "EUR")
    assert (agreement.billing_frequency, agreement.renewal_notice_days) == ("monthly", 60)
    event = AuditEvent.objects.get(object_type="agreement", action="create")
    assert event.changes["value"] == [None, "12000.00"]


def test_every_bad_term_is_named_at_once(partners_actor, partnership):
    with pytest.raises(ValidationFailed) as refused:
        agreement_services.agreement_create(
            actor=partners_actor,
            opportunity_id=partnership.pk,
            data={
                "start_date": "2026-05-01",
                "end_date": "2026-04-30",
                "value": "-1",
                "currency": "EURO",
                "billing_frequency": "weekly",
                "renewal_notice_days": 9999,
                "colour": "red",
            },
        )
    assert set(problems(refused)) == {
        ("end_date",),
        ("value",),
        ("currency",),
        ("billing_frequency",),
        ("renewal_notice_days",),
        ("colour",),
    }
    assert problems(refused)[("end_date",)] == "End date cannot be before the start date."
    assert not Agreement.objects.exists()


def test_an_opportunity_of_another_organisation_is_not_found(other_actor, partnership):
    with pytest.raises(ValidationFailed) as refused:
        agreement_services.agreement_create(
            actor=other_actor, opportunity_id=partnership.pk, data={}
        )
    assert list(problems(refused)) == [("opportunity_id",)]


def test_another_organisations_agreement_is_not_found(other_actor, agreement):
    with pytest.raises(NotFound):
        agreement_selectors.agreement_get_for(actor=other_actor, agreement_id=agreement.pk)
    with pytest.raises(NotFound):
        agreement_services.agreement_share(actor=other_actor, agreement_id=agreement.pk)
    with pytest.raises(NotFound):
        sign(other_actor, agreement)


def test_one_live_agreement_per_opportunity(partners_actor, agreement):
    with pytest.raises(Conflict):
        agreement_services.agreement_create(
            actor=partners_actor, opportunity_id=agreement.opportunity_id, data={}
        )


def test_status_goes_forward_draft_shared_ready(partners_actor, agreement):
    shared = agreement_services.agreement_share(actor=partners_actor, agreement_id=agreement.pk)
    assert (shared.status, shared.version) == ("shared", 2)
    with pytest.raises(Conflict):
        agreement_services.agreement_share(actor=partners_actor, agreement_id=agreement.pk)
    ready = agreement_services.agreement_update(
        actor=partners_actor, agreement_id=agreement.pk, data={"status": "ready_to_sign"}
    )
    assert ready.status == "ready_to_sign"
    for wanted in ("draft", "signed", "ended", "lost"):
        with pytest.raises(ValidationFailed) as refused:
            agreement_services.agreement_update(
                actor=partners_actor, agreement_id=agreement.pk, data={"status": wanted}
            )
        assert list(problems(refused)) == [("status",)]
    assert [e.kind for e in DomainEvent.objects.filter(object_type="agreement")] == [
        "agreement_created",
        "agreement_shared",
        "agreement_ready_to_sign",
    ]


def test_signing_is_the_executed_close(partners_actor, agreement):
    signed = sign(partners_actor, agreement)

    assert (signed.status, signed.signed_on) == ("signed", date(2026, 1, 20))
    opportunity = signed.opportunity
    opportunity.refresh_from_db()
    assert (opportunity.stage.key, opportunity.status) == ("partner", "won")
    change = StageChange.objects.filter(opportunity=opportunity).latest("at")
    assert (change.from_stage, change.to_stage) == ("prospect", "partner")
    event = DomainEvent.objects.get(kind="agreement_signed")
    assert event.payload == {
        "agreement_id": agreement.pk,
        "opportunity_id": opportunity.pk,
        "signed_on": "2026-01-20",
    }
    assert DomainEvent.objects.filter(kind="opportunity_won", object_id=str(opportunity.pk))
    assert AuditEvent.objects.filter(object_type="agreement", action="sign").count() == 1


def test_signing_twice_is_a_conflict(partners_actor, agreement):
    sign(partners_actor, agreement)
    with pytest.raises(Conflict):
        sign(partners_actor, agreement, on=date(2026, 2, 1))
    agreement.refresh_from_db()
    assert agreement.signed_on == date(2026, 1, 20)


def test_signed_terms_cannot_change_but_it_can_end(partners_actor, agreement):
    sign(partners_actor, agreement)
    with pytest.raises(Conflict):
        agreement_services.agreement_update(
            actor=partners_actor, agreement_id=agreement.pk, data={"value": "1"}
        )
    same = agreement_services.agreement_update(
        actor=partners_actor, agreement_id=agreement.pk, data={"value": "12000"}
    )
    assert same.version == agreement.version + 1  # signing bumped it; nothing more
    ended = agreement_services.agreement_end(actor=partners_actor, agreement_id=agreement.pk)
    assert ended.status == "ended"


def test_a_refused_move_signs_nothing_and_names_what_is_missing(partners_actor):
    opportunity = opportunity_create(actor=partners_actor, data={"name": "Museum hub"})
    agreement = agreement_services.agreement_create(
        actor=partners_actor, opportunity_id=opportunity.pk, data=TERMS
    )

    with pytest.raises(ValidationFailed) as refused:
        sign(partners_actor, agreement)

    assert [(p.loc, p.stage) for p in refused.value.problems] == [
        (("checks", "verbal_close_yes"), "prospect")
    ]
    agreement.refresh_from_db()
    assert (agreement.status, agreement.signed_on, agreement.version) == ("draft", None, 1)
    assert not DomainEvent.objects.filter(kind="agreement_signed").exists()
    assert not AuditEvent.objects.filter(action="sign").exists()


def test_signing_needs_the_start_date_and_the_value(partners_actor, partnership):
    agreement = agreement_services.agreement_create(
        actor=partners_actor, opportunity_id=partnership.pk, data={}
    )
    with pytest.raises(ValidationFailed) as refused:
        agreement_services.agreement_sign(
            actor=partners_actor, agreement_id=agreement.pk, signed_on="yesterday"
        )
    assert set(problems(refused)) == {("signed_on",), ("start_date",), ("value",)}


def test_a_move_to_partner_without_a_signed_agreement_is_refused_naming_it(
    partners_actor, partnership
):
    with pytest.raises(ValidationFailed) as refused:
        opportunity_move(actor=partners_actor, opportunity_id=partnership.pk, stage="partner")
    assert problems(refused) == {
        ("signed_agreement",): "The service agreement must be signed before the opportunity "
        "becomes Partner (sign it on the Agreement panel)."
    }


def test_an_opportunity_already_won_is_not_moved(partners_actor, agreement):
    sign(partners_actor, agreement)
    agreement_services.agreement_end(actor=partners_actor, agreement_id=agreement.pk)
    renewal = agreement_services.agreement_create(
        actor=partners_actor, opportunity_id=agreement.opportunity_id, data=TERMS
    )
    moves = StageChange.objects.count()
    signed = sign(partners_actor, renewal, on=date(2027, 1, 10))
    assert signed.status == "signed"
    assert StageChange.objects.count() == moves


def test_signing_in_a_pipeline_without_the_rule_only_signs(actor, opportunity):
    agreement = agreement_services.agreement_create(
        actor=actor, opportunity_id=opportunity.pk, data=TERMS
    )
    signed = sign(actor, agreement)
    assert signed.status == "signed"
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "identify"


def test_moves_into_stages_without_the_rule_do_not_ask_for_agreements(partners_actor):
    opportunity = opportunity_create(actor=partners_actor, data={"name": "Quiet hub"})

    with CaptureQueriesContext(connection) as queries:
        opportunity = opportunity_move(
            actor=partners_actor,
            opportunity_id=opportunity.pk,
            stage="prospect",
            checks=["verbal_close_yes"],
        )
    assert not [q for q in queries.captured_queries if "playbooks_agreement" in q["sql"]]

    needs = pipeline_selectors.move_requirements(
        actor=partners_actor,
        opportunity=opportunity,
        pipeline_key="partnerships",
        stage_key="partner",
    )
    assert [(r.field, r.met, r.text) for r in needs] == [
        ("signed_agreement", False, "Signed service agreement")
    ]
    assert needs[0].message.startswith("The service agreement must be signed")
