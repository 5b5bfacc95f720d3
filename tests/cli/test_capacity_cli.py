"""`salesline capacity plan FILE [--json]`: the contract's answer from a YAML or JSON plan file,
a readable table without --json, and every refusal named (exit 1; usage errors exit 2)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from salesline import cli
from tests.capacity.test_resourcing import CONTRACT_PLAN, ILLUSTRATION

#: The contract's sample, as the issue writes it (comments and all).
CONTRACT_YAML = """\
currency: EUR
capacity_per_salesperson: 20        # business-development meetings a week, default 20
current:
  salespeople: 10
  meetings_per_salesperson: 2       # measured weekly average
incremental:                        # readily-achievable extra meetings a week
  existing_accounts: 0
  neglected_opportunities: 0
project_share: 0.0                  # share of opportunities that become projects (0 = simple)
project_half_days: 0                # project-leader half-days per project
customer_service:
  tasks_per_week: 0                 # former salesperson tasks + orders + updates
  minutes_per_task: 0
  target_utilisation: 0.8
language_regions: 1
support_locations: 1
salaries:                           # yearly, per role key
  salesperson: 120000
  sales_coordinator: 50000
  project_leader: 100000
  customer_service: 45000
  promotions_coordinator: 60000
  sales_support_manager: 80000
  sales_manager: 130000
before:                             # today's headcount per role key (payroll before)
  salesperson: 10
  sales_manager: 2
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_prints_exactly_the_contracts_answer(capsys, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(CONTRACT_YAML)

    code, out, err = run(capsys, "capacity", "plan", str(path), "--json")

    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "roles": {
            "salesperson": 1,
            "sales_coordinator": 1,
            "project_leader": 0,
            "customer_service": 0,
            "promotions_coordinator": 1,
            "sales_support_manager": 1,
            "sales_manager": 0,
        },
        "meetings_per_week": {"before": 20, "after": 20},
        "payroll": {"before": 1460000, "after": 310000, "delta": -1150000},
        "warnings": [],
    }


def test_a_json_file_gives_the_same_answer(capsys, tmp_path):
    yaml_path, json_path = tmp_path / "plan.yml", tmp_path / "plan.json"
    yaml_path.write_text(CONTRACT_YAML)
    json_path.write_text(json.dumps(CONTRACT_PLAN))

    assert run(capsys, "capacity", "plan", str(json_path), "--json") == run(
        capsys, "capacity", "plan", str(yaml_path), "--json"
    )


def test_stdin_is_read_for_a_dash(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(ILLUSTRATION)))

    code, out, _ = run(capsys, "capacity", "plan", "-", "--json")

    assert code == 0
    assert json.loads(out)["payroll"]["delta"] == -310000


def test_the_table_shows_roles_meetings_payroll_verdict_and_warnings(capsys, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({**ILLUSTRATION, "before": {"salesperson": 1}}))

    code, out, err = run(capsys, "capacity", "plan", str(path))

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Roles and yearly payroll (EUR)"
    salespeople = next(line for line in lines if line.startswith("Field salespeople"))
    assert salespeople.split() == ["Field", "salespeople", "1", "2", "100,000", "100,000",
                                   "200,000", "+100,000"]  # fmt: skip
    assert next(line for line in lines if line.startswith("Project leaders")).split()[2:4] == [
        "0",
        "4",
    ]
    assert "Business-development meetings a week: 20 before, 40 after" in lines
    assert "Payroll: 100,000 EUR before, 1,240,000 EUR after, delta +1,140,000 EUR" in lines
    assert "Verdict: payroll +1,140,000 EUR, business-development capacity ×2" in lines
    assert any(
        line.startswith("  [expenses_increase] Payroll rises by 1,140,000 EUR") for line in lines
    )


def test_no_warnings_says_so(capsys, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(ILLUSTRATION))

    _, out, _ = run(capsys, "capacity", "plan", str(path))

    assert "Verdict: payroll −310,000 EUR, business-development capacity ×2" in out
    assert out.rstrip().endswith("Warnings: none")


