"""Hostile text never hurts: every writable text field of every resource refuses what cannot be
stored (lone surrogates, NUL, control characters, bidirectional overrides in one-line text,
over-long values) with a 422 naming the field, writes nothing, and leaves the lists, the record
and the export answering 200 — on SQLite and PostgreSQL.

The fields come from the API's own schemas, so a field added later is covered without a change
here."""

import json

import pytest

from salesline.api.v1 import schemas
from salesline.core.text import CUSTOM_TEXT_MAX, LONG_TEXT_MAX
from salesline.pipeline.models import Opportunity, Pipeline
from salesline.process.models import CustomField
from salesline.records.fields import KINDS
from salesline.records.models import Company, Lead, Note, Person
from tests.conftest import COMPANY, LEAD, PERSON

PLURAL = {kind: KINDS[kind].plural for kind in ("company", "person", "lead", "opportunity")}
MODELS = {"company": Company, "person": Person, "lead": Lead, "opportunity": Opportunity}

# (case, value, refused in multi-line text too?)
HOSTILE = [
    ("lone surrogate", "Acme \ud800 AS", True),
    ("NUL", "Acme\x00", True),
    ("bell", "Acme \x07", True),
    ("DEL", "Acme\x7f", True),
    ("noncharacter", "Acme \uffff", True),
    ("right-to-left override", "Invoice \u202efdp.exe", False),
    ("left-to-right isolate", "Acme \u2066AS", False),
    ("line break", "Acme\nArchives", False),
    ("tab", "Acme\tArchives", False),
]


def text_fields(kind: str) -> list[tuple[str, int, bool]]:
    """(field, limit, multi-line) of every writable text field the API schema of `kind` has."""
    fields = KINDS[kind].fields
    out = []
    for name in schemas.IN_SCHEMAS[kind].model_fields:
        field = fields.get(name)
        if field is not None and field.type in ("text", "longtext", "choice"):
            multiline = field.type == "longtext"
            out.append((name, field.max_length or LONG_TEXT_MAX, multiline))
    return out


RECORD_FIELDS = [
    (kind, name, limit, multiline)
    for kind in PLURAL
    for name, limit, multiline in text_fields(kind)
]


def cases(multiline: bool, limit: int):
    for case, value, everywhere in HOSTILE:
        if everywhere or not multiline:
            yield case, value
    yield "over-long", "x" * (limit + 1)


RECORD_CASES = [
    pytest.param(kind, name, value, id=f"{kind}.{name}-{case}")
    for kind, name, limit, multiline in RECORD_FIELDS
    for case, value in cases(multiline, limit)
]


@pytest.fixture
def valid_data(company):
    return {
        "company": {**COMPANY, "name": "Beta Archives AS"},
        "person": {**PERSON, "email": "kim@acme.no", "company_id": company.pk},
        "lead": LEAD,
        "opportunity": {"name": "Archive project"},
    }


def still_answers(api, kind: str, record_id: int | None = None, formats=("csv",)) -> None:
    plural = PLURAL[kind]
    assert api.get(f"/{plural}").status_code == 200
    for fmt in formats:
        assert api.get(f"/{plural}/export?format={fmt}").status_code == 200
    if record_id is not None:
        assert api.get(f"/{plural}/{record_id}").status_code == 200


def assert_refused(response, loc_prefix: list) -> None:
    assert response.status_code == 422, response.content
    locs = [d["loc"] for d in response.json()["detail"]]
    assert any(loc[: len(loc_prefix)] == loc_prefix for loc in locs), locs


def test_every_text_field_of_every_record_kind_is_covered():
    # The schemas give at least the fields we know of; a new one joins by itself.
    names = {(kind, name) for kind, name, *_ in RECORD_FIELDS}
    assert {("company", "name"), ("person", "phone"), ("lead", "details")} <= names
    assert ("opportunity", "status_report") in names


@pytest.mark.parametrize(("kind", "field", "value"), RECORD_CASES)
def test_a_create_with_hostile_text_is_refused_and_writes_nothing(
    api, valid_data, kind, field, value
):
    model = MODELS[kind]
    before = model.objects.count()

    response = api.post(f"/{PLURAL[kind]}", {**valid_data[kind], field: value})

    assert_refused(response, ["body", field])
    assert model.objects.count() == before
    still_answers(api, kind)


