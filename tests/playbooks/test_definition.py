"""The playbooks sections of the process definition: shape, checks with line numbers, round trip."""

import pytest

from salesline.accounts.models import Role
from salesline.core.errors import ValidationFailed
from salesline.playbooks.definition import ROLES, message_templates_of, playbooks_of
from salesline.process.definition import dump_definition, template_text
from salesline.process.services import process_parse

BASE = """\
name: Test
pipelines:
  - key: sales
    name: Sales
    stages:
      - {key: new, name: New, probability: 10}
      - {key: qualify, name: Qualify, probability: 30}
      - {key: won, name: Won, kind: won, probability: 100}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ValidationFailed) as raised:
        process_parse(text)
    return [problem.msg for problem in raised.value.problems]


def test_roles_are_the_accounts_roles():
    assert set(ROLES) == set(Role.values)


@pytest.mark.parametrize("name", ["partnerships", "business-development", "network-enquiries"])
def test_templates_parse_and_round_trip(name):
    spec = process_parse(template_text(name))
    assert process_parse(dump_definition(spec)) == spec


def test_partnerships_ships_the_arc():
    spec = process_parse(template_text("partnerships"))
    keys = [p.key for p in playbooks_of(spec)]
    assert keys[:3] == ["hail-the-lead", "prep-first-meeting", "send-draft-contract"]
    assert {"launch", "after-launch", "satisfaction-check-in"} <= set(keys)
    after_launch = next(p for p in playbooks_of(spec) if p.key == "after-launch")
    trigger = after_launch.trigger
    assert (trigger.kind, trigger.playbook, trigger.step) == (
        "task_done",
        "launch",
        "launch-meeting",
    )
    (check_in,) = after_launch.steps
    assert (check_in.key, check_in.params["due_in_working_days"]) == ("first-check-in", 20)
    launch = next(p for p in playbooks_of(spec) if p.key == "launch")
    assert "first-check-in" not in [s.key for s in launch.steps]  # only once the meeting is held
    hail = playbooks_of(spec)[0]
    assert hail.trigger.kind == "stage_entered"
    assert (hail.trigger.pipeline, hail.trigger.stage) == ("partnerships", "lead")
    assert hail.steps[0].action == "message"
    assert hail.steps[0].params["template"] == "hail-the-lead"
    templates = {t.key: t for t in message_templates_of(spec)}
    assert templates["hail-the-lead"].attachments == ("service-description",)
    assert templates["hail-the-lead"].from_email == "partnerships@example.org"


def test_a_playbook_with_each_trigger_form():
    spec = process_parse(
        BASE
        + """\
playbooks:
  - key: a
    name: A
    trigger: lead_created
    steps:
      - {key: t, task: {title: Call the lead, due_in_working_days: 1}}
  - key: b
    name: B
    trigger: {stage_left: {stage: qualify}}
    steps:
      - key: t
        task: {title: "Why did it leave?", queue: sales_support_manager}
  - key: c
    name: C
    trigger: {every: {weeks: 2, after: won, times: 3}}
    steps:
      - {key: agreement, agreement: }
  - key: d
    name: D
    trigger: {date_reached: {field: expected_close_date, days_before: 7}}
    steps:
      - {key: t, task: {title: "{{ opportunity.name }} closes in a week", assignee: owner}}
"""
    )
    a, b, c, d = playbooks_of(spec)
    assert a.trigger.kind == "lead_created" and a.trigger.record == "lead"
    assert b.trigger.stage == "qualify" and b.trigger.pipeline is None
    assert (c.trigger.weeks, c.trigger.after, c.trigger.times) == (2, "won", 3)
    assert c.steps[0].params["billing_frequency"] == "monthly"
    assert d.trigger.describe() == "7 days before expected_close_date"


def test_every_problem_is_named_with_its_line():
    problems = problems_of(
        BASE
        + """\
playbooks:
  - key: Bad Key
    name: A
    trigger: {stage_entered: {pipeline: sales, stage: nowhere}}
    steps:
      - key: t
        task: {title: "Hi {{ contact.nmae }}", queue: bosses, assignee: owner}
      - key: t
        message: {template: x}
        document: {template: y}
  - key: b
    name: B
    trigger: {sometime: {}}
    steps: []
  - key: c
    name: C
    trigger: {every: {months: 0, after: tuesday}}
    steps:
      - {key: g, agreement: {billing_frequency: weekly}}