def test_bad_keys_are_each_named_and_exit_1(capsys, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("bogus: 1\ncurrent:\n  salespeeple: 3\nsalaries:\n  ceo: 1\nproject_share: 2\n")

    code, out, err = run(capsys, "capacity", "plan", str(path), "--json")

    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0].startswith(f"error: the plan file '{path}' is refused")
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "bogus",
        "current.salespeeple",
        "project_share",
        "salaries.ceo",
    ]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.yaml", "current: [1\n", "is not valid YAML: expected ',' or ']'"),
        ("bad.json", '{"current": ', "is not valid JSON: Expecting value (line 1, column 13)"),
        ("list.yaml", "- 1\n- 2\n", "a plan must be a mapping of keys to values"),
        ("empty.yaml", "", "a plan must be a mapping of keys to values"),
        ("huge.json", '{"project_share": ' + "9" * 5000 + "}", "is refused: Exceeds the limit"),
        ("huge.yaml", "project_share: " + "9" * 5000, "is refused: Exceeds the limit"),
        ("deep.json", "[" * 100000 + "]" * 100000, "is refused: maximum recursion depth"),
    ],
)
def test_a_malformed_file_is_a_clear_message_and_exit_1(capsys, tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)

    code, out, err = run(capsys, "capacity", "plan", str(path))

    assert (code, out) == (1, "")
    assert message in err
    assert "Traceback" not in err


def test_a_missing_file_exits_1_naming_it(capsys, tmp_path):
    code, _, err = run(capsys, "capacity", "plan", str(tmp_path / "nowhere.yaml"))

    assert code == 1
    assert (
        err.strip()
        == f"error: Cannot read '{tmp_path / 'nowhere.yaml'}': No such file or directory."
    )


def test_usage(capsys):
    with pytest.raises(SystemExit) as usage:
        cli.main(["capacity", "plan"])
    assert usage.value.code == 2
    assert "required: FILE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as helped:
        cli.main(["capacity", "plan", "--help"])
    assert helped.value.code == 0
    assert capsys.readouterr().out.startswith("usage: salesline capacity plan")


# ---------------------------------------------------------------- docs/capacity.md stays true

DOCS = Path(__file__).resolve().parents[2] / "docs" / "capacity.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)


def test_the_documented_plan_file_answers_as_documented(capsys, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(_blocks("yaml")[0])

    code, out, _ = run(capsys, "capacity", "plan", str(path), "--json")

    assert code == 0
    assert json.loads(out) == json.loads(_blocks("json")[0])


def test_the_documented_table_is_what_the_command_prints(capsys, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(_blocks("yaml")[0])
    example = next(b for b in _blocks("text") if b.startswith("$ salesline capacity plan plan"))

    _, out, _ = run(capsys, "capacity", "plan", str(path))

    assert out == example.split("\n", 1)[1]


def test_every_warning_rule_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    source = (Path(cli.__file__).parent / "capacity" / "resourcing.py").read_text()
    rules = set(re.findall(r'PlanWarning\(\s*"([a-z_]+)"', source))

    assert len(rules) >= 9
    assert {rule for rule in rules if f"| `{rule}` |" not in text} == set()


def test_the_simulator_sections_are_checked_too(capsys, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(
        "project_share: 2\n"
        "simulation:\n  pace: 1\n  stages: [{name: Q, conversion: 0.5, meetings: 1.5}]\n"
        "scenarios:\n  - {name: a, roles: {wizard: 1}}\n"
    )

    code, out, err = run(capsys, "capacity", "plan", str(path))

    assert (code, out) == (1, "")
    assert [line.split(":")[0].strip() for line in err.splitlines()[1:]] == [
        "project_share",
        "simulation.pace",
        "simulation.stages.0.meetings",
        "scenarios.0.roles.wizard",
    ]
