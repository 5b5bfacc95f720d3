"""Process definitions: parsing, validation errors, round trips and the built-in templates.

Pure tests, no database: the built-in fields are built here as the service layer would pass them.
"""

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesline.pipeline.definition import PipelineSpec, pipeline_of, pipelines_of
from salesline.pipeline.gates import (
    ChecklistItem,
    Condition,
    Gate,
    MoveFacts,
    NamePattern,
    StageSpec,
    evaluate_move,
    fallback_label,
)
from salesline.process.definition import (
    CustomFieldSpec,
    DefinitionError,
    DefinitionProblem,
    FieldInfo,
    ProcessDefinitionSpec,
    dump_definition,
    parse_definition,
    spec_from_dict,
    spec_to_dict,
    template_names,
    template_text,
)
from salesline.process.definition import (
    sections as registered_sections,
)

_TYPES = {
    "company_id": "reference",
    "primary_contact_id": "reference",
    "owner_id": "reference",
    "value": "decimal",
    "data_volume": "text",
    "win_probability": "number",
    "expected_close_date": "date",
    "sector": "choice",
    "pipeline": "choice",
    "stage": "choice",
    "currency": "choice",
}
_NAMES = {
    "company": "name contact_type business_unit market life_cycle sector segment website "
    "email_domain owner_id",
    "person": "name email phone business_unit company_id title linkedin details buying_influence "
    "response_mode win_result owner_id",
    "lead": "name company_name email business_unit source details phone linkedin description "
    "owner_id",
    "opportunity": "name company_id primary_contact_id pipeline stage value currency "
    "expected_close_date data_volume sector win_probability vertical status_report use_case "
    "business_case owner_id",
}
BUILTIN = {
    kind: {
        name: FieldInfo(fallback_label(name), _TYPES.get(name, "text")) for name in names.split()
    }
    for kind, names in _NAMES.items()
}
# As the catalogue says: a company's sector is text, an opportunity's one of two fixed values.
BUILTIN["company"]["sector"] = FieldInfo("Sector", "text")
BUILTIN["opportunity"]["sector"] = FieldInfo("Sector", "choice", ("public", "private"), 10)


def parse(text: str) -> ProcessDefinitionSpec:
    return parse_definition(text, builtin_fields=BUILTIN)


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse(text)
    return [str(problem) for problem in caught.value.problems]


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


MINIMAL = """\
name: Sales
pipelines:
  - key: sales
    name: Sales
    stages:
      - {key: new, name: New, probability: 10}
      - {key: won, name: Won, kind: won, probability: 100}
"""


# --- the built-in templates --------------------------------------------------------------------


def test_template_names():
    assert template_names() == ["business-development", "network-enquiries", "partnerships"]


@pytest.mark.parametrize("name", ["nope", "../definitions", "business-development.yaml", ""])
def test_unknown_template_is_a_key_error(name):
    with pytest.raises(KeyError):
        template_text(name)


@pytest.mark.parametrize("name", ["business-development", "network-enquiries", "partnerships"])
def test_templates_parse_and_round_trip(name):
    spec = parse(template_text(name))
    assert pipeline_of(spec, name).key == name
    assert parse(dump_definition(spec)) == spec
    assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec
    for pipeline in pipelines_of(spec):
        open_probabilities = [s.probability for s in pipeline.stages if s.kind == "open"]
        assert open_probabilities == sorted(set(open_probabilities))


@pytest.fixture(scope="module")
def business_development() -> ProcessDefinitionSpec:
    return parse(template_text("business-development"))


def test_business_development_shape(business_development):
    pipeline = pipeline_of(business_development, "business-development")
    assert [(s.key, s.kind) for s in pipeline.stages] == [
        ("identify", "open"),
        ("qualify", "open"),
        ("develop", "open"),
        ("propose", "open"),
        ("negotiate", "open"),
        ("won", "won"),
        ("lost", "lost"),
    ]
    assert business_development.minimum_fields == {
        "lead": ("name", "company_name", "email", "business_unit", "source", "details"),
        "person": ("name", "email", "phone", "business_unit", "company_id", "title"),
        "company": (
            "name",
            "contact_type",
            "business_unit",
            "market",
            "life_cycle",
            "sector",
            "segment",
        ),
        "opportunity": ("name",),
    }


