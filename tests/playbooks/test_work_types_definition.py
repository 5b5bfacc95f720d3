"""The `work_types` section: shape, checks with line numbers, round trip, the templates'."""

import pytest

from salesline.core.errors import ValidationFailed
from salesline.playbooks.work_types import work_types_of
from salesline.process.definition import dump_definition, template_text
from salesline.process.services import process_parse

BASE = """\
name: Test
pipelines:
  - key: sales
    name: Sales
    stages:
      - {key: new, name: New, probability: 10}
      - {key: won, name: Won, kind: won, probability: 100}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ValidationFailed) as raised:
        process_parse(text)
    return [problem.msg for problem in raised.value.problems]


@pytest.mark.parametrize("name", ["partnerships", "business-development", "network-enquiries"])
def test_templates_ship_work_types_and_round_trip(name):
    spec = process_parse(template_text(name))
    types = work_types_of(spec)
    assert types, "every template ships customer-service work types"
    for work_type in types.values():
        assert work_type.workflow and work_type.queue
    assert process_parse(dump_definition(spec)) == spec


def test_a_work_type_is_read():
    spec = process_parse(
        BASE
        + """\
work_types:
  order:
    name: Order
    queue: customer_service
    workflow: [received, confirmed, shipped, invoiced]
    checklist: [Credit checked]
    tolerance_days: 1
"""
    )
    order = work_types_of(spec)["order"]
    assert order.workflow == ("received", "confirmed", "shipped", "invoiced")
    assert order.checklist == ("Credit checked",)
    assert (order.name, order.queue, order.tolerance_days) == ("Order", "customer_service", 1)


def test_every_problem_is_named_with_its_line():
    problems = problems_of(
        BASE
        + """\
work_types:
  Bad Key:
    name: A
    queue: customer_service
    workflow: [a]
  order:
    name: " "
    queue: warehouse
    workflow: []
    checklist: [x, x]
    tolerance_days: 400
  rfq:
    name: RFQ
    queue: inside_sales
    workflow: [a]
    colour: red
"""
    )
    joined = "\n".join(problems)
    assert "line 9: work_types.Bad Key: work type key 'Bad Key'" in joined
    assert "line 14: work_types.order.name: must not be blank" in joined
    assert "line 15: work_types.order.queue: unknown queue 'warehouse'" in joined
    assert "line 16: work_types.order.workflow: a work type needs at least one workflow" in joined
    assert "'x' is listed twice" in joined
    assert "line 18: work_types.order.tolerance_days: must be a whole number from 0 to 365" in (
        joined
    )
    assert "colour" in joined
