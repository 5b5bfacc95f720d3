"""Stage gates through the services: which stages a move enters, what each gate asks, and that a
refused move changes nothing."""

import pytest

from salesline.core.errors import NotFound, PreconditionFailed, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.pipeline.models import ChecklistTick, Opportunity, StageChange
from salesline.pipeline.services import opportunity_create, opportunity_move, opportunity_update
from salesline.records.services import record_delete
from tests.conftest import edit_definition, qualify_fields


def problems_of(exc_info) -> list[tuple]:
    return [(p.stage, p.loc, p.type) for p in exc_info.value.problems]


def snapshot(opportunity) -> dict:
    return {
        "row": Opportunity.objects.filter(pk=opportunity.pk).values().get(),
        "history": StageChange.objects.filter(opportunity=opportunity).count(),
        "ticks": ChecklistTick.objects.filter(opportunity=opportunity).count(),
        "audit": AuditEvent.objects.count(),
    }


def test_skipping_ahead_evaluates_every_stage_passed(actor, opportunity):
    with pytest.raises(ValidationFailed) as refused:
        opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="propose")

    assert [stage for stage, _, _ in problems_of(refused)] == ["qualify"] * 7 + [
        "develop",
        "develop",
        "propose",
    ]
    assert problems_of(refused)[-1] == ("propose", ("checks", "proposal_sent"), "gate.checklist")


def test_a_refused_move_changes_nothing(actor, opportunity, company):
    before = snapshot(opportunity)

    with pytest.raises(ValidationFailed):
        opportunity_move(
            actor=actor,
            opportunity_id=opportunity.pk,
            stage="develop",
            checks=["use_case_verified"],
            fields={"company_id": company.pk, "business_case": "Yes"},
        )

    assert snapshot(opportunity) == before


def test_a_move_with_everything_records_stage_ticks_and_history(
    actor, opportunity, company, person
):
    moved = opportunity_move(
        actor=actor,
        opportunity_id=opportunity.pk,
        stage="develop",
        checks=["use_case_verified"],
        fields={**qualify_fields(company, person), "business_case": "Clear ROI"},
    )

    assert (moved.stage.key, moved.status, moved.version) == ("develop", "open", 2)
    assert list(
        StageChange.objects.filter(opportunity=opportunity).values_list("from_stage", "to_stage")
    ) == [("", "identify"), ("identify", "develop")]
    assert list(ChecklistTick.objects.values_list("item", "stage", "actor_label")) == [
        ("use_case_verified", "develop", "ann@piql.test")
    ]


def test_gates_see_the_values_sent_with_the_move_not_only_the_saved_ones(
    actor, opportunity, company, person
):
    opportunity_update(
        actor=actor, opportunity_id=opportunity.pk, data={"value": "0", "sector": "public"}
    )

    with pytest.raises(ValidationFailed) as refused:
        opportunity_move(
            actor=actor,
            opportunity_id=opportunity.pk,
            stage="qualify",
            fields={**qualify_fields(company, person), "value": "0"},
        )
    moved = opportunity_move(
        actor=actor,
        opportunity_id=opportunity.pk,
        stage="qualify",
        fields=qualify_fields(company, person),
    )

    assert [(p.loc, p.msg) for p in refused.value.problems] == [
        (("value",), "Estimated value must be greater than 0 to enter Qualify.")
    ]
    assert moved.stage.key == "qualify"


def test_losing_from_any_stage_needs_only_the_reason(actor, opportunity):
    with pytest.raises(ValidationFailed) as refused:
        opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost")
    lost = opportunity_move(
        actor=actor, opportunity_id=opportunity.pk, stage="lost", reason="  Timing  "
    )

    assert problems_of(refused) == [("lost", ("reason",), "gate.reason")]
    assert (lost.status, lost.close_reason) == ("lost", "Timing")
    assert lost.closed_at is not None


def test_reopening_enters_the_open_stages_again(actor, opportunity, company, person):
    opportunity_move(
        actor=actor,
        opportunity_id=opportunity.pk,
        stage="qualify",
        fields=qualify_fields(company, person),
    )
    opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost", reason="Paused")
    opportunity_update(actor=actor, opportunity_id=opportunity.pk, data={"data_volume": ""})

    with pytest.raises(ValidationFailed) as refused:
        opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="qualify")
    reopened = opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="identify")

    assert problems_of(refused) == [("qualify", ("data_volume",), "gate.require")]
    assert (reopened.stage.key, reopened.status, reopened.closed_at, reopened.close_reason) == (
        "identify",
        "open",
        None,
        "",
    )


def test_moving_back_passes_no_gate(actor, opportunity, company, person):
    opportunity_move(
        actor=actor,
        opportunity_id=opportunity.pk,
        stage="qualify",
        fields=qualify_fields(company, person),
    )

    back = opportunity_move(
        actor=actor, opportunity_id=opportunity.pk, stage="identify", fields={"value": None}
    )

    assert (back.stage.key, back.value) == ("identify", None)