"""
    )
    joined = "\n".join(problems)
    assert "line 10: playbooks[0].key: playbook key 'Bad Key'" in joined
    assert (
        "line 12: playbooks[0].trigger.stage_entered.stage: pipeline 'sales' has no stage" in joined
    )
    assert "unknown merge field 'contact.nmae'" in joined
    assert "unknown role 'bosses'" in joined
    assert "a task goes to an assignee or to a queue, not both" in joined
    assert "duplicate step key 't'" in joined
    assert "a step does exactly one thing" in joined
    assert "unknown trigger 'sometime'" in joined
    assert "a playbook needs at least one step" in joined
    assert "playbooks[2].trigger.every.months: must be a whole number of at least 1" in joined
    assert "every needs what it counts from" in joined
    assert "billing_frequency: must be monthly, quarterly, annually or once" in joined


def test_message_templates_are_checked_when_the_definition_is_loaded():
    problems = problems_of(
        BASE
        + """\
message_templates:
  - key: hello
    name: Hello
    subject: "Hello {{ contact.nickname }}"
    body: "{% load evil %}"
playbooks:
  - key: a
    name: A
    trigger: {stage_entered: {stage: new}}
    steps:
      - {key: m, message: {template: goodbye}}
"""
    )
    joined = "\n".join(problems)
    assert "line 12: message_templates[0].subject: unknown merge field 'contact.nickname'" in joined
    assert "message_templates[0].body: the tag" in joined and "load" in joined
    assert "unknown message template 'goodbye' (this file declares hello)" in joined


def test_a_date_trigger_needs_a_date_field():
    problems = problems_of(
        BASE
        + """\
playbooks:
  - key: a
    name: A
    trigger: {date_reached: {field: name}}
    steps:
      - {key: t, task: {title: T}}
"""
    )
    assert any("date_reached needs an opportunity date field" in p for p in problems)


TASK_DONE = (
    BASE
    + """\
playbooks:
  - key: launch
    name: Launch
    trigger: {stage_entered: {stage: won}}
    steps:
      - {key: hello, document: {template: running-notes}}
      - {key: meet, task: {title: Hold the launch meeting}}
  - key: after
    name: After
    trigger: {task_done: {playbook: %s, step: %s}}
    steps:
      - {key: check-in, task: {title: Check in, assignee: owner, due_in_working_days: 20}}
"""
)


def test_a_task_done_trigger_names_a_task_step_of_a_playbook():
    spec = process_parse(TASK_DONE % ("launch", "meet"))
    after = playbooks_of(spec)[1]
    assert (after.trigger.kind, after.trigger.playbook, after.trigger.step) == (
        "task_done",
        "launch",
        "meet",
    )
    assert after.trigger.describe() == "completing the task of launch/meet"
    assert process_parse(dump_definition(spec)) == spec


@pytest.mark.parametrize(
    ("playbook", "step", "problem"),
    [
        (
            "lunch",
            "meet",
            "line 18: playbooks[1].trigger.task_done.playbook: unknown playbook 'lunch' "
            "(this file has after or launch)",
        ),
        (
            "launch",
            "greet",
            "line 18: playbooks[1].trigger.task_done.step: playbook 'launch' has no step 'greet' "
            "(it has hello or meet)",
        ),
        (
            "launch",
            "hello",
            "line 18: playbooks[1].trigger.task_done.step: step 'hello' of playbook 'launch' "
            "makes no task, so it is never done (its task steps: meet)",
        ),
    ],
)
def test_a_task_done_trigger_naming_no_task_step_is_refused_with_its_line(playbook, step, problem):
    assert problems_of(TASK_DONE % (playbook, step)) == [problem]


def test_a_task_done_trigger_needs_its_playbook_and_step():
    problems = problems_of(
        BASE
        + """\
playbooks:
  - key: a
    name: A
    trigger: task_done
    steps:
      - {key: t, task: {title: T}}
  - key: b
    name: B
    trigger: {task_done: {playbook: a, step: t, stage: new}}
    steps:
      - {key: t, task: {title: T}}
"""
    )
    joined = "\n".join(problems)
    assert "line 12: playbooks[0].trigger.task_done: task_done needs the playbook and its task" in (
        joined
    )
    assert "unknown key 'stage' for task_done (use playbook or step)" in joined


def test_a_task_done_after_a_lead_playbook_makes_no_agreement():
    problems = problems_of(
        BASE
        + """\
playbooks:
  - key: a
    name: A
    trigger: lead_created
    steps:
      - {key: t, task: {title: Call the lead}}
  - key: b
    name: B
    trigger: {task_done: {playbook: a, step: t}}
    steps:
      - {key: g, agreement: }
"""
    )
    assert any("an agreement needs an opportunity: a lead has none" in p for p in problems)


def test_an_assignee_is_a_user_field_of_the_record_and_owner_is_the_only_one():
    problems = problems_of(
        BASE
        + """\
playbooks:
  - key: a
    name: A
    trigger: {stage_entered: {stage: new}}
    steps:
      - {key: t, task: {title: T, assignee: created_by}}
"""
    )
    assert problems == [
        "line 14: playbooks[0].steps[0].task.assignee: unknown assignee field 'created_by': the "
        "assignee is a user-valued field of the record, and leads and opportunities have one, "
        "owner (or give a queue: a role)"
    ]
