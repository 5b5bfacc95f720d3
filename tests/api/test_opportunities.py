"""Opportunities through the API: stage gates of the business-development and partnerships
templates, moves, checklist ticks, closing, reopening and history."""

import datetime as dt

import pytest
import time_machine

from salesline.core.models import AuditEvent
from salesline.pipeline.models import ChecklistTick, Opportunity, StageChange
from tests.conftest import qualify_fields

QUALIFY_MESSAGES = [
    (["body", "company_id"], "gate.require", "Company is required to enter Qualify."),
    (
        ["body", "primary_contact_id"],
        "gate.require",
        "Primary contact is required to enter Qualify.",
    ),
    (
        ["body", "expected_close_date"],
        "gate.require",
        "Expected close date is required to enter Qualify.",
    ),
    (["body", "value"], "gate.require", "Estimated value is required to enter Qualify."),
    (["body", "data_volume"], "gate.require", "Data volume is required to enter Qualify."),
    (["body", "sector"], "gate.require", "Sector is required to enter Qualify."),
    (
        ["body", "name"],
        "gate.name_pattern",
        "To enter Qualify: Name must read '<amount of data> - <content> - <service>', "
        "e.g. '3 TB - Personnel records - Preservation'.",
    ),
]
DEVELOP_MESSAGES = [
    (["body", "business_case"], "gate.require", "Business case is required to enter Develop."),
    (
        ["body", "checks", "use_case_verified"],
        "gate.checklist",
        "Tick 'Use-case verified by the client' to enter Develop.",
    ),
]


def expected(stage: str, messages) -> list[dict]:
    return [{"loc": loc, "msg": msg, "type": kind, "stage": stage} for loc, kind, msg in messages]


def move(api, opportunity, stage: str, **body):
    return api.post(f"/opportunities/{opportunity.pk}/move", {"stage": stage, **body})


def state(opportunity) -> dict:
    """Everything a failed move must leave as it was."""
    row = Opportunity.objects.filter(pk=opportunity.pk).values().get()
    return {
        "row": row,
        "history": list(StageChange.objects.filter(opportunity=opportunity).values()),
        "ticks": list(ChecklistTick.objects.filter(opportunity=opportunity).values()),
        "audit": AuditEvent.objects.count(),
    }


@pytest.fixture
def qualified(api, opportunity, company, person):
    response = move(api, opportunity, "qualify", fields=qualify_fields(company, person))
    assert response.status_code == 200, response.json()
    return opportunity


@pytest.fixture
def developing(api, qualified):
    response = move(
        api,
        qualified,
        "develop",
        checks=["use_case_verified"],
        fields={"business_case": "Saves 2 FTE of retrieval work."},
    )
    assert response.status_code == 200, response.json()
    return qualified


# ---------------------------------------------------------------- gates


def test_skipping_to_develop_with_nothing_filled_lists_every_criterion_of_both_stages(
    api, opportunity
):
    response = move(api, opportunity, "develop")

    assert response.status_code == 422
    assert response.json() == {
        "detail": expected("qualify", QUALIFY_MESSAGES) + expected("develop", DEVELOP_MESSAGES)
    }


def test_a_failed_move_changes_nothing(api, opportunity, company):
    before = state(opportunity)

    response = move(
        api,
        opportunity,
        "develop",
        checks=["use_case_verified"],
        reason="Keen",
        fields={"company_id": company.pk, "data_volume": "2 TB"},
    )

    assert response.status_code == 422
    assert state(opportunity) == before