QUALIFIED = {
    "name": "3 TB - Personnel records - Preservation",
    "company_id": 12,
    "primary_contact_id": 34,
    "expected_close_date": date(2026, 1, 15),
    "value": Decimal("180000"),
    "data_volume": "3 TB",
    "sector": "public",
}


def bd_move(spec, current, target, fields=None, ticked=(), reason=""):
    facts = MoveFacts(fields=fields or {}, ticked=frozenset(ticked), reason=reason)
    return evaluate_move(pipeline_of(spec, "business-development").stages, current, target, facts)


def test_qualify_passes_with_everything_the_guide_asks_for(business_development):
    assert bd_move(business_development, "identify", "qualify", QUALIFIED) == []
    assert bd_move(business_development, None, "identify", {"name": "Anything"}) == []


def test_qualify_lists_everything_missing(business_development):
    unmet = bd_move(business_development, "identify", "qualify", {"name": "Personnel records"})
    assert [(c.kind, c.field) for c in unmet] == [
        ("require", "company_id"),
        ("require", "primary_contact_id"),
        ("require", "expected_close_date"),
        ("require", "value"),
        ("require", "data_volume"),
        ("require", "sector"),
        ("name_pattern", "name"),
    ]
    assert unmet[0].message == "Company is required to enter Qualify."
    assert unmet[-1].message == (
        "To enter Qualify: Name must read '<amount of data> - <content> - <service>', "
        "e.g. '3 TB - Personnel records - Preservation'."
    )


@pytest.mark.parametrize("field", sorted(set(QUALIFIED) - {"name"}))
def test_each_qualify_field_is_required(business_development, field):
    fields = {**QUALIFIED, field: None}
    unmet = bd_move(business_development, "identify", "qualify", fields)
    assert [(c.kind, c.field) for c in unmet] == [("require", field)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("value", 0, "Value must be greater than 0 to enter Qualify."),
        ("value", Decimal("-1"), "Value must be greater than 0 to enter Qualify."),
        ("sector", "defence", "Sector must be one of public or private to enter Qualify."),
    ],
)
def test_qualify_conditions(business_development, field, value, message):
    unmet = bd_move(business_development, "identify", "qualify", {**QUALIFIED, field: value})
    assert [c.message for c in unmet] == [message]


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("3 TB - Personnel records - Preservation", True),
        ("200GB - Movie soundfiles in different languages - preservation", True),
        ("50 000 000 pages - legal documents - digitization & preservation", True),
        ("10 000 pages - Legal documents - Digitization", True),
        ("Personnel records", False),
        ("Big archive - preservation", False),
        ("3 TB - Personnel records", False),
    ],
)
def test_qualify_name_pattern(business_development, name, accepted):
    unmet = bd_move(business_development, "identify", "qualify", {**QUALIFIED, "name": name})
    assert (unmet == []) is accepted


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        (
            "3 TB – Personnel records – Preservation",
            " The name has an en dash (–) where the pattern expects a hyphen (-): "
            "'3 TB - Personnel records - Preservation' would do.",
        ),
        (
            "3 TB — Personnel records – Preservation",
            " The name has an en dash (–) and an em dash (—) where the pattern expects a hyphen "
            "(-): '3 TB - Personnel records - Preservation' would do.",
        ),
        ("3 TB – Personnel records", ""),  # no dash would make it match: no hint
        ("Personnel records", ""),
    ],
)
def test_a_name_refused_for_its_dashes_says_so(business_development, name, hint):
    unmet = bd_move(business_development, "identify", "qualify", {**QUALIFIED, "name": name})
    assert [c.message for c in unmet] == [
        "To enter Qualify: Name must read '<amount of data> - <content> - <service>', "
        "e.g. '3 TB - Personnel records - Preservation'." + hint
    ]


def test_develop_needs_the_verified_use_case_and_a_business_case(business_development):
    develop = pipeline_of(business_development, "business-development").stages[2]
    assert develop.gate.checklist == (
        ChecklistItem("use_case_verified", "Use-case verified by the client"),
    )
    unmet = bd_move(business_development, "qualify", "develop", QUALIFIED)
    assert [(c.kind, c.field) for c in unmet] == [
        ("require", "business_case"),
        ("checklist", "use_case_verified"),
    ]
    developed = {**QUALIFIED, "business_case": "Saves 2 FTE of retrieval work"}
    assert (
        bd_move(business_development, "qualify", "develop", developed, {"use_case_verified"}) == []
    )