def test_a_stale_version_is_refused_before_anything_changes(actor, opportunity):
    before = snapshot(opportunity)

    with pytest.raises(PreconditionFailed):
        opportunity_move(
            actor=actor,
            opportunity_id=opportunity.pk,
            stage="lost",
            reason="x",
            expected_version=opportunity.version + 1,
        )

    assert snapshot(opportunity) == before


def test_a_deleted_opportunity_cannot_be_moved(actor, opportunity):
    record_delete(actor=actor, kind="opportunity", record_id=opportunity.pk)

    with pytest.raises(NotFound):
        opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost", reason="x")


def test_another_organisations_opportunity_cannot_be_moved(other_actor, opportunity):
    with pytest.raises(NotFound):
        opportunity_move(actor=other_actor, opportunity_id=opportunity.pk, stage="lost", reason="x")


# ---------------------------------------------------------------- configured gates

CUSTOM_GATE = {
    "key": "tenders",
    "name": "Tenders",
    "stages": [
        {"key": "spotted", "name": "Spotted", "probability": 5},
        {
            "key": "bid",
            "name": "Bid",
            "probability": 40,
            "gate": {
                "require": ["poc_needed", "expected_close_date"],
                "conditions": [
                    {
                        "field": "win_probability",
                        "op": ">=",
                        "value": 30,
                        "message": "Bid only on tenders we can win.",
                    }
                ],
                "checklist": [{"key": "bid_approved", "label": "Bid approved"}],
            },
        },
        {"key": "awarded", "name": "Awarded", "kind": "won", "probability": 100},
        {"key": "lost", "name": "Lost", "kind": "lost", "probability": 0},
    ],
}


@pytest.fixture
def tenders(admin_actor):
    edit_definition(admin_actor, lambda document: document["pipelines"].append(CUSTOM_GATE))


def test_a_configured_gate_on_a_custom_field_a_condition_and_a_checklist(actor, tenders):
    deal = opportunity_create(actor=actor, data={"name": "City tender", "pipeline": "tenders"})

    with pytest.raises(ValidationFailed) as refused:
        opportunity_move(
            actor=actor, opportunity_id=deal.pk, stage="bid", fields={"win_probability": 20}
        )
    moved = opportunity_move(
        actor=actor,
        opportunity_id=deal.pk,
        stage="bid",
        checks=["bid_approved"],
        fields={
            "win_probability": 30,
            "expected_close_date": "2027-09-01",
            "custom_fields": {"poc_needed": False},
        },
    )

    assert [(p.loc, p.msg) for p in refused.value.problems] == [
        (("poc_needed",), "Proof of concept needed is required to enter Bid."),
        (("expected_close_date",), "Expected close date is required to enter Bid."),
        (("win_probability",), "To enter Bid: Bid only on tenders we can win."),
        (("checks", "bid_approved"), "Tick 'Bid approved' to enter Bid."),
    ]
    assert (moved.pipeline.key, moved.stage.key) == ("tenders", "bid")


def test_moving_into_another_pipeline_enters_its_stages_from_the_start(actor, opportunity, tenders):
    with pytest.raises(ValidationFailed) as refused:
        opportunity_update(
            actor=actor, opportunity_id=opportunity.pk, data={"pipeline": "tenders", "stage": "bid"}
        )
    moved = opportunity_update(
        actor=actor, opportunity_id=opportunity.pk, data={"pipeline": "tenders"}
    )

    assert {p.stage for p in refused.value.problems} == {"bid"}
    assert (moved.pipeline.key, moved.stage.key) == ("tenders", "spotted")
    change = StageChange.objects.filter(opportunity=opportunity).last()
    assert (change.pipeline.key, change.from_stage, change.to_stage) == (
        "tenders",
        "identify",
        "spotted",
    )
    assert AuditEvent.objects.filter(action="move", object_id=str(opportunity.pk)).get().changes[
        "pipeline"
    ] == ["business-development", "tenders"]


def test_a_checklist_item_of_another_pipeline_is_refused(actor, opportunity, tenders):
    with pytest.raises(ValidationFailed) as refused:
        opportunity_update(
            actor=actor, opportunity_id=opportunity.pk, data={"checks": ["bid_approved"]}
        )

    assert [p.loc for p in refused.value.problems] == [("checks", 0)]
    assert not ChecklistTick.objects.exists()


def test_checks_can_be_ticked_without_moving(actor, opportunity):
    updated = opportunity_update(
        actor=actor, opportunity_id=opportunity.pk, data={"checks": ["proposal_sent"]}
    )

    assert updated.stage.key == "identify"
    assert list(ChecklistTick.objects.values_list("item", "stage")) == [
        ("proposal_sent", "propose")
    ]
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1


def test_create_defaults_to_the_first_pipeline_and_stage(actor):
    created = opportunity_create(actor=actor, data={"name": "New"})

    assert (created.pipeline.key, created.stage.key, created.status) == (
        "business-development",
        "identify",
        "open",
    )
