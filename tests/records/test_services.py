"""Record services: minimum fields from the org's process definition, custom-field validation,
soft delete with a 30-day restore window, and the audit event every change writes."""

import datetime as dt
import math

import pytest
import time_machine

from salesline.accounts import services as accounts
from salesline.core import audit
from salesline.core.errors import Conflict, NotFound, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.pipeline.conversion import lead_convert
from salesline.pipeline.models import StageChange
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.process.definition import template_text
from salesline.process.services import process_load
from salesline.records import selectors
from salesline.records.models import Company, Note
from salesline.records.services import (
    note_create,
    note_delete,
    note_restore,
    note_update,
    record_create,
    record_delete,
    record_restore,
    record_update,
)
from tests.conftest import COMPANY, CONVERT_PERSON, LEAD, PERSON

START = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.UTC)


def problems(exc_info) -> list[tuple]:
    return [(p.loc, p.msg) for p in exc_info.value.problems]


def events(**filters) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(**filters)
        .order_by("id")
        .values_list("action", "object_type", "object_id", "actor_label", "changes")
    )


# ---------------------------------------------------------------- minimum fields


def test_the_templates_minimum_fields_are_each_reported(actor):
    with pytest.raises(ValidationFailed) as refused:
        record_create(actor=actor, kind="company", data={"name": "Acme"})

    assert problems(refused) == [
        (("contact_type",), "Contact type is required."),
        (("business_unit",), "Business unit is required."),
        (("market",), "Market is required."),
        (("life_cycle",), "Life cycle is required."),
        (("sector",), "Sector is required."),
        (("segment",), "Segment is required."),
    ]
    assert not Company.objects.exists()


def test_an_invalid_value_and_the_missing_fields_are_reported_together(actor, company):
    with pytest.raises(ValidationFailed) as refused:
        record_create(
            actor=actor, kind="person", data={"name": "Ola", "email": "ola at acme", "phone": "1"}
        )

    assert problems(refused) == [
        (("email",), "E-mail is not a valid e-mail address: no @."),
        (("phone",), "Phone is not a phone number."),
        (("business_unit",), "Business unit is required."),
        (("company_id",), "Company is required."),
        (("title",), "Title is required."),
    ]


def test_an_update_may_not_blank_a_minimum_field(actor, company):
    with pytest.raises(ValidationFailed) as refused:
        record_update(
            actor=actor, kind="company", record_id=company.pk, data={"market": "", "segment": None}
        )

    assert problems(refused) == [
        (("market",), "Market is required."),
        (("segment",), "Segment is required."),
    ]
    company.refresh_from_db()
    assert (company.market, company.segment, company.version) == ("Norway", "Enterprise", 1)


def _with_minimum_fields(kind_line: str) -> str:
    """The business-development template with one minimum_fields line replaced."""
    text = template_text("business-development")
    kind = kind_line.split(":")[0].strip()
    lines = text.splitlines()
    # The first such line is minimum_fields'; `choices` has its own kinds further down.
    at = next(n for n, line in enumerate(lines) if line.startswith(f"  {kind}:"))
    lines[at] = kind_line
    return "\n".join(lines) + "\n"


def test_loading_a_definition_changes_the_minimum_fields(actor, admin_actor, other_actor):
    process_load(actor=admin_actor, text=_with_minimum_fields("  company: [name, website]"))

    with pytest.raises(ValidationFailed) as refused:
        record_create(actor=actor, kind="company", data={"name": "Acme"})
    made = record_create(actor=actor, kind="company", data={"name": "Acme", "website": "acme.no"})

    assert problems(refused) == [(("website",), "Website is required.")]
    assert made.contact_type == ""
    # Another organisation keeps its own definition.
    with pytest.raises(ValidationFailed):
        record_create(
            actor=other_actor, kind="company", data={"name": "Acme", "website": "acme.no"}
        )


def test_a_custom_field_can_be_a_minimum_field(actor, admin_actor, company):
    process_load(
        actor=admin_actor,
        text=_with_minimum_fields("  person: [name, email, buying_influence_concept]"),
    )

    with pytest.raises(ValidationFailed) as refused:
        record_create(actor=actor, kind="person", data={"name": "Ola", "email": "ola@acme.no"})
    made = record_create(
        actor=actor,
        kind="person",
        data={
            "name": "Ola",
            "email": "ola@acme.no",
            "custom_fields": {"buying_influence_concept": "Economic buyer"},
        },
    )

    assert [(p.loc, p.msg, p.type) for p in refused.value.problems] == [
        (
            ("custom_fields", "buying_influence_concept"),
            "Buying influence concept is required.",
            "missing",
        )
    ]
    assert made.custom_fields == {"buying_influence_concept": "Economic buyer"}