def test_skipping_to_develop_checks_qualify_too(business_development):
    unmet = bd_move(business_development, "identify", "develop", {"name": "x"})
    assert [c.stage for c in unmet][:1] == ["qualify"]
    assert {c.stage for c in unmet} == {"qualify", "develop"}


def test_won_and_lost_need_a_reason(business_development):
    assert [c.kind for c in bd_move(business_development, "identify", "lost")] == ["reason"]
    assert bd_move(business_development, "identify", "lost", reason="No budget") == []
    everything = {**QUALIFIED, "business_case": "yes", "status_report": "Signed soon"}
    ticks = {"use_case_verified", "proposal_sent", "proposal_answered"}
    assert [c.kind for c in bd_move(business_development, "negotiate", "won", everything)] == [
        "reason"
    ]
    assert bd_move(business_development, "identify", "won", everything, ticks, "Signed") == []


def test_partnerships_template():
    spec = parse(template_text("partnerships"))
    stages = pipeline_of(spec, "partnerships").stages
    assert [(s.key, s.kind) for s in stages] == [
        ("lead", "open"),
        ("prospect", "open"),
        ("partner", "won"),
        ("lost", "lost"),
    ]
    assert stages[1].gate == Gate(
        checklist=(ChecklistItem("verbal_close_yes", "Verbal close: yes"),)
    )
    assert stages[2].gate.checklist == (
        ChecklistItem(
            "executed_close", "Executed close: service agreement fully signed by all parties"
        ),
    )
    assert stages[3].gate.reason_required
    assert spec.minimum_fields["opportunity"] == ("name",)

    def move(current, target, ticked=(), reason=""):
        facts = MoveFacts(fields={"name": "PartnerX"}, ticked=frozenset(ticked), reason=reason)
        return [c.field for c in evaluate_move(stages, current, target, facts)]

    assert move("lead", "partner") == ["verbal_close_yes", "executed_close"]
    assert move("lead", "prospect", {"verbal_close_yes"}) == []
    assert move("lead", "lost") == ["reason"]
    assert move("lead", "lost", reason="Verbal close: no, no budget") == []


def test_network_enquiries_template():
    spec = parse(template_text("network-enquiries"))
    stages = pipeline_of(spec, "network-enquiries").stages
    assert [s.key for s in stages] == ["enquiry", "qualified", "referred", "won", "lost"]
    assert stages[-1].gate.reason_required


# --- error reports -----------------------------------------------------------------------------


def test_unknown_field_is_reported_with_its_line_and_path():
    text = template_text("business-development").replace(
        "expected_close_date, value,", "expected_close_date, valeu,"
    )
    line = line_of(text, "valeu")
    assert problems(text) == [
        f"line {line}: pipelines[0].stages[1].gate.require[3]: unknown field 'valeu'"
    ]


def test_unknown_key_is_reported():
    text = MINIMAL.replace("    stages:", "    stagez: []\n    stages:")
    assert problems(text) == ["line 5: pipelines[0].stagez: unknown key 'stagez'"]


def test_a_missing_key_points_at_its_parent():
    text = MINIMAL.replace(", probability: 10}", "}")
    assert problems(text) == ["line 6: pipelines[0].stages[0]: missing required key 'probability'"]
    assert problems("description: x\n") == ["line 1: missing required key 'name'"] + [
        "line 1: missing required key 'pipelines'"
    ]


def test_duplicate_yaml_keys_are_reported():
    text = "name: One\nname: Two\n" + MINIMAL.split("\n", 1)[1]
    assert problems(text) == ["line 2: name: duplicate key 'name'"]


