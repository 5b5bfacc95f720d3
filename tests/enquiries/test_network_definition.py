"""The `network` section of the process definition: the shipped template, and every problem
named with its line."""

import pytest

from salesline.core.errors import ValidationFailed
from salesline.enquiries.network_rules import rules_for
from salesline.enquiries.rules import CATEGORIES, NetworkRules
from salesline.process.definition import (
    dump_definition,
    spec_from_dict,
    spec_to_dict,
    template_text,
)
from salesline.process.services import process_parse


def _network_rules(text: str) -> NetworkRules:
    return process_parse(text).section("network")


def test_the_template_ships_every_category_with_guidance_checklist_questions_and_replies():
    rules = _network_rules(template_text("network-enquiries"))
    assert [category.key for category in rules.triage] == list(CATEGORIES)
    for category in rules.triage:
        assert category.guidance.strip(), category.key
        assert category.checklist, category.key
        assert category.questions, category.key
        assert category.replies, category.key
        assert category.reply(category.suggested_reply) is not None, category.key
    sales = rules.category("sales")
    assert sales.reply(rules.sales.decline_reply) is not None
    assert "no thanks" in sales.reply("decline").body
    joining = rules.category("joining")
    assert "International Co-operative Alliance" in joining.reply("signpost").body
    assert "forum" in rules.category("jobs").reply("forum_invite").body
    assert "forum" in rules.category("research").reply("forum_invite").body
    assert rules.membership.countries == ("GB",)
    assert rules.membership.ask_members_about_ineligible
    for tool in ("chat", "forum", "wiki", "next network meeting"):
        assert tool in rules.membership.onboarding_body
    assert rules.first_response_working_days == 2
    assert rules.rota_period_months == 3


def test_the_section_survives_json_and_the_yaml_dump():
    spec = process_parse(template_text("network-enquiries"))
    assert spec_from_dict(spec_to_dict(spec)).section("network") == spec.section("network")
    assert process_parse(dump_definition(spec)).section("network") == spec.section("network")


def test_rules_for_a_network_are_its_books_definition(world):
    rules = rules_for(world.network)
    assert rules.category("sales").name == "Sales enquiry"
    assert rules.sales.value_per_staff == 1000


BAD = """\
name: Bad network
network:
  first_response_working_days: 0
  holiday_country: gb
  acknowledgement:
    subject: "Hello {{ nmae }}"
    body: "Dear {{ name }}"
  triage:
    - key: sales
      name: Sales
      checklist:
        - {key: a, label: One}
        - {key: a, label: Two}
      replies:
        - {key: decline, subject: "No", body: "Sorry {{ budget }}"}
      suggested_reply: nope
    - key: gossip
      name: Gossip
    - key: sales
      name: Sales again
  sales:
    required_answers: [budget, colour]
    decline_reply: missing
  membership:
    countries: [UK, GB, Denmark]
    majority: 1.5
    counted_against: everyone
    ineligible_reply: nowhere
pipelines:
  - key: p
    name: P
    stages: [{key: a, name: A, probability: 10}]
"""


def test_every_problem_is_named_with_its_line():
    with pytest.raises(ValidationFailed) as failed:
        process_parse(BAD)
    messages = [problem.msg for problem in failed.value.problems]
    expected = [
        ("line 3: network.first_response_working_days", "between 1 and 60"),
        ("line 4: network.holiday_country", "not a two-letter ISO country code"),
        ("line 6: network.acknowledgement.subject", "unknown field '{{ nmae }}'"),
        ("line 13: network.triage[0].checklist[1].key", "duplicate checklist key 'a'"),
        ("line 15: network.triage[0].replies[0].body", "unknown field '{{ budget }}'"),
        ("line 16: network.triage[0].suggested_reply", "no reply 'nope'"),
        ("line 17: network.triage[1].key", "unknown category 'gossip'"),
        ("line 19: network.triage[2].key", "duplicate category 'sales'"),
        ("line 22: network.sales.required_answers[1]", "unknown answer 'colour'"),
        ("line 23: network.sales.decline_reply", "no reply 'missing'"),
        ("line 25: network.membership.countries[0]", "'UK'"),
        ("line 25: network.membership.countries[2]", "'Denmark'"),
        ("line 26: network.membership.majority", "below 1"),
        ("line 27: network.membership.counted_against", "unknown 'everyone'"),
        ("line 28: network.membership.ineligible_reply", "no reply 'nowhere'"),
    ]
    for where, what in expected:
        assert any(m.startswith(where) and what in m for m in messages), (where, messages)
    assert len(messages) == len(expected), messages


MINIMAL = (
    "name: X\npipelines:\n  - {key: p, name: P, stages: [{key: a, name: A, probability: 10}]}\n"
)


def test_an_unknown_key_in_the_section_is_refused():
    with pytest.raises(ValidationFailed) as failed:
        process_parse(MINIMAL + "network:\n  rota_months: 3\n")
    assert [p.msg for p in failed.value.problems] == [
        "line 5: network.rota_months: unknown key 'rota_months'"
    ]


def test_without_the_section_the_defaults_apply():
    spec = process_parse(MINIMAL)
    assert spec.section("network", None) in (None, NetworkRules())


def test_an_edited_definition_changes_the_rules_in_force(world):
    from salesline.accounts.services import system_actor
    from tests.conftest import edit_definition

    books = system_actor(world.network.organisation)
    assert rules_for(world.network).first_response_working_days == 2

    def edit(document):
        document["network"]["first_response_working_days"] = 5
        document["network"]["sales"]["value_per_staff"] = 750

    edit_definition(books, edit)
    rules = rules_for(world.network)
    assert rules.first_response_working_days == 5
    assert rules.sales.value_per_staff == 750
