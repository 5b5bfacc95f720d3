"""Status codes of every route: happy path, authentication, organisation scoping, missing ids,
preconditions and malformed input. Each problem answers a 4xx with a message, never a 500."""

import json

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.core.models import AuditEvent
from salesline.core.text import LONG_TEXT_MAX
from salesline.pipeline.models import Opportunity, Pipeline, StageChange
from salesline.process.models import CustomField
from salesline.records.models import Company, Lead, Note, Person
from tests.conftest import (
    COMPANY,
    CONVERT_COMPANY,
    CONVERT_PERSON,
    LEAD,
    PERSON,
    ApiClient,
)

RECORDS = ("companies", "people", "leads", "opportunities")
RESTORABLE = (*RECORDS, "notes")
RESOURCES = (*RESTORABLE, "pipelines", "custom-fields")
MODELS = {
    "companies": Company,
    "people": Person,
    "leads": Lead,
    "opportunities": Opportunity,
    "notes": Note,
    "pipelines": Pipeline,
    "custom-fields": CustomField,
}
PATCHES = {
    "companies": {"market": "Sweden"},
    "people": {"title": "Chief Archivist"},
    "leads": {"source": "Website"},
    "opportunities": {"data_volume": "5 TB"},
    "notes": {"body": "Met at the expo, twice."},
    "pipelines": {"name": "Renamed journey"},
    "custom-fields": {"label": "PoC wanted"},
}
# Every route that names one object, as (resource, method, suffix, body).
SINGLE_ROUTES = [
    *[(r, "get", "", None) for r in RESOURCES],
    *[(r, "patch", "", PATCHES[r]) for r in RESOURCES],
    *[(r, "delete", "", None) for r in RESOURCES],
    *[(r, "post", "/restore", None) for r in RESTORABLE],
    ("opportunities", "post", "/move", {"stage": "qualify"}),
    ("opportunities", "get", "/history", None),
    ("leads", "post", "/convert", {"person": CONVERT_PERSON}),
    ("leads", "get", "/matches", None),
]
COLLECTION_ROUTES = [
    *[(r, "get", None) for r in RESOURCES],
    *[(r, "post", {"name": "x"}) for r in RESOURCES],
]


def _route_id(route) -> str:
    resource, method, suffix = route[0], route[1], route[2] if len(route) == 4 else ""
    return f"{method} {resource}/{{id}}{suffix}"


def call(client: ApiClient, method: str, path: str, body=None, **headers):
    if method in ("post", "patch"):
        return client.request(method, path, body if body is not None else {}, **headers)
    return getattr(client, method)(path, **headers)


@pytest.fixture
def pipeline(org):
    return Pipeline.objects.get(organisation=org, key="business-development")


@pytest.fixture
def custom_field(org):
    return CustomField.objects.get(organisation=org, record="opportunity", key="poc_needed")


@pytest.fixture
def objects(company, person, lead, opportunity, note, pipeline, custom_field):
    return {
        "companies": company,
        "people": person,
        "leads": lead,
        "opportunities": opportunity,
        "notes": note,
        "pipelines": pipeline,
        "custom-fields": custom_field,
    }


def _state(obj) -> dict:
    """What a refused request must leave exactly as it was."""
    model = type(obj)
    row = model.objects.filter(pk=obj.pk).values().first()
    return row


# ---------------------------------------------------------------- happy paths


@pytest.mark.parametrize("resource", RESOURCES)
def test_list_answers_200_with_items_and_count(api, objects, resource):
    response = api.get(f"/{resource}")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["items"]) >= 1
    assert objects[resource].pk in {item["id"] for item in body["items"]}


@pytest.mark.parametrize(
    ("resource", "payload"),
    [
        ("companies", COMPANY),
        ("leads", LEAD),
        ("opportunities", {"name": "Archive project 2"}),
    ],
)
def test_create_answers_201_with_an_etag(api, db, resource, payload):
    response = api.post(f"/{resource}", payload)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == payload["name"]
    assert response["ETag"] == f'"{body["id"]}-1"'


def test_create_person_answers_201(api, company):
    response = api.post("/people", {**PERSON, "company_id": company.pk})

    assert response.status_code == 201
    assert response.json()["company_id"] == company.pk


def test_create_note_answers_201(api, company):
    response = api.post("/notes", {"body": "Called back.", "company_id": company.pk})

    assert response.status_code == 201
    assert response.json()["company_id"] == company.pk
    assert response.json()["author"] == "ann@piql.test"