def test_duplicate_stage_pipeline_and_checklist_keys():
    text = """\
name: Sales
pipelines:
  - key: sales
    name: Sales
    stages:
      - {key: new, name: New, probability: 10, gate: {checklist: [{key: call, label: Call}]}}
      - {key: new, name: Newer, probability: 20, gate: {checklist: [{key: call, label: Call}]}}
  - key: sales
    name: More sales
    stages:
      - {key: new, name: New, probability: 10, gate: {checklist: [{key: call, label: Call}]}}
"""
    assert problems(text) == [
        "line 7: pipelines[0].stages[1].key: duplicate stage key 'new'",
        "line 7: pipelines[0].stages[1].gate.checklist[0].key: duplicate checklist item key "
        "'call' (keys must be unique in a pipeline)",
        "line 8: pipelines[1].key: duplicate pipeline key 'sales'",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [Sales\n", "line 2: invalid YAML: "),
        ("name: Sales\npipelines:\n  - key: a\n   name: b\n", "line 4: invalid YAML: "),
        ("name: Sales\n\tpipelines: []\n", "line 2: invalid YAML: found character '\\t'"),
        ("name: a\npipelines: []\n---\nname: b\n", "line 3: invalid YAML: "),
    ],
)
def test_yaml_syntax_errors_have_a_line(text, expected):
    [problem] = problems(text)
    assert problem.startswith(expected)


NOT_A_MAPPING = "the definition must be a mapping with keys such as name and pipelines"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the definition is empty"),
        ("# nothing but a comment\n", "the definition is empty"),
        ("- a\n- b\n", f"line 1: {NOT_A_MAPPING}"),
        ("just text\n", f"line 1: {NOT_A_MAPPING}"),
    ],
)
def test_empty_or_non_mapping_documents(text, expected):
    assert problems(text) == [expected]


def test_every_problem_is_reported_at_once_in_line_order():
    text = """\
name: "  "
minimum_fields:
  leads: [name]
  person: [name, emale]
custom_fields:
  - {record: person, key: Bad-Key, label: X, type: text}
  - {record: opportunity, key: value, label: X, type: text}
  - {record: opportunity, key: tier, label: Tier, type: choice}
  - {record: deal, key: size, label: Size, type: colour}
pipelines:
  - key: Sales
    name: Sales
    stages:
      - key: a
        name: A
        probability: ten
        gate:
          require: [company_id, valeu]
          conditions:
            - {field: value, op: "=>", value: 0}
            - {field: sector, op: in, value: public}
            - {field: value, op: ">", value: abc}
            - {field: value, op: ">", value: [1, 2]}
            - {field: valu, op: "==", value: 1}
          name_pattern: {regex: "([", message: ""}
      - {key: won, name: Won, kind: won, probability: 100}
      - {key: b, name: B, probability: 120, kind: maybe}
      - {key: c, name: C, probability: 30}
"""
    assert problems(text) == [
        "line 1: name: must not be blank",
        "line 3: minimum_fields.leads: unknown key 'leads' (record kinds are company, person, "
        "lead or opportunity)",
        "line 4: minimum_fields.person[1]: unknown field 'emale'",
        "line 6: custom_fields[0].key: custom field key 'Bad-Key' must be snake_case: lowercase "
        "letters, digits and underscores, starting with a letter",
        "line 7: custom_fields[1].key: custom field 'value' would hide the built-in opportunity "
        "field",
        "line 8: custom_fields[2]: a choice field needs a list of choices",
        "line 9: custom_fields[3].record: unknown record kind 'deal' (use company, person, lead or "
        "opportunity)",
        "line 9: custom_fields[3].type: unknown field type 'colour' (use text, number, date, "
        "choice or boolean)",
        "line 11: pipelines[0].key: pipeline key 'Sales' may use only lowercase letters, digits, "
        "'-' and '_'",
        "line 16: pipelines[0].stages[0].probability: must be a whole number",
        "line 18: pipelines[0].stages[0].gate.require[1]: unknown field 'valeu'",
        "line 20: pipelines[0].stages[0].gate.conditions[0].op: unknown operator '=>' (use ==, !=, "
        ">, >=, <, <=, in or not_in)",
        "line 21: pipelines[0].stages[0].gate.conditions[1].value: operator 'in' needs a list of "
        "values, e.g. [a, b]",
        "line 22: pipelines[0].stages[0].gate.conditions[2].value: 'value' is a decimal field: the "
        "value must be a number",
        "line 23: pipelines[0].stages[0].gate.conditions[3].value: operator '>' needs a single "
        "value, not a list",
        "line 24: pipelines[0].stages[0].gate.conditions[4].field: unknown field 'valu'",
        "line 25: pipelines[0].stages[0].gate.name_pattern.message: must not be blank",
        "line 25: pipelines[0].stages[0].gate.name_pattern.regex: invalid regular expression: "
        "unterminated character set at position 1",
        "line 27: pipelines[0].stages[2].kind: unknown stage kind 'maybe' (use open, won or lost)",
        "line 27: pipelines[0].stages[2].probability: must be between 0 and 100",
        "line 28: pipelines[0].stages[3]: open stage 'c' comes after closing stage 'won': list the "
        "open stages first, then won and lost",
    ]


