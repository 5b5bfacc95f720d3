"""JSON bodies nested deeper than anything Salesline accepts are refused before any validator
walks them: a clear 400, nothing written, never a 500 (RecursionError)."""

import json

import pytest

from salesline.core import boundedjson
from salesline.pipeline.models import StageChange
from salesline.records.models import Company


def nested(depth: int, leaf='"x"', kind="object") -> str:
    if kind == "object":
        return '{"a": ' * depth + leaf + "}" * depth
    return "[" * depth + leaf + "]" * depth


@pytest.mark.parametrize("depth", [33, 500, 5000, 100_000])
@pytest.mark.parametrize("kind", ["object", "array"])
def test_loads_refuses_deep_nesting_at_any_depth(depth, kind):
    with pytest.raises(boundedjson.JsonTooDeep):
        boundedjson.loads(nested(depth, kind=kind))


def test_loads_takes_nesting_up_to_the_limit_and_keeps_lone_surrogates():
    assert boundedjson.loads(nested(boundedjson.MAX_DEPTH - 1)) is not None
    # Kept as text, so the schema can refuse it naming its field.
    assert boundedjson.loads('{"name": "\\ud800"}') == {"name": "\ud800"}


@pytest.mark.parametrize("depth", [500, 5000])
def test_a_deeply_nested_custom_field_value_is_a_400(api, depth):
    body = '{"name": "Deep Co", "custom": {"notes": ' + nested(depth) + "}}"
    response = api.post("/companies", body)
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The request body is refused: the JSON nests more than 32 levels of arrays and objects."
    )
    assert not Company.objects.filter(name="Deep Co").exists()


@pytest.mark.parametrize("depth", [500, 5000])
def test_a_deeply_nested_move_fields_object_is_a_400_and_moves_nothing(api, opportunity, depth):
    body = '{"stage": "qualify", "fields": {"value": ' + nested(depth, kind="array") + "}}"
    moves_before = StageChange.objects.count()
    response = api.post(f"/opportunities/{opportunity.pk}/move", body)
    assert response.status_code == 400
    assert "nests more than 32 levels" in response.json()["detail"]
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "identify"
    assert StageChange.objects.count() == moves_before


def test_invalid_json_says_why(api):
    response = api.post("/companies", '{"name": "Broken Co",')
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The request body is not valid JSON: ")


def test_the_deepest_real_body_is_accepted(admin_api):
    """A pipeline whose gate condition holds a list is the deepest body the API takes (6)."""
    gate = {
        "require": ["value"],
        "conditions": [{"field": "sector", "op": "in", "value": ["public"]}],
    }
    stages = [
        {"key": "new", "name": "New", "gate": gate},
        {"key": "won", "name": "Won", "kind": "won"},
    ]
    response = admin_api.post(
        "/pipelines", {"key": "renewals", "name": "Renewals", "stages": stages}
    )
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("depth", [500, 5000])
def test_a_deeply_nested_import_mapping_is_a_422(api, depth):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("leads.csv", b"name,email\nAsha Rao,asha@example.com\n")
    response = api.client.post(
        "/api/v1/imports/preview",
        {
            "file": upload,
            "kind": "lead",
            "mapping": json.dumps({"name": "name"})[:-1] + ', "x": ' + nested(depth) + "}",
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "mapping"