@pytest.mark.parametrize(
    ("field", "value", "loc", "msg"),
    [
        (
            "name",
            "Archive project",
            ["body", "name"],
            QUALIFY_MESSAGES[-1][2],
        ),
        ("company_id", None, ["body", "company_id"], "Company is required to enter Qualify."),
        (
            "primary_contact_id",
            None,
            ["body", "primary_contact_id"],
            "Primary contact is required to enter Qualify.",
        ),
        (
            "expected_close_date",
            None,
            ["body", "expected_close_date"],
            "Expected close date is required to enter Qualify.",
        ),
        ("value", None, ["body", "value"], "Estimated value is required to enter Qualify."),
        (
            "value",
            "0",
            ["body", "value"],
            "Estimated value must be greater than 0 to enter Qualify.",
        ),
        ("data_volume", "", ["body", "data_volume"], "Data volume is required to enter Qualify."),
        ("sector", "", ["body", "sector"], "Sector is required to enter Qualify."),
    ],
)
def test_each_qualify_criterion_alone(api, opportunity, company, person, field, value, loc, msg):
    fields = {**qualify_fields(company, person), field: value}

    response = move(api, opportunity, "qualify", fields=fields)

    assert response.status_code == 422
    assert [(d["loc"], d["msg"], d["stage"]) for d in response.json()["detail"]] == [
        (loc, msg, "qualify")
    ]


def test_a_sector_outside_the_choices_is_a_field_error_not_a_gate_error(
    api, opportunity, company, person
):
    response = move(
        api, opportunity, "qualify", fields={**qualify_fields(company, person), "sector": "ngo"}
    )

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "sector"],
            "msg": "Sector must be one of: public (Public sector), private (Private sector).",
            "type": "invalid",
        }
    ]


def test_fields_sent_with_the_move_are_saved_with_it(api, opportunity, company, person):
    response = move(api, opportunity, "qualify", fields=qualify_fields(company, person))

    assert response.status_code == 200
    body = response.json()
    assert (body["stage"], body["status"], body["stage_probability"]) == ("qualify", "open", 25)
    assert (body["value"], body["company_id"], body["sector"]) == (
        "180000.00",
        company.pk,
        "public",
    )


def test_fields_already_saved_count_for_the_gate(api, opportunity, company, person):
    assert (
        api.patch(f"/opportunities/{opportunity.pk}", qualify_fields(company, person)).status_code
        == 200
    )

    response = move(api, opportunity, "qualify")

    assert response.status_code == 200
    assert response.json()["stage"] == "qualify"


def test_patch_with_a_stage_goes_through_the_gates(api, opportunity):
    before = state(opportunity)

    response = api.patch(f"/opportunities/{opportunity.pk}", {"stage": "qualify"})

    assert response.status_code == 422
    assert response.json() == {"detail": expected("qualify", QUALIFY_MESSAGES)}
    assert state(opportunity) == before


def test_patch_with_fields_and_a_stage_moves_and_records_it(api, opportunity, company, person):
    response = api.patch(
        f"/opportunities/{opportunity.pk}", {**qualify_fields(company, person), "stage": "qualify"}
    )

    assert response.status_code == 200
    assert response.json()["stage"] == "qualify"
    assert [
        (r["from_stage"], r["to_stage"])
        for r in api.get(f"/opportunities/{opportunity.pk}/history").json()["items"]
    ] == [(None, "identify"), ("identify", "qualify")]


def test_creating_in_a_later_stage_passes_its_gates(api, company, person):
    refused = api.post("/opportunities", {"name": "Big deal", "stage": "qualify"})
    created = api.post("/opportunities", {**qualify_fields(company, person), "stage": "qualify"})

    assert refused.status_code == 422
    assert refused.json() == {"detail": expected("qualify", QUALIFY_MESSAGES)}
    assert created.status_code == 201
    assert created.json()["stage"] == "qualify"
    assert Opportunity.objects.count() == 1


def test_an_unknown_stage_answers_422(api, opportunity):
    response = move(api, opportunity, "heaven")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "stage"],
            "msg": "Unknown stage 'heaven' in business-development (known: identify, qualify, "
            "develop, propose, negotiate, won, lost).",
            "type": "invalid",
        }
    ]


def test_an_unknown_checklist_item_answers_422_naming_its_position(api, qualified):
    response = move(api, qualified, "develop", checks=["use_case_verified", "coffee_had"])

    assert response.status_code == 422
    assert response.json()["detail"][0] == {
        "loc": ["body", "checks", 1],
        "msg": "'coffee_had' is not a checklist item of pipeline business-development (items: "
        "use_case_verified, proposal_sent, proposal_answered).",
        "type": "invalid",
    }
    assert not ChecklistTick.objects.exists()


# ---------------------------------------------------------------- ticks and history


