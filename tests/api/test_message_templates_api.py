"""/api/v1/message-templates and /api/v1/merge-fields: the contract, errors and scoping."""

import pytest

from salesline.playbooks import merge
from salesline.playbooks.models import MessageTemplate
from tests.conftest import LEAD, qualify_fields

HAIL = {
    "key": "hail-the-lead",
    "name": "Hail the lead",
    "subject": "Hello {{ contact.first_name }}",
    "body": "Dear {{ contact.name }},\nabout {{ opportunity.name }} ({{ opportunity.value }} "
    "{{ opportunity.currency }}).\n{{ sender.name }}",
    "from_email": "Partnerships <partnerships@piql.test>",
}


@pytest.fixture
def created(api):
    response = api.post("/message-templates", HAIL)
    assert response.status_code == 201, response.content
    return response.json()


def test_create_get_list_update_delete(api, created):
    assert created == {
        "id": created["id"],
        **HAIL,
        "attachments": [],
        "version": 1,
    }
    got = api.get(f"/message-templates/{created['id']}")
    assert got.status_code == 200 and got.json() == created
    assert got["ETag"] == f'"{created["id"]}-1"'
    listed = api.get("/message-templates").json()
    assert listed == {"items": [created], "count": 1}
    patched = api.patch(
        f"/message-templates/{created['id']}",
        {"name": "Hail", "attachments": ["service-description"]},
        HTTP_IF_MATCH=got["ETag"],
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["attachments"] == ["service-description"]
    assert patched.json()["version"] == 2 and patched["ETag"] == f'"{created["id"]}-2"'
    # The old ETag no longer matches.
    stale = api.patch(
        f"/message-templates/{created['id']}", {"name": "X"}, HTTP_IF_MATCH=got["ETag"]
    )
    assert stale.status_code == 412
    assert api.delete(f"/message-templates/{created['id']}").status_code == 204
    assert api.get(f"/message-templates/{created['id']}").status_code == 404


def test_an_unknown_merge_field_answers_422_naming_it(api):
    response = api.post(
        "/message-templates",
        {**HAIL, "subject": "Hi {{ contact.nme }}", "body": "{{ company.nmae }}{{ company }}"},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "subject"],
            "msg": "unknown merge field 'contact.nme'",
            "type": "merge_field",
        },
        {
            "loc": ["body", "body"],
            "msg": "unknown merge field 'company.nmae'",
            "type": "merge_field",
        },
        {
            "loc": ["body", "body"],
            "msg": "'company' is a group of merge fields: name one of them, e.g. {{ company.name }}",
            "type": "merge_field",
        },
    ]
    assert not MessageTemplate.objects.exists()


def test_an_unknown_merge_field_is_refused_on_update_too(api, created):
    response = api.patch(f"/message-templates/{created['id']}", {"body": "{{ contact.nme }}"})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "body"], "msg": "unknown merge field 'contact.nme'", "type": "merge_field"}
    ]


def test_missing_fields_and_bad_values_are_named(api):
    response = api.post("/message-templates", {"key": "Bad Key", "from_email": "nope"})
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [
        ["body", "key"],
        ["body", "name"],
        ["body", "subject"],
        ["body", "body"],
        ["body", "from_email"],
    ]
    response = api.post("/message-templates", {**HAIL, "colour": "red"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "colour"]
    response = api.post("/message-templates", {**HAIL, "subject": 7})
    assert response.status_code == 422


def test_a_duplicate_key_is_409_naming_key(api, created):
    response = api.post("/message-templates", HAIL)
    assert response.status_code == 409
    assert response.json()["detail"] == [
        {
            "loc": ["body", "key"],
            "msg": "a message template with key 'hail-the-lead' already exists",
            "type": "duplicate",
        }
    ]


def test_another_organisation_gets_404(api, created, other_api):
    path = f"/message-templates/{created['id']}"
    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, {"name": "Mine"}).status_code == 404
    assert other_api.delete(path).status_code == 404
    assert other_api.post(f"{path}/preview", {"lead_id": 1}).status_code == 404
    assert other_api.get("/message-templates").json() == {"items": [], "count": 0}
    assert api.get("/message-templates/999999").status_code == 404


