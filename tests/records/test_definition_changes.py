"""Changing the process definition: stages and pipelines that hold opportunities cannot be removed
(409, listing them) and nothing changes; empty ones can; renames keep every opportunity; custom
fields come and go through the API; only admins change the process."""

import pytest

from salesline.core.errors import Conflict
from salesline.pipeline.models import Opportunity, Pipeline, Stage, StageChange
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.process.definition import template_text
from salesline.process.models import CustomField, ProcessDefinition
from salesline.process.services import process_load
from salesline.records.services import record_create, record_delete
from tests.conftest import COMPANY, edit_definition

SECOND_PIPELINE = {
    "key": "renewals",
    "name": "Renewals",
    "stages": [
        {"key": "due", "name": "Due", "probability": 50},
        {"key": "renewed", "name": "Renewed", "kind": "won", "probability": 100},
        {"key": "churned", "name": "Churned", "kind": "lost", "probability": 0},
    ],
}


def definition_state(org) -> dict:
    return {
        "version": ProcessDefinition.objects.filter(organisation=org)
        .order_by("-version")[0]
        .version,
        "pipelines": list(Pipeline.objects.filter(organisation=org).values_list("key", "name")),
        "stages": list(
            Stage.objects.filter(pipeline__organisation=org).values_list(
                "pipeline__key", "key", "name"
            )
        ),
        "fields": list(
            CustomField.objects.filter(organisation=org).values_list("record", "key", "label")
        ),
    }