def test_checks_are_recorded_with_who_and_when(api, qualified, user):
    at = dt.datetime(2027, 2, 1, 9, 30, tzinfo=dt.UTC)
    with time_machine.travel(at, tick=False):
        response = move(
            api,
            qualified,
            "develop",
            checks=["use_case_verified"],
            fields={"business_case": "Saves 2 FTE."},
        )

    assert response.status_code == 200
    assert list(
        ChecklistTick.objects.filter(opportunity=qualified).values(
            "item", "stage", "actor", "actor_label", "at"
        )
    ) == [
        {
            "item": "use_case_verified",
            "stage": "develop",
            "actor": user.pk,
            "actor_label": "ann@piql.test",
            "at": at,
        }
    ]


def test_a_tick_counts_for_later_moves_and_is_not_recorded_twice(api, developing):
    back = move(api, developing, "qualify")
    again = move(api, developing, "develop", checks=["use_case_verified"])

    assert (back.status_code, again.status_code) == (200, 200)
    assert ChecklistTick.objects.filter(opportunity=developing).count() == 1


def test_history_lists_every_move_with_actor_and_time(api, opportunity, company, person):
    at = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(at, tick=False):
        move(api, opportunity, "qualify", fields=qualify_fields(company, person))
        move(api, opportunity, "lost", reason="Went with a competitor")

    response = api.get(f"/opportunities/{opportunity.pk}/history")

    assert response.status_code == 200
    rows = response.json()["items"]
    assert response.json()["count"] == len(rows)
    assert [(r["from_stage"], r["to_stage"], r["actor"]) for r in rows] == [
        (None, "identify", "ann@piql.test"),
        ("identify", "qualify", "ann@piql.test"),
        ("qualify", "lost", "ann@piql.test"),
    ]
    assert [r["at"] for r in rows[1:]] == ["2027-03-01T12:00:00Z"] * 2
    assert rows[2]["reason"] == "Went with a competitor"


def test_a_move_writes_an_audit_event_with_the_stage_change(api, qualified, user):
    event = AuditEvent.objects.filter(action="move", object_id=str(qualified.pk)).get()

    assert (event.actor_id, event.object_type) == (user.pk, "opportunity")
    assert event.changes["stage"] == ["identify", "qualify"]
    assert event.changes["value"] == [None, "180000.00"]


def test_moving_to_the_current_stage_records_no_move(api, opportunity):
    response = move(api, opportunity, "identify")

    assert response.status_code == 200
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1


# ---------------------------------------------------------------- closing, reopening, going back


@pytest.mark.parametrize("stage", ["won", "lost"])
def test_closing_needs_a_reason(api, developing, stage):
    developing.refresh_from_db()
    before = state(developing)

    response = move(
        api,
        developing,
        stage,
        checks=["proposal_sent", "proposal_answered"],
        fields={"status_report": "Signed off"},
    )

    assert response.status_code == 422
    assert response.json()["detail"][-1] == {
        "loc": ["body", "reason"],
        "msg": f"A reason is required to enter {stage.capitalize()}.",
        "type": "gate.reason",
        "stage": stage,
    }
    assert state(developing) == before


def test_winning_passes_every_open_stage_left_and_closes(api, developing):
    response = move(
        api,
        developing,
        "won",
        checks=["proposal_sent", "proposal_answered"],
        fields={"status_report": "Signed off"},
        reason="Best preservation offer",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["stage"], body["status"], body["close_reason"]) == (
        "won",
        "won",
        "Best preservation offer",
    )
    assert body["closed_at"] is not None


def test_winning_without_the_remaining_gates_lists_them(api, developing):
    response = move(api, developing, "won", reason="Keen")

    assert response.status_code == 422
    assert [(d["stage"], d["loc"][-1]) for d in response.json()["detail"]] == [
        ("propose", "proposal_sent"),
        ("negotiate", "status_report"),
        ("negotiate", "proposal_answered"),
    ]


def test_losing_needs_only_a_reason_from_any_stage(api, opportunity):
    response = move(api, opportunity, "lost", reason="No budget this year")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["close_reason"]) == (
        "lost",
        "No budget this year",
    )