def test_create_pipeline_answers_201(admin_api):
    stages = [{"key": "new", "name": "New"}, {"key": "done", "name": "Done", "kind": "won"}]
    response = admin_api.post(
        "/pipelines", {"key": "renewals", "name": "Renewals", "stages": stages}
    )

    assert response.status_code == 201, response.json()
    assert [s["key"] for s in response.json()["stages"]] == ["new", "done"]


def test_a_stage_says_when_its_opportunities_stall_through_the_api(admin_api):
    stages = [
        {"key": "new", "name": "New", "stalled_after_days": 10},
        {"key": "done", "name": "Done", "kind": "won"},
    ]
    made = admin_api.post("/pipelines", {"key": "renewals", "name": "Renewals", "stages": stages})
    assert made.status_code == 201, made.json()
    read = admin_api.get(f"/pipelines/{made.json()['id']}").json()
    assert [s["stalled_after_days"] for s in read["stages"]] == [10, None]
    refused = admin_api.post(
        "/pipelines",
        {"key": "other", "name": "Other", "stages": [{**stages[0], "stalled_after_days": 0}]},
    )
    assert refused.status_code == 422
    assert "stalled_after_days" in str(refused.json())


def test_create_custom_field_answers_201(admin_api):
    response = admin_api.post(
        "/custom-fields",
        {"record": "lead", "key": "budget", "label": "Budget", "type": "number"},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["type"] == "number"


@pytest.mark.parametrize("resource", RESOURCES)
def test_get_answers_200(api, objects, resource):
    obj = objects[resource]

    response = api.get(f"/{resource}/{obj.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == obj.pk


@pytest.mark.parametrize("resource", RESTORABLE)
def test_get_carries_an_etag_of_id_and_version(api, objects, resource):
    obj = objects[resource]

    response = api.get(f"/{resource}/{obj.pk}")

    assert response["ETag"] == f'"{obj.pk}-{obj.version}"'


@pytest.mark.parametrize("resource", RESOURCES)
def test_patch_answers_200(admin_api, objects, resource):
    obj = objects[resource]

    response = admin_api.patch(f"/{resource}/{obj.pk}", PATCHES[resource])

    assert response.status_code == 200, response.json()
    for key, value in PATCHES[resource].items():
        assert response.json()[key] == value


@pytest.mark.parametrize("resource", RESTORABLE)
def test_delete_answers_204_then_get_404_then_restore_200(api, objects, resource):
    obj = objects[resource]

    deleted = api.delete(f"/{resource}/{obj.pk}")
    gone = api.get(f"/{resource}/{obj.pk}")
    restored = api.post(f"/{resource}/{obj.pk}/restore")
    back = api.get(f"/{resource}/{obj.pk}")

    assert (deleted.status_code, gone.status_code) == (204, 404)
    assert restored.status_code == 200, restored.json()
    assert restored.json()["id"] == obj.pk
    assert back.status_code == 200


def test_restoring_a_live_record_answers_404(api, company):
    assert api.post(f"/companies/{company.pk}/restore").status_code == 404


def test_delete_pipeline_without_opportunities_answers_204(admin_api, org):
    stages = [{"key": "new", "name": "New"}, {"key": "done", "name": "Done", "kind": "won"}]
    created = admin_api.post(
        "/pipelines", {"key": "renewals", "name": "Renewals", "stages": stages}
    ).json()

    response = admin_api.delete(f"/pipelines/{created['id']}")

    assert response.status_code == 204
    assert not Pipeline.objects.filter(organisation=org, key="renewals").exists()


def test_delete_unused_custom_field_answers_204(admin_api, custom_field):
    response = admin_api.delete(f"/custom-fields/{custom_field.pk}")

    assert response.status_code == 204
    assert not CustomField.objects.filter(pk=custom_field.pk).exists()


def test_move_answers_200(api, opportunity, company, person):
    response = api.post(
        f"/opportunities/{opportunity.pk}/move",
        {
            "stage": "qualify",
            "fields": {
                "name": "3 TB - Personnel records - Preservation",
                "company_id": company.pk,
                "primary_contact_id": person.pk,
                "expected_close_date": "2027-03-31",
                "value": "180000",
                "data_volume": "3 TB",
                "sector": "public",
            },
        },
    )

    assert response.status_code == 200, response.json()
    assert response.json()["stage"] == "qualify"


def test_history_answers_200(api, opportunity):
    response = api.get(f"/opportunities/{opportunity.pk}/history")

    assert response.status_code == 200
    assert [row["to_stage"] for row in response.json()["items"]] == ["identify"]


def test_convert_answers_200_then_409(api, lead):
    first = api.post(
        f"/leads/{lead.pk}/convert", {"person": CONVERT_PERSON, "company": CONVERT_COMPANY}
    )
    second = api.post(f"/leads/{lead.pk}/convert", {"person": CONVERT_PERSON})

    assert first.status_code == 200, first.json()
    assert set(first.json()) == {"person_id", "company_id", "opportunity_id"}
    assert second.status_code == 409
    assert "already converted" in second.json()["detail"]


def test_matches_answers_200(api, lead, company):
    response = api.get(f"/leads/{lead.pk}/matches")

    assert response.status_code == 200
    assert response.json()["company_id"] == company.pk


def test_openapi_and_docs_answer_200_without_a_token(db):
    client = Client()

    schema = client.get("/api/v1/openapi.json")
    docs = client.get("/api/v1/docs")

    assert schema.status_code == 200
    assert "/api/v1/opportunities/{record_id}/move" in schema.json()["paths"]
    assert docs.status_code == 200


# ---------------------------------------------------------------- authentication


@pytest.fixture
def revoked_api(actor):
    token, plain = accounts.token_create(
        user=actor.user, actor=accounts.system_actor(actor.organisation)
    )
    accounts.token_revoke(actor=actor, token_id=token.pk)
    return ApiClient(plain)


ALL_ROUTES = [
    *[(r, m, "", b) for r, m, b in COLLECTION_ROUTES],
    *[(r, m, f"/1{s}", b) for r, m, s, b in SINGLE_ROUTES],
]


@pytest.mark.parametrize("route", ALL_ROUTES, ids=[f"{m} {r}{s}" for r, m, s, _ in ALL_ROUTES])
def test_every_route_answers_401_without_a_valid_token(db, revoked_api, route):
    resource, method, suffix, body = route
    clients = {
        "no header": Client(),
        "not bearer": Client(HTTP_AUTHORIZATION="Basic YW5uOnNlY3JldA=="),
        "unknown token": Client(HTTP_AUTHORIZATION="Bearer sl_0000_not-a-real-token"),
        "revoked token": revoked_api.client,
    }
    kwargs = {"data": json.dumps(body or {}), "content_type": "application/json"}

    answers = {
        how: getattr(client, method)(
            f"/api/v1/{resource}{suffix}", **(kwargs if method in ("post", "patch") else {})
        )
        for how, client in clients.items()
    }

    assert {how: r.status_code for how, r in answers.items()} == dict.fromkeys(clients, 401)
    assert all(r.json() == {"detail": "Unauthorized"} for r in answers.values())


# ---------------------------------------------------------------- scoping: 404, never 403


@pytest.mark.parametrize("route", SINGLE_ROUTES, ids=[_route_id(r) for r in SINGLE_ROUTES])
def test_another_organisations_object_is_404_and_untouched(api, other_api, objects, route):
    resource, method, suffix, body = route
    obj = objects[resource]
    if suffix == "/restore":
        assert api.delete(f"/{resource}/{obj.pk}").status_code == 204
    before = _state(obj)
    audit_before = AuditEvent.objects.count()

    response = call(other_api, method, f"/{resource}/{obj.pk}{suffix}", body)

    assert response.status_code == 404, response.content
    assert isinstance(response.json()["detail"], str)
    assert _state(obj) == before
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.parametrize("route", SINGLE_ROUTES, ids=[_route_id(r) for r in SINGLE_ROUTES])
def test_a_missing_id_is_404(admin_api, db, org, route):
    resource, method, suffix, body = route

    response = call(admin_api, method, f"/{resource}/987654{suffix}", body)

    assert response.status_code == 404
    assert "987654" in response.json()["detail"]


@pytest.mark.parametrize("route", SINGLE_ROUTES, ids=[_route_id(r) for r in SINGLE_ROUTES])
def test_an_id_beyond_64_bits_is_404_not_500(admin_api, db, org, route):
    resource, method, suffix, body = route

    response = call(admin_api, method, f"/{resource}/{2**70}{suffix}", body)

    assert response.status_code == 404


def test_a_note_on_another_organisations_record_is_404(other_api, company):
    response = other_api.post("/notes", {"body": "Hello", "company_id": company.pk})

    assert response.status_code == 404
    assert not Note.objects.exists()


def test_a_reference_to_another_organisations_record_is_422(other_api, company):
    response = other_api.post("/people", {**PERSON, "company_id": company.pk})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "company_id"],
            "msg": f"Company refers to no company with id {company.pk} in this organisation.",
            "type": "invalid",
        }
    ]