def test_minimum_fields_apply_to_leads_and_opportunities(actor, admin_actor):
    process_load(actor=admin_actor, text=_with_minimum_fields("  opportunity: [name, value]"))

    with pytest.raises(ValidationFailed) as no_value:
        opportunity_create(actor=actor, data={"name": "Deal"})
    with pytest.raises(ValidationFailed) as bare_lead:
        record_create(actor=actor, kind="lead", data={"name": "Kari"})

    assert problems(no_value) == [(("value",), "Estimated value is required.")]
    assert [loc for loc, _ in problems(bare_lead)] == [
        ("company_name",),
        ("email",),
        ("business_unit",),
        ("source",),
        ("details",),
    ]


# ---------------------------------------------------------------- custom fields


GOOD_VALUES = [
    ("motto", "  Keep it all ", "Keep it all"),
    ("employees", 120, 120),
    ("employees", "42", 42),
    ("employees", "2.5", 2.5),
    ("employees", 0, 0),
    ("founded", "1999-05-01", "1999-05-01"),
    ("founded", dt.date(2001, 2, 3), "2001-02-03"),
    ("tier", "gold", "gold"),
    ("listed", True, True),
    ("listed", "yes", True),
    ("listed", "0", False),
]


@pytest.mark.parametrize(("key", "sent", "stored"), GOOD_VALUES)
def test_good_custom_values_are_stored_in_their_type(
    actor, company_custom_fields, key, sent, stored
):
    made = record_create(
        actor=actor, kind="company", data={**COMPANY, "custom_fields": {key: sent}}
    )

    made.refresh_from_db()
    assert made.custom_fields == {key: stored}


BAD_VALUES = [
    ("motto", 5, "Motto must be text."),
    ("employees", "many", "Employees must be a number."),
    ("employees", True, "Employees must be a number."),
    ("employees", "NaN", "Employees must be a finite number."),
    ("employees", math.inf, "Employees must be a finite number."),
    ("employees", math.nan, "Employees must be a finite number."),
    ("founded", "1999-02-30", "Founded must be a date (YYYY-MM-DD)."),
    ("founded", "yesterday", "Founded must be a date (YYYY-MM-DD)."),
    ("tier", "bronze", "Tier must be one of: gold, silver."),
    ("tier", "Gold", "Tier must be one of: gold, silver."),
    ("listed", "maybe", "Listed must be true or false."),
    ("colour", "red", "Unknown custom field 'colour'."),
]


@pytest.mark.parametrize(("key", "sent", "message"), BAD_VALUES)
def test_bad_custom_values_are_refused_with_a_message(
    actor, company_custom_fields, key, sent, message
):
    with pytest.raises(ValidationFailed) as refused:
        record_create(actor=actor, kind="company", data={**COMPANY, "custom_fields": {key: sent}})

    assert problems(refused) == [(("custom_fields", key), message)]
    assert not Company.objects.exists()


def test_every_bad_custom_value_is_reported_at_once(actor, company_custom_fields):
    with pytest.raises(ValidationFailed) as refused:
        record_create(
            actor=actor,
            kind="company",
            data={**COMPANY, "custom_fields": {key: sent for key, sent, _ in BAD_VALUES[::3]}},
        )

    assert [loc for loc, _ in problems(refused)] == [
        ("custom_fields", key) for key, _, _ in BAD_VALUES[::3]
    ]


def test_another_kinds_custom_field_is_unknown(actor, company_custom_fields, company):
    with pytest.raises(ValidationFailed) as refused:
        record_create(
            actor=actor,
            kind="person",
            data={**PERSON, "company_id": company.pk, "custom_fields": {"tier": "gold"}},
        )

    assert problems(refused) == [(("custom_fields", "tier"), "Unknown custom field 'tier'.")]


def test_an_update_merges_custom_values_and_none_removes_one(actor, company_custom_fields):
    made = record_create(
        actor=actor,
        kind="company",
        data={**COMPANY, "custom_fields": {"tier": "gold", "employees": 12}},
    )

    updated = record_update(
        actor=actor,
        kind="company",
        record_id=made.pk,
        data={"custom_fields": {"tier": None, "listed": "true"}},
    )

    assert updated.custom_fields == {"employees": 12, "listed": True}
    assert events(action="update")[-1][4] == {
        "custom_fields.tier": ["gold", None],
        "custom_fields.listed": [None, True],
    }


# ---------------------------------------------------------------- soft delete and restore