def test_reopening_a_lost_opportunity_clears_the_close(api, opportunity):
    move(api, opportunity, "lost", reason="No budget")

    response = move(api, opportunity, "identify")

    assert response.status_code == 200
    body = response.json()
    assert (body["stage"], body["status"], body["closed_at"], body["close_reason"]) == (
        "identify",
        "open",
        None,
        "",
    )


def test_reopening_into_a_later_stage_passes_its_gates_again(api, qualified):
    move(api, qualified, "lost", reason="Paused")

    refused = move(api, qualified, "develop")
    reopened = move(api, qualified, "qualify")

    assert refused.status_code == 422
    assert {d["stage"] for d in refused.json()["detail"]} == {"develop"}
    assert reopened.status_code == 200


def test_moving_backwards_needs_no_gate(api, developing):
    api.patch(f"/opportunities/{developing.pk}", {"business_case": ""})

    response = move(api, developing, "identify")

    assert response.status_code == 200
    assert response.json()["stage"] == "identify"
    assert [
        r["to_stage"] for r in api.get(f"/opportunities/{developing.pk}/history").json()["items"]
    ] == [
        "identify",
        "qualify",
        "develop",
        "identify",
    ]


# ---------------------------------------------------------------- partnerships template


@pytest.fixture
def partnership(partners_api):
    response = partners_api.post("/opportunities", {"name": "City library"})
    assert response.status_code == 201
    assert response.json()["stage"] == "lead"
    return response.json()["id"]


def test_prospect_needs_a_verbal_yes(partners_api, partnership):
    refused = partners_api.post(f"/opportunities/{partnership}/move", {"stage": "prospect"})
    moved = partners_api.post(
        f"/opportunities/{partnership}/move", {"stage": "prospect", "checks": ["verbal_close_yes"]}
    )

    assert refused.status_code == 422
    assert refused.json()["detail"] == [
        {
            "loc": ["body", "checks", "verbal_close_yes"],
            "msg": "Tick 'Verbal close: yes' to enter Prospect.",
            "type": "gate.checklist",
            "stage": "prospect",
        }
    ]
    assert moved.status_code == 200
    assert moved.json()["stage"] == "prospect"


def test_partner_needs_the_signed_agreement_and_the_verbal_yes_on_the_way(
    partners_api, partnership
):
    refused = partners_api.post(
        f"/opportunities/{partnership}/move", {"stage": "partner", "checks": ["executed_close"]}
    )
    still_refused = partners_api.post(
        f"/opportunities/{partnership}/move",
        {"stage": "partner", "checks": ["verbal_close_yes"]},
    )

    assert refused.status_code == 422
    assert [(d["stage"], d["loc"]) for d in refused.json()["detail"] if "stage" in d] == [
        ("prospect", ["body", "checks", "verbal_close_yes"]),
        ("partner", ["body", "signed_agreement"]),
    ]
    # No checklist item stands in for the agreement any more.
    assert refused.json()["detail"][0]["loc"] == ["body", "checks", 0]
    assert still_refused.status_code == 422
    assert still_refused.json()["detail"] == [
        {
            "loc": ["body", "signed_agreement"],
            "msg": "The service agreement must be signed before the opportunity becomes "
            "Partner (sign it on the Agreement panel).",
            "type": "gate.require",
            "stage": "partner",
        }
    ]


def test_a_verbal_no_closes_as_lost_with_the_reason(partners_api, partnership):
    refused = partners_api.post(f"/opportunities/{partnership}/move", {"stage": "lost"})
    closed = partners_api.post(
        f"/opportunities/{partnership}/move",
        {"stage": "lost", "reason": "Verbal close: no, no budget"},
    )

    assert refused.status_code == 422
    assert refused.json()["detail"] == [
        {
            "loc": ["body", "reason"],
            "msg": "A reason is required to enter Lost.",
            "type": "gate.reason",
            "stage": "lost",
        }
    ]
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["close_reason"]) == (
        "lost",
        "Verbal close: no, no budget",
    )


def test_a_business_development_stage_is_unknown_to_partnerships(partners_api, partnership):
    response = partners_api.post(f"/opportunities/{partnership}/move", {"stage": "qualify"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "stage"]