# ---------------------------------------------------------------- ETag / If-Match


@pytest.mark.parametrize("resource", RESTORABLE)
def test_stale_if_match_answers_412_and_changes_nothing(api, objects, resource):
    obj = objects[resource]
    stale = api.get(f"/{resource}/{obj.pk}")["ETag"]
    # Someone else saves first.
    assert api.patch(f"/{resource}/{obj.pk}", PATCHES[resource]).status_code == 200
    before = _state(obj)
    audit_before = AuditEvent.objects.count()
    edit = {"body": "My edit"} if resource == "notes" else {"name": "My edit"}

    response = api.patch(f"/{resource}/{obj.pk}", edit, HTTP_IF_MATCH=stale)

    assert response.status_code == 412
    assert "changed by someone else" in response.json()["detail"]
    assert _state(obj) == before
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.parametrize("resource", RESTORABLE)
def test_fresh_if_match_answers_200_with_the_next_etag(api, objects, resource):
    obj = objects[resource]
    fresh = api.get(f"/{resource}/{obj.pk}")["ETag"]

    response = api.patch(f"/{resource}/{obj.pk}", PATCHES[resource], HTTP_IF_MATCH=fresh)

    assert response.status_code == 200, response.json()
    assert response["ETag"] == f'"{obj.pk}-{obj.version + 1}"'