def test_error_str_joins_the_problems():
    error = DefinitionError(
        [DefinitionProblem(3, "name", "must be text"), DefinitionProblem(None, "", "empty")]
    )
    assert str(error) == "line 3: name: must be text\nempty"


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (
            "key: new",
            "key: no",
            "key: must be text (put it in quotes: unquoted yes, no, on and off mean true or false)",
        ),
        (
            "name: New",
            "name: 2025-01-31",
            "name: must be text (put it in quotes: an unquoted date is read as a date)",
        ),
        ("probability: 10}", "probability: 10.5}", "probability: must be a whole number"),
        ("probability: 10}", "probability: '10'}", "probability: must be a whole number"),
        (
            "probability: 10}",
            "probability: 10, gate: {reason_required: maybe}}",
            "gate.reason_required: must be true or false",
        ),
        (
            "probability: 10}",
            "probability: 10, gate: {require: company_id}}",
            "gate.require: must be a list",
        ),
    ],
)
def test_type_errors_are_explained(replace, by, expected):
    text = MINIMAL.replace(replace, by)
    assert problems(text) == [f"line 6: pipelines[0].stages[0].{expected}"]


def test_a_stage_that_is_not_a_mapping():
    text = MINIMAL.replace("{key: new, name: New, probability: 10}", "new")
    assert problems(text) == ["line 6: pipelines[0].stages[0]: must be a mapping of keys to values"]


def test_stage_rules():
    no_open = MINIMAL.replace("- {key: new, name: New, probability: 10}\n", "")
    assert problems(no_open) == [
        "line 5: pipelines[0].stages: a pipeline needs at least one open stage"
    ]
    no_pipelines = "name: Sales\npipelines: []\n"
    assert problems(no_pipelines) == ["line 2: pipelines: a definition needs at least one pipeline"]
    negative = MINIMAL.replace("probability: 10}", "probability: -1}")
    assert problems(negative) == [
        "line 6: pipelines[0].stages[0].probability: must be between 0 and 100"
    ]
    bad_key = MINIMAL.replace("key: new", "key: New Stage")
    assert problems(bad_key) == [
        "line 6: pipelines[0].stages[0].key: stage key 'New Stage' may use only lowercase "
        "letters, digits, '-' and '_'"
    ]


def gate_problems(gate: str, custom_fields: str = "") -> list[str]:
    text = MINIMAL.replace("probability: 10}", "probability: 10, gate: " + gate + "}")
    return problems(text.replace("pipelines:", custom_fields + "pipelines:"))


def test_condition_values_must_fit_the_field():
    assert gate_problems("{conditions: [{field: expected_close_date, op: '>=', value: soon}]}") == [
        "line 6: pipelines[0].stages[0].gate.conditions[0].value: 'expected_close_date' is a date "
        "field: the value must be a date (YYYY-MM-DD)"
    ]
    assert gate_problems("{conditions: [{field: value, op: in, value: [1, x]}]}") == [
        "line 6: pipelines[0].stages[0].gate.conditions[0].value[1]: 'value' is a decimal field: "
        "the value must be a number"
    ]
    assert gate_problems("{conditions: [{field: value, op: '>', value: null}]}") == [
        "line 6: pipelines[0].stages[0].gate.conditions[0].value: must be text, a number, a date "
        "or true/false"
    ]
    assert gate_problems("{conditions: [{field: value, op: '>'}]}") == [
        "line 6: pipelines[0].stages[0].gate.conditions[0]: missing required key 'value'"
    ]