def test_preview_with_an_opportunity_and_with_a_lead(api, created, actor, company, person, lead):
    from salesline.pipeline.services import opportunity_create

    opportunity = opportunity_create(actor=actor, data=qualify_fields(company, person))
    response = api.post(
        f"/message-templates/{created['id']}/preview", {"opportunity_id": opportunity.pk}
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "subject": "Hello Ola",
        "body": "Dear Ola Nordmann,\nabout 3 TB - Personnel records - Preservation "
        "(180,000.00 EUR).\nann@piql.test",
    }
    response = api.post(f"/message-templates/{created['id']}/preview", {"lead_id": lead.pk})
    assert response.json() == {
        "subject": "Hello Kari",
        "body": "Dear Kari Hansen,\nabout  ( ).\nann@piql.test",
    }


def test_preview_needs_exactly_one_record_of_the_organisation(api, created, lead, other_actor):
    path = f"/message-templates/{created['id']}/preview"
    for body in ({}, {"lead_id": lead.pk, "opportunity_id": 1}):
        response = api.post(path, body)
        assert response.status_code == 422
        assert [d["loc"] for d in response.json()["detail"]] == [
            ["body", "opportunity_id"],
            ["body", "lead_id"],
        ]
    from salesline.records.services import record_create

    foreign = record_create(actor=other_actor, kind="lead", data=LEAD)
    assert api.post(path, {"lead_id": foreign.pk}).status_code == 404
    assert api.post(path, {"opportunity_id": 99999}).status_code == 404
    assert api.post(path, {"lead_id": 0}).status_code == 422


def test_merge_fields_lists_the_catalogue(api):
    response = api.get("/merge-fields")
    assert response.status_code == 200
    items = response.json()["items"]
    assert response.json()["count"] == len(items) == len(merge.merge_field_catalogue())
    assert {
        "name": "contact.name",
        "group": "contact",
        "description": merge.MERGE_FIELDS["contact"]["name"],
    } in items
    assert {
        "name": "today",
        "group": "today",
        "description": merge.STANDALONE_FIELDS["today"],
    } in items
    assert {
        "name": "links.booking",
        "group": "links",
        "description": merge.MERGE_FIELDS["links"]["booking"],
    } in items


def test_without_a_token_nothing_answers(client):
    assert client.get("/api/v1/message-templates").status_code == 401
    assert client.get("/api/v1/merge-fields").status_code == 401


def test_deleting_a_template_a_playbook_sends_is_409_naming_it(partners_api, partners_actor):
    template = MessageTemplate.objects.get(
        organisation=partners_actor.organisation, key="hail-the-lead"
    )
    response = partners_api.delete(f"/message-templates/{template.pk}")
    assert response.status_code == 409
    assert "the playbook 'SOP: Hail the lead' sends it" in response.json()["detail"]
    assert partners_api.get(f"/message-templates/{template.pk}").status_code == 200


def test_attachments_name_document_templates(api):
    response = api.post("/message-templates", {**HAIL, "attachments": ["service-description"]})
    assert response.status_code == 201
    assert response.json()["attachments"] == ["service-description"]
    response = api.post(
        "/message-templates", {**HAIL, "key": "other", "attachments": ["nope", "Not A Key"]}
    )
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [
        ["body", "attachments", 0],
        ["body", "attachments", 1],
    ]


def test_the_list_costs_the_same_queries_for_one_template_or_many(
    api, actor, django_assert_max_num_queries
):
    from salesline.playbooks.message_template_services import message_template_create

    message_template_create(actor=actor, data={**HAIL, "key": "first"})
    with django_assert_max_num_queries(4) as one:
        assert api.get("/message-templates").json()["count"] == 1
    for number in range(10):
        message_template_create(actor=actor, data={**HAIL, "key": f"more-{number}"})
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert api.get("/message-templates").json()["count"] == 11