UPDATE_CASES = [
    pytest.param(kind, name, value, id=f"{kind}.{name}-{case}")
    for kind, name, limit, multiline in RECORD_FIELDS
    for case, value in [
        ("lone surrogate", "\ud83d"),
        ("control character", "a\x01b"),
        ("over-long", "y" * (limit + 1)),
    ]
]


@pytest.mark.parametrize(("kind", "field", "value"), UPDATE_CASES)
def test_an_update_with_hostile_text_is_refused_and_changes_nothing(
    api, actor, valid_data, kind, field, value
):
    created = api.post(f"/{PLURAL[kind]}", valid_data[kind])
    assert created.status_code == 201, created.content
    record = created.json()

    response = api.patch(f"/{PLURAL[kind]}/{record['id']}", {field: value})

    assert_refused(response, ["body", field])
    assert api.get(f"/{PLURAL[kind]}/{record['id']}").json() == record
    still_answers(api, kind, record["id"], formats=("csv", "xlsx"))


@pytest.mark.parametrize(("case", "value", "everywhere"), HOSTILE)
def test_a_custom_text_value_with_hostile_text_is_refused(
    api, company, company_custom_fields, case, value, everywhere
):
    response = api.patch(f"/companies/{company.pk}", {"custom_fields": {"motto": value}})

    assert_refused(response, ["body", "custom_fields"])
    company.refresh_from_db()
    assert company.custom_fields == {}
    still_answers(api, "company", company.pk)


def test_a_custom_text_value_has_a_length_limit(api, company, company_custom_fields):
    longest = "m" * CUSTOM_TEXT_MAX

    refused = api.patch(f"/companies/{company.pk}", {"custom_fields": {"motto": longest + "m"}})
    accepted = api.patch(f"/companies/{company.pk}", {"custom_fields": {"motto": longest}})

    assert_refused(refused, ["body", "custom_fields", "motto"])
    assert refused.json()["detail"][0]["msg"] == (
        f"Motto must be at most {CUSTOM_TEXT_MAX:,} characters (it has {CUSTOM_TEXT_MAX + 1:,})."
    )
    assert accepted.status_code == 200
    assert accepted.json()["custom_fields"] == {"motto": longest}


def test_an_unknown_custom_field_key_is_named_without_echoing_it_whole(api, company):
    response = api.patch(f"/companies/{company.pk}", {"custom_fields": {"k" * 300: "x"}})

    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "custom_fields", "k" * 60]


def test_the_issue_s_lone_surrogate_is_refused_and_the_company_list_still_answers(
    api, company, company_custom_fields
):
    raw = '{"custom_fields": {"motto": "\\ud800"}}'

    response = api.patch(f"/companies/{company.pk}", raw)

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "custom_fields"],
            "msg": "Text must not contain a lone UTF-16 surrogate (U+D800): it is not a character.",
            "type": "lone_surrogate",
        }
    ]
    still_answers(api, "company", company.pk)


@pytest.mark.parametrize(
    "multiline_value", ["First line\nsecond line", "Tab\tseparated", "\u202bمرحبا\u202c"]
)
def test_long_text_keeps_tabs_line_breaks_and_bidi_embeddings(api, multiline_value):
    response = api.post("/leads", {**LEAD, "details": multiline_value})

    assert response.status_code == 201, response.content
    assert response.json()["details"] == multiline_value


def test_names_may_carry_bidi_marks_and_any_script(api):
    name = "\u05e9\u05dc\u05d5\u05dd\u200f Ltd \u2014 Åse Ødegård 李雷"

    response = api.post("/companies", {**COMPANY, "name": name})

    assert response.status_code == 201, response.content
    assert response.json()["name"] == name


# ---------------------------------------------------------------- notes


NOTE_CASES = [pytest.param(value, id=case) for case, value, everywhere in HOSTILE if everywhere] + [
    pytest.param("n" * (LONG_TEXT_MAX + 1), id="over-long")
]