def test_custom_fields_count_for_their_record_kind():
    custom = """\
custom_fields:
  - {record: opportunity, key: tier, label: Tier, type: choice, choices: [gold, silver]}
  - {record: opportunity, key: poc_needed, label: PoC needed, type: boolean}
  - {record: person, key: nickname, label: Nickname, type: text}
minimum_fields:
  person: [name, nickname]
  opportunity: [name, tier]
"""
    gate = "{require: [tier], conditions: [{field: poc_needed, op: '==', value: true}]}"
    text = MINIMAL.replace("probability: 10}", "probability: 10, gate: " + gate + "}")
    spec = parse(text.replace("pipelines:", custom + "pipelines:"))
    assert spec.minimum_fields["person"] == ("name", "nickname")
    assert spec.custom_fields[0] == CustomFieldSpec(
        "opportunity", "tier", "Tier", "choice", ("gold", "silver")
    )
    assert spec.labels("opportunity", BUILTIN)["tier"] == "Tier"
    assert spec.labels("opportunity", BUILTIN)["expected_close_date"] == "Expected close date"
    assert "nickname" not in spec.labels("opportunity", BUILTIN)

    assert gate_problems("{require: [nickname]}", custom) == [
        "line 13: pipelines[0].stages[0].gate.require[0]: unknown field 'nickname'"
    ]
    assert gate_problems("{conditions: [{field: tier, op: '==', value: bronze}]}", custom) == [
        "line 13: pipelines[0].stages[0].gate.conditions[0].value: 'tier' is a choice field: the "
        "value must be one of its choices (gold, silver)"
    ]
    assert gate_problems("{conditions: [{field: poc_needed, op: '>', value: true}]}", custom) == [
        "line 13: pipelines[0].stages[0].gate.conditions[0].value: 'poc_needed' is a boolean "
        "field: the value must be compared with == or !="
    ]


def test_custom_field_rules():
    custom = """\
custom_fields:
  - {record: person, key: nickname, label: Nickname, type: text, choices: [a]}
  - {record: person, key: nickname, label: Again, type: text}
  - {record: person, key: 9lives, label: Lives, type: number}
  - {record: company, key: size, label: " ", type: choice, choices: [s, s]}
"""
    assert problems(MINIMAL.replace("pipelines:", custom + "pipelines:")) == [
        "line 3: custom_fields[0].choices: only choice fields take choices",
        "line 4: custom_fields[1].key: duplicate custom field 'nickname' for person",
        "line 5: custom_fields[2].key: custom field key '9lives' must be snake_case: lowercase "
        "letters, digits and underscores, starting with a letter",
        "line 6: custom_fields[3].label: must not be blank",
        "line 6: custom_fields[3].choices[1]: choice 's' is listed twice",
    ]


def test_minimum_fields_may_not_repeat_a_field():
    text = MINIMAL.replace("pipelines:", "minimum_fields:\n  lead: [name, email, name]\npipelines:")
    assert problems(text) == ["line 3: minimum_fields.lead[2]: field 'name' is listed twice"]


def test_empty_sections_mean_nothing_configured():
    text = MINIMAL.replace("pipelines:", "custom_fields:\nminimum_fields:\n  lead:\npipelines:")
    text = text.replace("probability: 10}", "probability: 10, gate: {require: , checklist: }}")
    spec = parse(text)
    assert spec.custom_fields == ()
    assert spec.minimum_fields == {
        kind: () for kind in ("company", "person", "lead", "opportunity")
    }
    assert pipelines_of(spec)[0].stages[0].gate == Gate()


def test_dates_in_conditions_become_iso_text():
    spec = parse(
        MINIMAL.replace(
            "probability: 10}",
            "probability: 10, gate: {conditions: [{field: expected_close_date, op: '>=', "
            "value: 2025-01-01}]}}",
        )
    )
    [condition] = pipelines_of(spec)[0].stages[0].gate.conditions
    assert condition == Condition("expected_close_date", ">=", "2025-01-01")
    assert parse(dump_definition(spec)) == spec


def test_pipeline_lookup():
    spec = parse(MINIMAL)
    assert pipeline_of(spec, "sales").name == "Sales"
    with pytest.raises(KeyError):
        pipeline_of(spec, "other")


# --- round trips of generated definitions ------------------------------------------------------

OPPORTUNITY_FIELDS = sorted(BUILTIN["opportunity"])
texts = st.text(
    st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x85\ufeff"),
    min_size=1,
    max_size=30,
).filter(str.strip)
slugs = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True)
conditions = st.one_of(
    st.builds(
        Condition,
        field=st.just("value"),
        op=st.sampled_from([">", ">=", "<", "<=", "==", "!="]),
        value=st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)),
        message=st.none() | texts,
    ),
    st.builds(
        Condition,
        field=st.sampled_from(["sector", "vertical", "currency"]),
        op=st.sampled_from(["in", "not_in"]),
        value=st.lists(texts, min_size=1, max_size=3).map(tuple),
        message=st.none() | texts,
    ),
)