def test_delete_hides_and_restore_brings_back(actor, company):
    record_delete(actor=actor, kind="company", record_id=company.pk)

    with pytest.raises(NotFound):
        selectors.record_get_for(actor=actor, kind="company", record_id=company.pk)
    assert Company.objects.filter(pk=company.pk).exists()  # soft: the row stays

    restored = record_restore(actor=actor, kind="company", record_id=company.pk)

    assert restored.deleted_at is None
    assert selectors.record_get_for(actor=actor, kind="company", record_id=company.pk) == company


def test_a_deleted_record_cannot_be_edited_or_deleted_again(actor, company):
    record_delete(actor=actor, kind="company", record_id=company.pk)

    with pytest.raises(NotFound):
        record_update(actor=actor, kind="company", record_id=company.pk, data={"market": "X"})
    with pytest.raises(NotFound):
        record_delete(actor=actor, kind="company", record_id=company.pk)


@pytest.mark.parametrize(
    ("later", "restorable"),
    [
        (dt.timedelta(days=29, hours=23), True),
        (dt.timedelta(days=30) - dt.timedelta(seconds=1), True),
        (dt.timedelta(days=30, seconds=1), False),
        (dt.timedelta(days=400), False),
    ],
)
def test_restore_is_possible_for_30_days(actor, company, later, restorable):
    with time_machine.travel(START, tick=False):
        record_delete(actor=actor, kind="company", record_id=company.pk)

    with time_machine.travel(START + later, tick=False):
        if restorable:
            assert (
                record_restore(actor=actor, kind="company", record_id=company.pk).deleted_at is None
            )
        else:
            with pytest.raises(Conflict) as refused:
                record_restore(actor=actor, kind="company", record_id=company.pk)
            assert str(refused.value) == (
                "This company was deleted more than 30 days ago and cannot be restored."
            )
            company.refresh_from_db()
            assert company.deleted_at == START


def test_restore_after_30_days_answers_409_through_the_api(api, company):
    with time_machine.travel(START, tick=False):
        assert api.delete(f"/companies/{company.pk}").status_code == 204

    with time_machine.travel(START + dt.timedelta(days=31), tick=False):
        response = api.post(f"/companies/{company.pk}/restore")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This company was deleted more than 30 days ago and cannot be restored."
    }


def test_notes_are_soft_deleted_and_restorable_for_30_days(actor, note):
    with time_machine.travel(START, tick=False):
        note_delete(actor=actor, note_id=note.pk)
    with time_machine.travel(START + dt.timedelta(days=10), tick=False):
        restored = note_restore(actor=actor, note_id=note.pk)
        note_delete(actor=actor, note_id=note.pk)

    with time_machine.travel(START + dt.timedelta(days=41), tick=False), pytest.raises(Conflict):
        note_restore(actor=actor, note_id=note.pk)
    assert restored.deleted_at is None
    assert Note.objects.filter(pk=note.pk).exists()


def test_another_organisation_cannot_delete_or_restore(actor, other_actor, company):
    with pytest.raises(NotFound):
        record_delete(actor=other_actor, kind="company", record_id=company.pk)
    record_delete(actor=actor, kind="company", record_id=company.pk)
    with pytest.raises(NotFound):
        record_restore(actor=other_actor, kind="company", record_id=company.pk)


# ---------------------------------------------------------------- audit events


def test_create_is_audited_with_every_field_set(actor, user):
    with time_machine.travel(START, tick=False):
        made = record_create(actor=actor, kind="company", data=COMPANY)

    event = AuditEvent.objects.get(object_type="company")
    assert (event.action, event.object_id, event.actor_id, event.actor_label, event.at) == (
        "create",
        str(made.pk),
        user.pk,
        "ann@piql.test",
        START,
    )
    assert event.organisation_id == actor.organisation.pk
    assert event.object_repr == "Acme Archives AS"
    assert event.changes == {name: [None, value] for name, value in COMPANY.items()}


def test_update_is_audited_with_exact_before_and_after(actor, company):
    record_update(
        actor=actor,
        kind="company",
        record_id=company.pk,
        data={"market": "Sweden", "segment": "Enterprise", "website": "https://www.Acme.no/"},
    )

    assert events(action="update") == [
        (
            "update",
            "company",
            str(company.pk),
            "ann@piql.test",
            {"market": ["Norway", "Sweden"], "website": ["", "https://www.acme.no"]},
        )
    ]


def test_an_update_that_changes_nothing_writes_nothing(actor, company):
    updated = record_update(
        actor=actor, kind="company", record_id=company.pk, data={"market": "Norway"}
    )

    assert updated.version == 1
    assert events(action="update") == []


def test_opportunity_values_are_audited_as_json(actor, opportunity):
    record = opportunity_move(
        actor=actor,
        opportunity_id=opportunity.pk,
        stage="identify",
        fields={"value": "1500.5", "expected_close_date": "2027-05-01"},
    )

    assert record.version == 2
    assert events(action="update", object_type="opportunity")[-1][4] == {
        "value": [None, "1500.50"],
        "expected_close_date": [None, "2027-05-01"],
    }