@pytest.mark.parametrize("body", NOTE_CASES)
def test_a_note_with_hostile_text_is_refused(api, company, note, body):
    created = api.post("/notes", {"body": body, "company_id": company.pk})
    edited = api.patch(f"/notes/{note.pk}", {"body": body})

    assert_refused(created, ["body", "body"])
    assert_refused(edited, ["body", "body"])
    assert list(Note.objects.values_list("body", flat=True)) == ["Met at the expo."]
    assert api.get("/notes").status_code == 200
    assert api.get(f"/notes/{note.pk}").status_code == 200


# ---------------------------------------------------------------- definitions


CUSTOM_FIELD = {"record": "company", "key": "motto", "label": "Motto", "type": "text"}
DEFINITION_CASES = [
    pytest.param(field, value, id=f"{field}-{case}")
    for field in ("label", "help")
    for case, value, _ in HOSTILE
] + [
    pytest.param("label", "L" * 121, id="label-over-long"),
    pytest.param("help", "H" * 256, id="help-over-long"),
    pytest.param("key", "k" * 300, id="key-over-long"),
    pytest.param("key", "motto\x00", id="key-NUL"),
    pytest.param("choices", ["gold", "sil\u202ever"], id="choices-override"),
    pytest.param("choices", ["g" * 121], id="choices-over-long"),
]


@pytest.mark.parametrize(("field", "value"), DEFINITION_CASES)
def test_a_custom_field_with_hostile_text_is_refused(admin_api, field, value):
    body = {**CUSTOM_FIELD, field: value}
    if field == "choices":
        body["type"] = "choice"
    before = CustomField.objects.count()

    response = admin_api.post("/custom-fields", body)

    assert response.status_code == 422, response.content
    # Named by its place in the process definition: ["definition", "custom_fields[2].label"].
    locs = [d["loc"] for d in response.json()["detail"]]
    assert any(field in str(loc[-1]) for loc in locs), locs
    assert CustomField.objects.count() == before
    assert admin_api.get("/custom-fields").status_code == 200


@pytest.mark.parametrize(("case", "value", "everywhere"), HOSTILE)
def test_a_custom_field_label_edit_with_hostile_text_is_refused(
    admin_api, company_custom_fields, case, value, everywhere
):
    field = CustomField.objects.get(key="motto")

    response = admin_api.patch(f"/custom-fields/{field.pk}", {"label": value})

    assert response.status_code == 422, response.content
    field.refresh_from_db()
    assert field.label == "Motto"


@pytest.mark.parametrize(
    "value", [v for case, v, _ in HOSTILE] + ["P" * 201], ids=[c for c, *_ in HOSTILE] + ["long"]
)
def test_a_pipeline_or_stage_name_with_hostile_text_is_refused(admin_api, value):
    before = Pipeline.objects.count()
    stages = [{"key": "new", "name": "New"}, {"key": "won", "name": "Won", "kind": "won"}]

    named = admin_api.post("/pipelines", {"key": "p2", "name": value, "stages": stages})
    staged = admin_api.post(
        "/pipelines",
        {"key": "p3", "name": "P3", "stages": [{**stages[0], "name": value}, stages[1]]},
    )

    assert named.status_code == 422 and staged.status_code == 422
    assert Pipeline.objects.count() == before
    assert admin_api.get("/pipelines").status_code == 200


@pytest.mark.parametrize("reason", ["\ud800", "closed\x00", "lost \x07", "r" * (LONG_TEXT_MAX + 1)])
def test_a_closing_reason_with_hostile_text_is_refused(api, opportunity, reason):
    response = api.post(
        f"/opportunities/{opportunity.pk}/move", {"stage": "lost", "reason": reason}
    )

    assert_refused(response, ["body", "reason"])
    opportunity.refresh_from_db()
    assert opportunity.close_reason == "" and opportunity.stage.kind == "open"


def test_a_request_body_nested_deeply_does_not_exhaust_the_validator(api, company):
    nested: object = "x"
    for _ in range(2000):
        nested = [nested]
    body = json.dumps({"custom_fields": {"motto": nested}})

    response = api.patch(f"/companies/{company.pk}", body)

    assert response.status_code in (400, 422)