def without_stage(text: str, stage_key: str) -> str:
    """The template's YAML with one stage (and its gate) cut out."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- key: {stage_key}")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("- key: ")),
        len(lines),
    )
    return "\n".join(lines[:start] + lines[end:]) + "\n"


@pytest.fixture
def renewals(admin_actor):
    edit_definition(admin_actor, lambda d: d["pipelines"].append(SECOND_PIPELINE))
    return Pipeline.objects.get(organisation=admin_actor.organisation, key="renewals")


@pytest.fixture
def negotiating(actor, opportunity):
    Opportunity.objects.filter(pk=opportunity.pk).update(
        stage=Stage.objects.get(pipeline=opportunity.pipeline, key="negotiate")
    )
    return opportunity


# ---------------------------------------------------------------- stages


def test_removing_a_stage_that_holds_opportunities_is_refused_listing_them(
    admin_actor, org, negotiating
):
    before = definition_state(org)

    with pytest.raises(Conflict) as refused:
        process_load(
            actor=admin_actor,
            text=without_stage(template_text("business-development"), "negotiate"),
        )

    assert [(p.loc, p.msg) for p in refused.value.problems] == [
        (
            ("definition", "pipelines", "business-development"),
            "Removing stage 'business-development/negotiate' would orphan 1 opportunity in "
            f"stage 'negotiate': #{negotiating.pk} Archive project. Move or close them first.",
        )
    ]
    assert definition_state(org) == before


def test_a_held_stage_counts_soft_deleted_opportunities_too(admin_actor, actor, negotiating):
    record_delete(actor=actor, kind="opportunity", record_id=negotiating.pk)

    with pytest.raises(Conflict):
        process_load(
            actor=admin_actor,
            text=without_stage(template_text("business-development"), "negotiate"),
        )


def test_removing_an_empty_stage_works_and_keeps_history(admin_actor, actor, org, opportunity):
    opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost", reason="x")

    process_load(
        actor=admin_actor, text=without_stage(template_text("business-development"), "negotiate")
    )

    assert "negotiate" not in Stage.objects.filter(pipeline__organisation=org).values_list(
        "key", flat=True
    )
    assert StageChange.objects.filter(opportunity=opportunity).count() == 2
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "lost"


def test_patching_stages_through_the_api_is_refused_while_one_is_held(admin_api, org, negotiating):
    stages = admin_api.get("/pipelines").json()["items"][0]["stages"]
    before = definition_state(org)
    pipeline = Pipeline.objects.get(organisation=org)

    response = admin_api.patch(
        f"/pipelines/{pipeline.pk}", {"stages": [s for s in stages if s["key"] != "negotiate"]}
    )

    assert response.status_code == 409
    assert response.json()["detail"][0]["loc"] == [
        "definition",
        "pipelines",
        "business-development",
    ]
    assert f"#{negotiating.pk} Archive project" in response.json()["detail"][0]["msg"]
    assert definition_state(org) == before


def test_patching_away_an_empty_stage_works(admin_api, org, opportunity):
    stages = admin_api.get("/pipelines").json()["items"][0]["stages"]
    pipeline = Pipeline.objects.get(organisation=org)

    response = admin_api.patch(
        f"/pipelines/{pipeline.pk}", {"stages": [s for s in stages if s["key"] != "negotiate"]}
    )

    assert response.status_code == 200, response.json()
    assert [s["key"] for s in response.json()["stages"]] == [
        "identify",
        "qualify",
        "develop",
        "propose",
        "won",
        "lost",
    ]
    assert not Stage.objects.filter(pipeline=pipeline, key="negotiate").exists()


def test_a_stage_a_playbook_names_cannot_be_patched_away(admin_api, org, opportunity):
    stages = admin_api.get("/pipelines").json()["items"][0]["stages"]
    pipeline = Pipeline.objects.get(organisation=org)

    response = admin_api.patch(
        f"/pipelines/{pipeline.pk}", {"stages": [s for s in stages if s["key"] != "propose"]}
    )

    assert response.status_code == 422
    assert "pipeline 'business-development' has no stage 'propose'" in str(response.json())
    assert Stage.objects.filter(pipeline=pipeline, key="propose").exists()


def test_renaming_a_pipeline_and_its_stages_keeps_every_opportunity(admin_api, org, negotiating):
    pipeline = Pipeline.objects.get(organisation=org)
    stages = admin_api.get(f"/pipelines/{pipeline.pk}").json()["stages"]
    renamed = [{**s, "name": s["name"].upper()} for s in stages]

    response = admin_api.patch(
        f"/pipelines/{pipeline.pk}", {"name": "BD journey", "stages": renamed}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "BD journey"
    assert [s["name"] for s in response.json()["stages"]][:2] == ["IDENTIFY", "QUALIFY"]
    negotiating.refresh_from_db()
    assert (negotiating.pipeline_id, negotiating.stage.key, negotiating.stage.name) == (
        pipeline.pk,
        "negotiate",
        "NEGOTIATE",
    )
    assert Pipeline.objects.get(pk=pipeline.pk).name == "BD journey"


# ---------------------------------------------------------------- pipelines


def test_deleting_a_pipeline_that_holds_opportunities_answers_409_listing_them(
    admin_api, actor, org, renewals
):
    held = [
        opportunity_create(actor=actor, data={"name": f"Renewal {n}", "pipeline": "renewals"})
        for n in range(2)
    ]
    before = definition_state(org)

    response = admin_api.delete(f"/pipelines/{renewals.pk}")

    assert response.status_code == 409
    assert response.json()["detail"] == [
        {
            "loc": ["definition", "pipelines", "renewals"],
            "msg": "Removing pipeline 'renewals' would orphan 2 opportunities in stage 'due': "
            f"#{held[0].pk} Renewal 0, #{held[1].pk} Renewal 1. Move or close them first.",
            "type": "data_loss",
        }
    ]
    assert definition_state(org) == before


def test_a_long_list_of_held_opportunities_is_shortened(admin_api, actor, renewals):
    for n in range(12):
        opportunity_create(actor=actor, data={"name": f"R{n}", "pipeline": "renewals"})

    response = admin_api.delete(f"/pipelines/{renewals.pk}")

    assert response.status_code == 409
    assert response.json()["detail"][0]["msg"].endswith(" and 2 more. Move or close them first.")


def test_removing_a_held_pipeline_by_loading_a_definition_is_refused(
    admin_actor, actor, org, renewals
):
    opportunity_create(actor=actor, data={"name": "Renewal", "pipeline": "renewals"})
    before = definition_state(org)

    with pytest.raises(Conflict) as refused:
        process_load(actor=admin_actor, text=template_text("business-development"))

    assert [p.loc for p in refused.value.problems] == [("definition", "pipelines", "renewals")]
    assert definition_state(org) == before


def test_deleting_an_empty_pipeline_works(admin_api, org, renewals):
    response = admin_api.delete(f"/pipelines/{renewals.pk}")

    assert response.status_code == 204
    assert list(Pipeline.objects.filter(organisation=org).values_list("key", flat=True)) == [
        "business-development"
    ]


def test_the_last_pipeline_cannot_be_deleted(admin_api, org):
    pipeline = Pipeline.objects.get(organisation=org)

    response = admin_api.delete(f"/pipelines/{pipeline.pk}")

    assert response.status_code == 422
    assert "at least one pipeline" in response.json()["detail"][0]["msg"]
    assert Pipeline.objects.filter(pk=pipeline.pk).exists()


def test_a_duplicate_pipeline_key_answers_409(admin_api, renewals):
    response = admin_api.post("/pipelines", SECOND_PIPELINE)

    assert response.status_code == 409
    assert response.json() == {"detail": "A pipeline with key 'renewals' already exists."}


def test_an_invalid_pipeline_answers_422_with_every_problem(admin_api, org):
    before = definition_state(org)

    response = admin_api.post(
        "/pipelines",
        {"key": "Bad Key", "name": "", "stages": [{"key": "won", "name": "Won", "kind": "won"}]},
    )

    assert response.status_code == 422
    assert len(response.json()["detail"]) >= 3
    assert all(d["loc"][0] == "definition" for d in response.json()["detail"])
    assert definition_state(org) == before


# ---------------------------------------------------------------- custom fields


def test_custom_field_create_patch_delete(admin_api, org):
    created = admin_api.post(
        "/custom-fields",
        {
            "record": "company",
            "key": "tier",
            "label": "Tier",
            "type": "choice",
            "choices": ["a", "b"],
        },
    )
    field_id = created.json()["id"]
    patched = admin_api.patch(
        f"/custom-fields/{field_id}", {"label": "Account tier", "choices": ["a", "b", "c"]}
    )
    listed = admin_api.get("/custom-fields").json()
    deleted = admin_api.delete(f"/custom-fields/{field_id}")

    assert created.status_code == 201
    assert (patched.status_code, patched.json()["label"], patched.json()["choices"]) == (
        200,
        "Account tier",
        ["a", "b", "c"],
    )
    assert field_id in [f["id"] for f in listed["items"]]
    assert deleted.status_code == 204
    assert not CustomField.objects.filter(pk=field_id).exists()


def test_a_new_custom_field_is_validated_at_once(admin_api, api, actor, company):
    admin_api.post(
        "/custom-fields",
        {"record": "company", "key": "founded", "label": "Founded", "type": "date"},
    )

    refused = api.patch(f"/companies/{company.pk}", {"custom_fields": {"founded": "long ago"}})
    accepted = api.patch(f"/companies/{company.pk}", {"custom_fields": {"founded": "1999-01-02"}})

    assert refused.status_code == 422
    assert refused.json()["detail"][0]["msg"] == "Founded must be a date (YYYY-MM-DD)."
    assert accepted.json()["custom_fields"] == {"founded": "1999-01-02"}


def test_deleting_a_custom_field_that_records_use_answers_409(admin_api, api, actor, org):
    field = CustomField.objects.get(organisation=org, key="poc_needed")
    opportunity_create(
        actor=actor, data={"name": "With PoC", "custom_fields": {"poc_needed": True}}
    )
    before = definition_state(org)

    response = admin_api.delete(f"/custom-fields/{field.pk}")

    assert response.status_code == 409
    assert response.json()["detail"] == [
        {
            "loc": ["definition", "custom_fields", "poc_needed"],
            "msg": "Removing custom field 'opportunity.poc_needed' would lose its value on 1 record.",
            "type": "data_loss",
        }
    ]
    assert definition_state(org) == before


def test_a_custom_field_whose_values_were_cleared_can_be_deleted(admin_api, api, actor, org):
    field = CustomField.objects.get(organisation=org, key="poc_needed")
    made = opportunity_create(
        actor=actor, data={"name": "PoC", "custom_fields": {"poc_needed": True}}
    )
    api.patch(f"/opportunities/{made.pk}", {"custom_fields": {"poc_needed": None}})

    assert admin_api.delete(f"/custom-fields/{field.pk}").status_code == 204


def test_a_duplicate_custom_field_answers_409(admin_api):
    response = admin_api.post(
        "/custom-fields",
        {"record": "opportunity", "key": "poc_needed", "label": "Again", "type": "boolean"},
    )

    assert response.status_code == 409


def test_a_custom_field_that_would_hide_a_built_in_one_answers_422(admin_api):
    response = admin_api.post(
        "/custom-fields", {"record": "company", "key": "market", "label": "Market", "type": "text"}
    )

    assert response.status_code == 422
    assert "would hide the built-in company field" in response.json()["detail"][0]["msg"]


# ---------------------------------------------------------------- who may change the process


DEFINITION_WRITES = [
    ("post", "/pipelines", SECOND_PIPELINE),
    ("patch", "/pipelines/{pipeline}", {"name": "Mine"}),
    ("delete", "/pipelines/{pipeline}", None),
    ("post", "/custom-fields", {"record": "lead", "key": "k", "label": "K", "type": "text"}),
    ("patch", "/custom-fields/{field}", {"label": "Mine"}),
    ("delete", "/custom-fields/{field}", None),
]


@pytest.mark.parametrize(("method", "template", "body"), DEFINITION_WRITES)
def test_a_non_admin_gets_403_and_nothing_changes(api, org, method, template, body):
    pipeline = Pipeline.objects.get(organisation=org)
    field = CustomField.objects.filter(organisation=org).first()
    path = template.format(pipeline=pipeline.pk, field=field.pk)
    before = definition_state(org)

    response = api.request(method, path, body) if body else api.delete(path)

    assert response.status_code == 403
    assert response.json() == {"detail": "Only an admin of Piql Archive can change its process."}
    assert definition_state(org) == before


@pytest.mark.parametrize(
    ("method", "template", "body"), DEFINITION_WRITES[1:3] + DEFINITION_WRITES[4:]
)
def test_another_organisations_admin_gets_404_not_403(other_api, org, method, template, body):
    pipeline = Pipeline.objects.get(organisation=org)
    field = CustomField.objects.filter(organisation=org).first()
    path = template.format(pipeline=pipeline.pk, field=field.pk)

    response = other_api.request(method, path, body) if body else other_api.delete(path)

    assert response.status_code == 404


def test_members_may_read_the_process(api, org):
    assert api.get("/pipelines").status_code == 200
    assert api.get("/custom-fields").status_code == 200


def test_definition_changes_leave_records_alone(admin_api, actor, org, company):
    record_create(actor=actor, kind="company", data={**COMPANY, "name": "Second"})

    admin_api.post(
        "/custom-fields", {"record": "company", "key": "motto", "label": "Motto", "type": "text"}
    )

    assert Opportunity.objects.count() == 0
    assert [c.custom_fields for c in company.__class__.objects.all()] == [{}, {}]


def test_the_parsed_definition_cache_survives_a_reused_row_id(org, partners_org):
    """SQLite gives a deleted (or rolled-back) row's id to the next insert: a cache keyed by the
    id alone would hand one organisation another's process."""
    from salesline.process.selectors import definition_for, definition_row_for

    ours = definition_row_for(org)
    assert definition_for(org).name == "Business Development Journey"  # now cached
    theirs = ProcessDefinition.objects.get(organisation=partners_org)
    ProcessDefinition.objects.filter(pk=ours.pk).delete()
    ProcessDefinition.objects.create(
        pk=ours.pk,
        organisation=partners_org,
        version=2,
        source=theirs.source,
        spec={**theirs.spec, "name": "Reused id"},
        loaded_by="test",
    )

    assert definition_for(partners_org).name == "Reused id"
