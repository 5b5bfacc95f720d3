"""Choice lists of built-in fields in the process definition: parsing, the checker's problems
with their lines, the JSON and YAML round trips, and matching a typed value to a choice."""

import pytest

from salesline.process.definition import (
    Choice,
    DefinitionError,
    allowed_values,
    choice_label,
    dump_definition,
    match_choice,
    parse_definition,
    spec_from_dict,
    spec_to_dict,
    template_names,
    template_text,
)
from salesline.process.kinds import builtin_fields

MINIMAL = """\
name: Sales
custom_fields:
  - {record: company, key: tier, label: Tier, type: choice, choices: [gold, silver]}
pipelines:
  - key: sales
    name: Sales
    stages:
      - {key: new, name: New, probability: 10}
      - {key: won, name: Won, kind: won, probability: 100}
"""


def parse(choices: str):
    return parse_definition(MINIMAL + choices, builtin_fields=builtin_fields())


def problems(choices: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse(choices)
    return [str(problem) for problem in caught.value.problems]


def test_choices_are_text_or_a_value_with_a_label():
    spec = parse(
        """\
choices:
  company:
    contact_type: [Customer, Partner]
  opportunity:
    sector:
      - {value: public, label: Public sector}
      - {value: private}
"""
    )

    assert spec.field_choices("company", "contact_type") == (
        Choice("Customer", "Customer"),
        Choice("Partner", "Partner"),
    )
    assert spec.field_choices("opportunity", "sector") == (
        Choice("public", "Public sector"),
        Choice("private", "private"),
    )
    assert spec.field_choices("company", "market") == ()  # free text


def test_choices_survive_the_json_and_yaml_round_trips():
    spec = parse(
        """\
choices:
  lead:
    source: [Web, "Trade show", {value: ref, label: Referral}]
"""
    )

    assert spec_from_dict(spec_to_dict(spec)) == spec
    dumped = dump_definition(spec)
    assert "source: [Web, Trade show, {value: ref, label: Referral}]" in dumped
    assert parse_definition(dumped, builtin_fields=builtin_fields()) == spec


def test_every_problem_of_a_choice_list_is_named_with_its_line():
    found = problems(
        """\
choices:
  client:
    kind: [a]
  company:
    colour: [red]
    tier: [gold]
    website_x: []
    email_domain:
    owner_id: [a]
    contact_type: [Customer, customer, Partner, Partner, 3, yes, "  ", {label: X}, {value: a, lable: b}]
  lead:
    details: [a]
  opportunity:
    sector: [public, {value: ngo, label: NGO}]
"""
    )

    assert found == [
        "line 11: choices.client: unknown record kind 'client' (use company, person, lead or "
        "opportunity)",
        "line 14: choices.company.colour: unknown company field 'colour'",
        "line 15: choices.company.tier: 'tier' is a custom field: list its choices under "
        "custom_fields",
        "line 16: choices.company.website_x: unknown company field 'website_x'",
        "line 17: choices.company.email_domain: 'email_domain' needs at least one choice",
        "line 18: choices.company.owner_id: 'owner_id' is not a one-line text field, so it cannot "
        "take choices",
        "line 19: choices.company.contact_type[1]: choice 'customer' could be read as 'Customer' "
        "(case is ignored)",
        "line 19: choices.company.contact_type[3]: choice 'Partner' is listed twice",
        "line 19: choices.company.contact_type[4]: must be text (put it in quotes)",
        "line 19: choices.company.contact_type[5]: must be text (put it in quotes)",
        "line 19: choices.company.contact_type[6]: must not be blank",
        "line 19: choices.company.contact_type[7]: missing required key 'value'",
        "line 19: choices.company.contact_type[8].lable: unknown key 'lable' (use value and label)",
        "line 21: choices.lead.details: 'details' is not a one-line text field, so it cannot take "
        "choices",
        "line 23: choices.opportunity.sector[1].value: 'sector' only takes public or private: a "
        "choice list may relabel or narrow them",
    ]


def test_a_label_may_not_be_read_as_another_choice():
    assert problems(
        """\
choices:
  company:
    segment: [Small, {value: SMB, label: small}]
"""
    ) == [
        "line 12: choices.company.segment[1]: choice 'SMB' could be read as 'Small' (case is "
        "ignored)"
    ]


def test_a_choice_longer_than_its_column_is_refused():
    assert problems(
        f"""\
choices:
  company:
    contact_type: [{"x" * 81}]
"""
    ) == ["line 12: choices.company.contact_type[0]: must be at most 80 characters (it has 81)"]


def test_a_gate_condition_must_name_a_declared_choice():
    text = MINIMAL.replace(
        "{key: won, name: Won",
        "{key: won, name: Won, gate: {conditions: [{field: vertical, op: in, value: [Archives, "
        "Film]}]}",
    )
    with pytest.raises(DefinitionError) as caught:
        parse_definition(
            text + "choices:\n  opportunity:\n    vertical: [Archives, Media]\n",
            builtin_fields=builtin_fields(),
        )

    assert [p.message for p in caught.value.problems] == [
        "'vertical' is a text field: the value must be one of its choices (Archives, Media)"
    ]


@pytest.mark.parametrize("name", template_names())
def test_every_template_declares_choice_lists_its_gates_agree_with(name):
    spec = parse_definition(template_text(name), builtin_fields=builtin_fields())

    assert [c.value for c in spec.field_choices("opportunity", "sector")] == ["public", "private"]
    assert [c.label for c in spec.field_choices("opportunity", "sector")] == [
        "Public sector",
        "Private sector",
    ]
    assert "Customer" in [c.value for c in spec.field_choices("company", "contact_type")]


def test_a_typed_value_is_matched_by_value_or_label_ignoring_case():
    choices = (Choice("public", "Public sector"), Choice("Customer", "Customer"))

    assert match_choice(choices, "  PUBLIC ") == "public"
    assert match_choice(choices, "public SECTOR") == "public"
    assert match_choice(choices, "customer") == "Customer"
    assert match_choice(choices, "custom") is None
    assert choice_label(choices, "public") == "Public sector"
    assert choice_label(choices, "Old value") == "Old value"
    assert allowed_values(choices) == "public (Public sector), Customer"