def test_if_match_naming_another_object_answers_412(api, company):
    response = api.patch(f"/companies/{company.pk}", {"market": "Sweden"}, HTTP_IF_MATCH='"999-1"')

    assert response.status_code == 412
    company.refresh_from_db()
    assert company.market == "Norway"


def test_if_match_star_matches_any_version(api, company):
    response = api.patch(f"/companies/{company.pk}", {"market": "Sweden"}, HTTP_IF_MATCH="*")

    assert response.status_code == 200


def test_stale_if_match_on_move_answers_412_and_records_no_move(api, opportunity):
    stale = f'"{opportunity.pk}-{opportunity.version}"'
    api.patch(f"/opportunities/{opportunity.pk}", {"data_volume": "1 TB"})

    response = api.post(
        f"/opportunities/{opportunity.pk}/move",
        {"stage": "lost", "reason": "x"},
        HTTP_IF_MATCH=stale,
    )

    assert response.status_code == 412
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "identify"
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1


# ---------------------------------------------------------------- malformed requests

# Every route that takes a body, as (resource or path template, method, a valid body).
BODY_ROUTES = [
    ("/companies", "post"),
    ("/people", "post"),
    ("/leads", "post"),
    ("/opportunities", "post"),
    ("/notes", "post"),
    ("/pipelines", "post"),
    ("/custom-fields", "post"),
    ("/companies/{companies}", "patch"),
    ("/people/{people}", "patch"),
    ("/leads/{leads}", "patch"),
    ("/opportunities/{opportunities}", "patch"),
    ("/notes/{notes}", "patch"),
    ("/pipelines/{pipelines}", "patch"),
    ("/custom-fields/{custom-fields}", "patch"),
    ("/opportunities/{opportunities}/move", "post"),
    ("/leads/{leads}/convert", "post"),
]


def _path(template: str, objects) -> str:
    for resource, obj in objects.items():
        template = template.replace(f"{{{resource}}}", str(obj.pk))
    return template


@pytest.mark.parametrize(("template", "method"), BODY_ROUTES)
def test_malformed_json_answers_400_with_a_message(admin_api, objects, template, method):
    response = admin_api.request(method, _path(template, objects), '{"name": "Acme",')

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request body is not valid JSON: Expecting property name enclosed in double "
        "quotes: line 1 column 17 (char 16)."
    }


@pytest.mark.parametrize(("template", "method"), BODY_ROUTES)
def test_an_unknown_field_answers_422_naming_it(admin_api, objects, template, method):
    body = {"nickname": "Acme"}
    if template.endswith("/move"):
        body["stage"] = "qualify"

    response = admin_api.request(method, _path(template, objects), body)

    assert response.status_code == 422
    assert {"loc": ["body", "nickname"], "msg": "Unknown field 'nickname'."}.items() <= next(
        d for d in response.json()["detail"] if d["loc"][-1] == "nickname"
    ).items()


