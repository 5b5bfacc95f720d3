"""`salesline simulate FILE`: the text table, the contract's JSON, errors naming keys."""

import json

import pytest

from salesline import cli

PLAN = """
current: {salespeople: 10, meetings_per_salesperson: 2}
incremental: {existing_accounts: 10, neglected_opportunities: 10}
customer_service: {tasks_per_week: 120, minutes_per_task: 15}
before: {salesperson: 10, sales_manager: 2}
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    return path


def test_json_is_the_contract_and_reproducible(capsys, plan_file):
    argv = (
        "simulate", str(plan_file), "--weeks", "8", "--replications", "3", "--seed", "5",
        "--processes", "1", "--json",
    )  # fmt: skip
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    answer = json.loads(out)
    assert [s["name"] for s in answer["scenarios"]] == ["today", "plan"]
    for scenario in answer["scenarios"]:
        assert set(scenario) >= {
            "name", "utilisation", "meetings_per_week", "won_per_week", "constraint",
        }  # fmt: skip
        for figure in scenario["utilisation"].values():
            assert set(figure) == {"mean", "low", "high"}
            assert 0 <= figure["low"] <= figure["mean"] <= figure["high"] <= 1
    assert answer["scenarios"][0]["constraint"] == "salesperson"
    again = run(capsys, *argv)
    assert json.loads(again[1]) == answer


def test_text_table(capsys, plan_file):
    code, out, _ = run(
        capsys, "simulate", str(plan_file), "--weeks", "6", "--replications", "2",
        "--processes", "1",
    )  # fmt: skip
    assert code == 0
    assert "6 weeks, 2 replications, seed 0" in out
    assert "== today (field salespeople 10, sales manager 2)" in out
    assert "== plan (" in out
    assert "Constraint: field salespeople" in out
    assert "Customer service" in out.split("== plan")[1]


def test_bad_sections_name_their_keys(capsys, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(
        json.dumps(
            {
                "current": {"salespeople": 2},
                "simulation": {"stages": [{"name": "Qualify", "conversion": 2}], "pace": 1},
                "scenarios": [{"name": "x", "roles": {"wizard": 1}}],
                "colour": "blue",
            }
        )
    )
    code, out, err = run(capsys, "simulate", str(path))
    assert code == 1 and out == ""
    assert "colour: unknown key" in err
    # The plan's own keys first; the simulator's sections once the plan parses.
    path.write_text(
        json.dumps(
            {
                "current": {"salespeople": 2},
                "simulation": {"stages": [{"name": "Qualify", "conversion": 2}], "pace": 1},
                "scenarios": [{"name": "x", "roles": {"wizard": 1}}],
            }
        )
    )
    code, out, err = run(capsys, "simulate", str(path))
    assert code == 1
    for key in ("simulation.stages.0.conversion", "simulation.pace", "scenarios.0.roles.wizard"):
        assert f"  {key}: " in err


def test_unreadable_files(capsys, tmp_path):
    code, _, err = run(capsys, "simulate", str(tmp_path / "missing.yaml"))
    assert code == 1 and "Cannot read" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("current: [1, 2\n")
    code, _, err = run(capsys, "simulate", str(broken))
    assert code == 1 and "is not valid YAML" in err
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    code, _, err = run(capsys, "simulate", str(listed))
    assert code == 1 and "a plan must be a mapping" in err


@pytest.mark.parametrize(
    ("option", "value"), [("--weeks", "0"), ("--replications", "x"), ("--seed", "-1")]
)
def test_bad_options_are_usage_errors(capsys, plan_file, option, value):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["simulate", str(plan_file), option, value])
    assert exit_info.value.code == 2
    assert option in capsys.readouterr().err


def test_weeks_beyond_the_limit_named(capsys, plan_file):
    code, _, err = run(capsys, "simulate", str(plan_file), "--weeks", "100000")
    assert code == 1
    assert "weeks: must be a whole number from 1 to 520" in err


def test_text_table_names_a_sales_support_constraint(capsys, tmp_path):
    path = tmp_path / "support.yaml"
    path.write_text(
        "current: {salespeople: 4, meetings_per_salesperson: 4}\n"
        "customer_service: {tasks_per_week: 240, minutes_per_task: 15}\n"
        "simulation: {arrivals_per_week: {promotions: 40}}\n"
        "scenarios: [{name: short, roles: {salesperson: 4, customer_service: 1}}]\n"
    )
    code, out, _ = run(
        capsys, "simulate", str(path), "--weeks", "8", "--replications", "2",
        "--processes", "1",
    )  # fmt: skip
    assert code == 0
    assert "Constraint: customer service" in out
    assert "Warning [sales_support_constraint]: " in out
    assert "sales support must never become the constraint" in out