@st.composite
def pipelines(draw: st.DrawFn) -> PipelineSpec:
    keys = draw(st.lists(slugs, min_size=1, max_size=5, unique=True))
    n_open = draw(st.integers(1, len(keys)))
    stages = []
    for index, key in enumerate(keys):
        kind = "open" if index < n_open else draw(st.sampled_from(["won", "lost"]))
        gate = Gate(
            require=tuple(draw(st.lists(st.sampled_from(OPPORTUNITY_FIELDS), unique=True))),
            conditions=tuple(draw(st.lists(conditions, max_size=2))),
            name_pattern=draw(
                st.none() | st.builds(NamePattern, st.sampled_from([r"\d+ .+", "[A-Z].*"]), texts)
            ),
            checklist=tuple(
                ChecklistItem(f"{key}-{n}", label)
                for n, label in enumerate(draw(st.lists(texts, max_size=2)))
            ),
            reason_required=draw(st.booleans()),
        )
        stages.append(StageSpec(key, draw(texts), kind, draw(st.integers(0, 100)), gate))
    return PipelineSpec(draw(slugs), draw(texts), tuple(stages))


@st.composite
def definitions(draw: st.DrawFn) -> ProcessDefinitionSpec:
    pipeline_list = draw(st.lists(pipelines(), min_size=1, max_size=2, unique_by=lambda p: p.key))
    custom = draw(
        st.lists(
            st.builds(
                CustomFieldSpec,
                record=st.sampled_from(list(BUILTIN)),
                key=st.from_regex(r"x_[a-z0-9_]{0,6}", fullmatch=True),
                label=texts,
                type=st.sampled_from(["text", "number", "date", "boolean"]),
                help=st.just("") | texts,
            ),
            max_size=3,
            unique_by=lambda cf: (cf.record, cf.key),
        )
    )
    minimum = {
        kind: tuple(draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=4)))
        for kind, fields in BUILTIN.items()
    }
    description = draw(st.just("") | texts | st.lists(texts, max_size=3).map("\n".join))
    # Other apps' sections (playbooks) as a file without them parses: their defaults.
    others = {section.key: section.default() for section in registered_sections()}
    return ProcessDefinitionSpec(
        draw(texts),
        description,
        minimum,
        tuple(custom),
        {**others, "pipelines": tuple(pipeline_list)},
    )


@settings(max_examples=60, deadline=None)
@given(definitions())
def test_generated_definitions_round_trip(spec):
    assert parse(dump_definition(spec)) == spec
    assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec


def test_dump_is_readable_yaml():
    dumped = dump_definition(parse(template_text("business-development")))
    assert "kind: open" not in dumped
    assert re.search(r"^\s+require: \[company_id, primary_contact_id,", dumped, re.MULTILINE)
    assert "- {field: sector, op: in, value: [public, private]}" in dumped


def test_the_documented_example_is_valid():
    doc = (Path(__file__).parents[2] / "docs" / "process-definitions.md").read_text()
    example = re.search(r"## A complete small example\n\n```yaml\n(.*?)```", doc, re.DOTALL)
    assert example is not None
    spec = parse(example.group(1))
    assert [s.key for s in pipeline_of(spec, "consulting").stages] == [
        "new",
        "qualified",
        "won",
        "lost",
    ]


def test_a_stage_says_when_its_opportunities_stall():
    text = MINIMAL.replace("probability: 10}", "probability: 10, stalled_after_days: 14}")
    new, won = pipeline_of(parse(text), "sales").stages
    assert (new.stalled_after_days, new.stalled_days) == (14, 14)
    assert (won.stalled_after_days, won.stalled_days) == (None, 30)  # the default


def test_stalled_after_days_is_checked():
    text = MINIMAL.replace("probability: 10}", "probability: 10, stalled_after_days: 0}").replace(
        "probability: 100}", "probability: 100, stalled_after_days: 5}"
    )
    assert problems(text) == [
        "line 6: pipelines[0].stages[0].stalled_after_days: must be between 1 and 3650",
        "line 7: pipelines[0].stages[1].stalled_after_days: only an open stage can stall: a won "
        "or lost opportunity is closed",
    ]