WRONG_TYPES = [
    ("/companies", "post", {"name": 5}, ["body", "name"]),
    ("/people", "post", {"company_id": "first"}, ["body", "company_id"]),
    ("/leads", "post", {"email": ["kari@acme.no"]}, ["body", "email"]),
    ("/opportunities", "post", {"name": "X", "value": "lots"}, ["body", "value"]),
    (
        "/opportunities",
        "post",
        {"name": "X", "expected_close_date": "soon"},
        ["body", "expected_close_date"],
    ),
    ("/opportunities", "post", {"name": "X", "custom_fields": [1]}, ["body", "custom_fields"]),
    ("/notes", "post", {"body": 5, "company_id": 1}, ["body", "body"]),
    ("/pipelines", "post", {"key": "x", "name": "X", "stages": "all"}, ["body", "stages"]),
    (
        "/custom-fields",
        "post",
        {"record": "lead", "key": "k", "label": "K", "type": "text", "choices": "a"},
        ["body", "choices"],
    ),
    ("/companies/{companies}", "patch", {"market": {"n": 1}}, ["body", "market"]),
    (
        "/opportunities/{opportunities}",
        "patch",
        {"win_probability": "high"},
        ["body", "win_probability"],
    ),
    ("/notes/{notes}", "patch", {"body": None}, ["body", "body"]),
    ("/pipelines/{pipelines}", "patch", {"name": 5}, ["body", "name"]),
    ("/custom-fields/{custom-fields}", "patch", {"label": 5}, ["body", "label"]),
    ("/opportunities/{opportunities}/move", "post", {"stage": 5}, ["body", "stage"]),
    (
        "/opportunities/{opportunities}/move",
        "post",
        {"stage": "qualify", "checks": "all"},
        ["body", "checks"],
    ),
    ("/leads/{leads}/convert", "post", {"person": "Kari"}, ["body", "person"]),
    ("/companies", "post", [COMPANY], ["body"]),
]


@pytest.mark.parametrize(
    ("template", "method", "body", "loc"),
    WRONG_TYPES,
    ids=[f"{w[1]} {w[0]} {w[3][-1]}" for w in WRONG_TYPES],
)
def test_a_wrong_type_answers_422_naming_the_field(admin_api, objects, template, method, body, loc):
    response = admin_api.request(method, _path(template, objects), body)

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [d["loc"] for d in detail] == [loc]
    assert detail[0]["msg"]


def test_a_wrong_type_inside_custom_fields_answers_422_naming_the_key(api, opportunity):
    response = api.patch(
        f"/opportunities/{opportunity.pk}", {"custom_fields": {"poc_needed": "perhaps"}}
    )

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "custom_fields", "poc_needed"],
            "msg": "Proof of concept needed must be true or false.",
            "type": "invalid",
        }
    ]


@pytest.mark.parametrize(("template", "method"), BODY_ROUTES)
def test_an_oversized_body_answers_413_with_a_message(
    admin_api, settings, objects, template, method
):
    body = json.dumps({"name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})

    response = admin_api.request(method, _path(template, objects), body)

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is too large: the limit is 2097152 bytes."
    }


def test_a_body_just_under_the_limit_is_read(api, settings, db):
    # The longest details the text rule allows, in a body padded to just under the limit.
    body = json.dumps({**LEAD, "details": "x" * LONG_TEXT_MAX})
    padded = body + " " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 1000 - len(body))

    response = api.post("/leads", padded)

    assert response.status_code == 201
    assert len(response.json()["details"]) == LONG_TEXT_MAX


NUL_CASES = [
    ("/companies", "post", {**COMPANY, "name": "Acme\x00"}, ["body", "name"]),
    ("/notes", "post", {"body": "a\x00b", "company_id": 1}, ["body", "body"]),
    (
        "/opportunities",
        "post",
        {"name": "X", "custom_fields": {"poc_needed": "\x00"}},
        ["body", "custom_fields"],
    ),
]


@pytest.mark.parametrize(("path", "method", "body", "loc"), NUL_CASES)
def test_a_nul_character_answers_422_on_every_database(api, db, path, method, body, loc):
    response = api.request(method, path, body)

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": loc, "msg": "Text must not contain NUL (U+0000).", "type": "nul_character"}
    ]


@pytest.mark.parametrize(
    "query",
    ["q=a%00b", "market=a%00b", "cursor=eyJvIjoibmFtZSIsInYiOm51bGwsImlkIjoxfQ&ordering=name"],
)
def test_list_queries_that_databases_cannot_run_answer_422(api, company, query):
    response = api.get(f"/companies?{query}")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_an_empty_body_where_one_is_needed_answers_4xx_with_a_message(api, company):
    response = api.client.patch(
        f"/api/v1/companies/{company.pk}", data="", content_type="application/json"
    )

    assert 400 <= response.status_code < 500
    assert response.json()["detail"]


def test_nan_and_infinity_in_json_answer_422(api, opportunity):
    body = '{"stage": "identify", "fields": {"win_probability": Infinity, "value": NaN}}'

    response = api.post(f"/opportunities/{opportunity.pk}/move", body)

    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [
        ["body", "win_probability"],
        ["body", "value"],
    ]