def test_delete_and_restore_are_audited(actor, company):
    with time_machine.travel(START, tick=False):
        record_delete(actor=actor, kind="company", record_id=company.pk)
    with time_machine.travel(START + dt.timedelta(days=1), tick=False):
        record_restore(actor=actor, kind="company", record_id=company.pk)

    assert events(action__in=["delete", "restore"]) == [
        (
            "delete",
            "company",
            str(company.pk),
            "ann@piql.test",
            {"deleted_at": [None, "2027-01-10T09:00:00Z"]},
        ),
        (
            "restore",
            "company",
            str(company.pk),
            "ann@piql.test",
            {"deleted_at": ["2027-01-10T09:00:00Z", None]},
        ),
    ]


def test_moves_are_audited(actor, opportunity):
    opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost", reason="Budget")

    assert events(action="move") == [
        (
            "move",
            "opportunity",
            str(opportunity.pk),
            "ann@piql.test",
            {"stage": ["identify", "lost"]},
        )
    ]


def test_opportunity_create_is_audited_with_its_stage(actor):
    made = opportunity_create(actor=actor, data={"name": "Deal", "value": "10"})

    assert events(action="create", object_type="opportunity") == [
        (
            "create",
            "opportunity",
            str(made.pk),
            "ann@piql.test",
            {
                "name": [None, "Deal"],
                "value": [None, "10.00"],
                "pipeline": [None, "business-development"],
                "stage": [None, "identify"],
            },
        )
    ]


def test_conversion_is_audited(actor, lead, company):
    converted = lead_convert(actor=actor, lead_id=lead.pk, person=CONVERT_PERSON)

    assert [
        (e[0], e[1])
        for e in events(action__in=["create", "convert"], object_type__in=["person", "lead"])
    ] == [
        ("create", "lead"),
        ("create", "person"),
        ("convert", "lead"),
    ]
    assert events(action="convert")[0][4]["person_id"] == [None, converted.converted_person_id]


def test_process_load_is_audited(admin_actor, org):
    process_load(actor=admin_actor, text=template_text("business-development"))

    loads = events(action="process.load", organisation=org)
    assert [(e[0], e[1], e[3], e[4]) for e in loads] == [
        ("process.load", "process_definition", "cli", {"version": [None, 1]}),
        ("process.load", "process_definition", "boss@piql.test", {"version": [1, 2]}),
    ]


def test_notes_are_audited(actor, company):
    made = note_create(actor=actor, body=" Called. ", target={"company_id": company.pk})
    note_update(actor=actor, note_id=made.pk, body="Called twice.")
    note_delete(actor=actor, note_id=made.pk)

    assert [(e[0], e[1], e[2], e[4].get("body")) for e in events(object_type="note")] == [
        ("create", "note", str(made.pk), [None, "Called."]),
        ("update", "note", str(made.pk), ["Called.", "Called twice."]),
        ("delete", "note", str(made.pk), None),
    ]


def test_system_actors_are_named_in_the_audit(org):
    cli = accounts.system_actor(org, "import")

    record_create(actor=cli, kind="lead", data=LEAD)

    event = AuditEvent.objects.get(object_type="lead")
    assert (event.action, event.actor_id, event.actor_label) == ("create", None, "import")


def test_the_audit_event_is_in_the_same_transaction_as_the_change(
    actor, company, opportunity, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(audit, "record", broken)

    with pytest.raises(RuntimeError):
        record_update(actor=actor, kind="company", record_id=company.pk, data={"market": "Sweden"})
    with pytest.raises(RuntimeError):
        record_create(actor=actor, kind="company", data={**COMPANY, "name": "Second"})
    with pytest.raises(RuntimeError):
        opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost", reason="x")

    company.refresh_from_db()
    opportunity.refresh_from_db()
    assert (company.market, company.version) == ("Norway", 1)
    assert not Company.objects.filter(name="Second").exists()
    assert (opportunity.stage.key, opportunity.version) == ("identify", 1)
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1


def test_the_api_and_the_import_accept_the_same_addresses(actor):
    from salesline.records.normalise import Normaliser

    # Django's validator would take a ".local" address; the import refuses it, and so do the
    # services now: one rule everywhere.
    with pytest.raises(ValueError):
        Normaliser().email("ann@archive.local")
    with pytest.raises(ValidationFailed) as error:
        record_create(actor=actor, kind="lead", data={"name": "Ann", "email": "ann@archive.local"})
    assert any(p.loc == ("email",) for p in error.value.problems)
