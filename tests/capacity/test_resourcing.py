"""The resourcing arithmetic on the chapter's own numbers (seed 004, "Resourcing" and "The
economics"), every warning rule, every refused key, and properties that hold for any plan."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesline.capacity.resourcing import (
    DEFAULT_STAGES,
    ROLES,
    PlanInvalid,
    evaluate,
    funnel,
    parse_plan,
    plan_answer,
    plan_funnel,
)

#: The contract's sample plan file, as the issue writes it.
CONTRACT_PLAN = {
    "currency": "EUR",
    "capacity_per_salesperson": 20,
    "current": {"salespeople": 10, "meetings_per_salesperson": 2},
    "incremental": {"existing_accounts": 0, "neglected_opportunities": 0},
    "project_share": 0.0,
    "project_half_days": 0,
    "customer_service": {"tasks_per_week": 0, "minutes_per_task": 0, "target_utilisation": 0.8},
    "language_regions": 1,
    "support_locations": 1,
    "salaries": {
        "salesperson": 120000,
        "sales_coordinator": 50000,
        "project_leader": 100000,
        "customer_service": 45000,
        "promotions_coordinator": 60000,
        "sales_support_manager": 80000,
        "sales_manager": 130000,
    },
    "before": {"salesperson": 10, "sales_manager": 2},
}

#: Built like the chapter's illustration: the field team to one-fifth, a coordinator each, two
#: project leaders per salesperson, customer service +60 % (5 -> 8), a promotions coordinator
#: and a sales-support manager added; capacity doubles and payroll falls by 310k.
#: Project leaders: 2 salespeople x 20 = 40 meetings a week / 1.75 meetings per opportunity
#: (the default stages) = 22.86 opportunities x 0.1 becoming projects (under the 0.15 win rate)
#: = 2.286 projects x 12 half-days = 27.43 half-days / (10 x 0.8) = 3.43 -> 4.
ILLUSTRATION = {
    "currency": "EUR",
    "current": {"salespeople": 10, "meetings_per_salesperson": 2},
    "incremental": {"existing_accounts": 10, "neglected_opportunities": 10},
    "project_share": 0.1,
    "project_half_days": 12,
    "customer_service": {"tasks_per_week": 480, "minutes_per_task": 30},
    "salaries": {
        "salesperson": 100000,
        "sales_coordinator": 50000,
        "project_leader": 100000,
        "customer_service": 50000,
        "promotions_coordinator": 60000,
        "sales_support_manager": 80000,
        "sales_manager": 150000,
    },
    "before": {"salesperson": 10, "sales_manager": 2, "customer_service": 5},
}


def result_of(**overrides):
    return evaluate(parse_plan({**CONTRACT_PLAN, **overrides}))


def rules(result) -> list[str]:
    return [w.rule for w in result.warnings]


def team(salespeople: int, meetings: float, **incremental) -> dict:
    return {
        **CONTRACT_PLAN,
        "current": {"salespeople": salespeople, "meetings_per_salesperson": meetings},
        "incremental": incremental,
    }


# ---------------------------------------------------------------- the chapter's numbers


def test_ten_salespeople_at_two_a_week_need_one_salesperson_and_one_coordinator():
    result = evaluate(parse_plan(team(10, 2)))

    assert result.roles["salesperson"] == 1
    assert result.roles["sales_coordinator"] == 1
    assert result.meetings_before == 20
    assert result.meetings_after == 20


def test_twenty_more_a_week_need_two_salespeople_and_two_coordinators():
    result = evaluate(parse_plan(team(10, 2, existing_accounts=12, neglected_opportunities=8)))

    assert result.roles["salesperson"] == 2
    assert result.roles["sales_coordinator"] == 2
    assert result.meetings_after == 40


def test_the_contract_sample_answers_exactly():
    assert plan_answer(CONTRACT_PLAN) == {
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
    # Whole figures are written as integers, and the answer is plain JSON.
    assert json.loads(json.dumps(plan_answer(CONTRACT_PLAN))) == plan_answer(CONTRACT_PLAN)


@pytest.mark.parametrize(
    ("volume", "salespeople", "sales_manager"),
    [(20, 1, 0), (21, 2, 0), (40, 2, 0), (41, 3, 1), (60, 3, 1), (100, 5, 1)],
)
def test_a_dedicated_sales_manager_only_for_a_field_team_of_more_than_two(
    volume, salespeople, sales_manager
):
    result = evaluate(parse_plan(team(1, volume)))

    assert result.roles["salesperson"] == salespeople
    assert result.roles["sales_coordinator"] == salespeople
    assert result.roles["sales_manager"] == sales_manager
    step = next(s for s in result.steps if s.key == "sales_manager")
    assert step.figure == sales_manager
    assert ("combine sales and sales-support management" in step.explanation) is (
        sales_manager == 0
    )


def test_the_capacity_per_salesperson_is_the_divisor():
    result = result_of(capacity_per_salesperson=10)

    assert result.roles["salesperson"] == 2
    assert result.meetings_after == 20
    assert "ceil((20 + 0) ÷ 10 a week each) = 2" in next(
        s.explanation for s in result.steps if s.key == "salespeople"
    )


def test_an_empty_currency_is_the_default():
    assert parse_plan({"currency": None}).currency == "EUR"
    assert parse_plan({"currency": "nok"}).currency == "NOK"


def test_capacity_defaults_to_twenty():
    plan = {k: v for k, v in CONTRACT_PLAN.items() if k != "capacity_per_salesperson"}
    assert parse_plan(plan).capacity_per_salesperson == 20
    twenty_one = parse_plan({"current": {"salespeople": 3, "meetings_per_salesperson": 7}})
    assert evaluate(twenty_one).roles["salesperson"] == 2


def test_sensitivity_shows_the_chapters_one_and_two():
    rows = evaluate(parse_plan(team(10, 2))).sensitivity

    by_increment = {row.incremental_per_week: row.salespeople for row in rows}
    assert by_increment[0] == 1
    assert by_increment[20] == 2
    assert [row.planned for row in rows].count(True) == 1
    assert next(row for row in rows if row.planned).incremental_per_week == 0


# ---------------------------------------------------------------- project leaders


def test_project_leaders_from_share_and_half_days_with_the_contention_allowance():
    # One salesperson at 20 a week / 1.75 meetings per opportunity = 11.43 opportunities a
    # week; 14 % (under the 15 % won) become projects = 1.6 projects x 20 half-days = 32
    # half-days a week; a project leader gives 10 a week planned at 80 %: 8 each, so 4 (the
    # chapter's 4:1).
    result = result_of(project_share=0.14, project_half_days=20)

    assert result.roles["project_leader"] == 4
    assert result.project_half_days_per_week == 32
    assert result.project_leader_ratio == 4
    assert "project_leader_ratio" not in rules(result)
    assert "project_share_above_win_rate" not in rules(result)


def test_a_project_leader_is_never_planned_at_full_utilisation():
    # Exactly one project leader's week needs two once contention is allowed for: 20 meetings
    # / 1.75 = 11.43 opportunities x 0.125 = 1.43 projects x 7 half-days = 10 half-days a week;
    # 10 / (10 x 0.8) = 1.25 -> 2 (at full utilisation it would be 10 / 10 = 1).
    result = result_of(project_share=0.125, project_half_days=7)

    assert result.project_half_days_per_week == 10
    assert result.roles["project_leader"] == 2


def test_a_simple_environment_has_no_project_leaders():
    result = result_of(project_share=0, project_half_days=12)

    assert result.roles["project_leader"] == 0
    assert "simple environment" in next(
        s.explanation for s in result.steps if s.key == "project_leaders"
    )


def test_project_leaders_are_sized_for_the_field_team_at_full_capacity():
    # 21 a week needs 2 salespeople who can hold 40: support must keep up with 40, not 21.
    # 40 / 1.75 = 22.86 opportunities x 0.1 = 2.286 projects x 4 half-days = 9.14 half-days
    # / 8 = 1.14 -> 2; sized for 21 it would be 21 / 1.75 = 12 x 0.1 x 4 = 4.8 / 8 -> 1.
    result = evaluate(parse_plan({**team(1, 21), "project_share": 0.1, "project_half_days": 4}))

    assert result.project_half_days_per_week == pytest.approx(64 / 7)  # 40 / 1.75 x 0.1 x 4
    assert result.roles["project_leader"] == 2


def test_a_project_share_above_the_win_rate_is_planned_at_the_win_rate_and_warned():
    # Only won deals become projects: 20 % of opportunities is more than the 15 % the default
    # stages win, so 20 / 1.75 = 11.43 opportunities x 0.15 = 1.714 projects x 8 half-days =
    # 13.71 half-days / 8 = 1.71 -> 2 project leaders (at 20 % it would be 18.29 / 8 -> 3).
    result = result_of(project_share=0.2, project_half_days=8)

    assert result.project_half_days_per_week == pytest.approx(96 / 7)  # 20 / 1.75 x 0.15 x 8
    assert result.roles["project_leader"] == 2
    warning = next(w for w in result.warnings if w.rule == "project_share_above_win_rate")
    assert warning.message.startswith("0.2 of opportunities becoming projects is more than the")
    assert "the plan uses 0.15" in warning.message
    step = next(s for s in result.steps if s.key == "project_leaders")
    assert "× 0.15 becoming projects" in step.explanation
    # At the win rate itself nothing is capped and nothing is warned.
    at_rate = result_of(project_share=0.15, project_half_days=8)
    assert at_rate.roles["project_leader"] == 2
    assert "project_share_above_win_rate" not in rules(at_rate)


def test_the_share_is_compared_with_the_plans_own_stages():
    # One stage converting 30 % with 2 meetings: 20 / 2 = 10 opportunities a week, 30 % won,
    # so 0.2 is allowed: 10 x 0.2 = 2 projects x 8 half-days = 16 / 8 = 2 project leaders.
    stages = [{"name": "Only", "conversion": 0.3, "days": 5, "meetings": 2}]
    result = result_of(project_share=0.2, project_half_days=8, simulation={"stages": stages})

    assert result.project_half_days_per_week == pytest.approx(16)
    assert result.roles["project_leader"] == 2
    assert "project_share_above_win_rate" not in rules(result)
    assert "20 meetings a week (the field team at full capacity) ÷ 2 meetings per opportunity" in (
        next(s.explanation for s in result.steps if s.key == "project_leaders")
    )


def test_a_share_equal_to_the_win_rate_is_not_warned_whatever_the_floating_point():
    # 0.1 x 0.3 x 0.7 is 0.020999999999999998 in floating point: a share of 0.021 is the win
    # rate, not above it. Meetings per opportunity 1 + 0.1 + 0.1 x 0.3 = 1.13: 20 / 1.13 =
    # 17.70 opportunities x 0.021 = 0.372 projects x 20 half-days = 7.43 / 8 -> 1 leader.
    stages = [{"conversion": c} for c in (0.1, 0.3, 0.7)]
    assert 0.1 * 0.3 * 0.7 < 0.021  # the floating-point product this test is about
    result = result_of(project_share=0.021, project_half_days=20, simulation={"stages": stages})

    assert "project_share_above_win_rate" not in rules(result)
    assert result.project_half_days_per_week == pytest.approx(20 / 1.13 * 0.021 * 20)
    assert result.roles["project_leader"] == 1
    assert "project_share_above_win_rate" in rules(
        result_of(project_share=0.022, project_half_days=20, simulation={"stages": stages})
    )


def test_the_funnel_counts_each_stages_meetings_with_the_chance_of_reaching_it():
    # Default stages: 1 + 0.5 x 1 + 0.5 x 0.5 x 1 = 1.75 meetings; 0.5 x 0.5 x 0.6 = 0.15 won.
    default = [(stage["conversion"], stage["meetings"]) for stage in DEFAULT_STAGES]
    assert funnel(default) == pytest.approx((1.75, 0.15))
    # 2 + 0.4 x 3 + 0.4 x 0.5 x 0 = 3.2 meetings; 0.4 x 0.5 x 1 = 0.2 won.
    assert funnel([(0.4, 2), (0.5, 3), (1.0, 0)]) == pytest.approx((3.2, 0.2))
    assert funnel([]) == (0.0, 1.0)


def test_the_plans_stages_or_the_defaults():
    assert plan_funnel({}) == pytest.approx((1.75, 0.15))
    given = {"stages": [{"conversion": 0.8, "meetings": 2}, {"conversion": 0.25}]}
    assert plan_funnel(given) == pytest.approx((2 + 0.8 * 1, 0.2))  # meetings default to 1


@pytest.mark.parametrize(
    "simulation",
    [
        {"stages": []},
        {"stages": "Qualify"},
        {"stages": [{"conversion": 0.5}, "Propose"]},
        {"stages": [{"conversion": 1.5}]},
        {"stages": [{"conversion": True}]},
        {"stages": [{"meetings": 2}]},
        {"stages": [{"conversion": 0.5, "meetings": 1.5}]},
        {"stages": [{"conversion": 0.5, "meetings": 11}]},
        {"stages": [{"conversion": 0.5, "meetings": -1}]},
        [("stages", 1)],
    ],
)
def test_bad_stages_fall_back_to_the_defaults(simulation):
    # The simulator names these problems; the planner still answers, on the default funnel.
    assert plan_funnel(simulation) == pytest.approx((1.75, 0.15))


def test_one_project_leader_per_salesperson_or_fewer_is_warned():
    result = result_of(project_share=0.05, project_half_days=4)

    assert result.roles["project_leader"] == 1
    assert "project_leader_ratio" in rules(result)


# ---------------------------------------------------------------- sales support


@pytest.mark.parametrize(
    ("tasks", "minutes", "utilisation", "representatives"),
    [
        (300, 6, 0.8, 1),  # 30 hours = one representative's 37.5 at 80 %
        (301, 6, 0.8, 2),
        (300, 6, 0.5, 2),  # 30 hours over 18.75
        (0, 10, 0.8, 0),
        (1500, 12, 0.8, 10),  # 300 hours
    ],
)
def test_customer_service_at_the_target_utilisation(tasks, minutes, utilisation, representatives):
    result = result_of(
        customer_service={
            "tasks_per_week": tasks,
            "minutes_per_task": minutes,
            "target_utilisation": utilisation,
        }
    )

    assert result.roles["customer_service"] == representatives
    assert result.service_hours_per_week == pytest.approx(tasks * minutes / 60)


def test_target_utilisation_defaults_to_eighty_percent():
    plan = parse_plan({"customer_service": {"tasks_per_week": 300, "minutes_per_task": 6}})
    assert plan.service_target_utilisation == 0.8
    assert evaluate(plan).roles["customer_service"] == 1


def test_promotions_coordinators_per_language_region_and_managers_per_location():
    result = result_of(language_regions=3, support_locations=2)

    assert result.roles["promotions_coordinator"] == 3
    assert result.roles["sales_support_manager"] == 2


# ---------------------------------------------------------------- economics and the verdict


def test_the_chapters_illustration_gives_its_verdict():
    result = evaluate(parse_plan(ILLUSTRATION))

    assert result.roles == {
        "salesperson": 2,
        "sales_coordinator": 2,
        "project_leader": 4,
        "customer_service": 8,
        "promotions_coordinator": 1,
        "sales_support_manager": 1,
        "sales_manager": 0,
    }
    assert result.verdict() == "payroll −310,000 EUR, business-development capacity ×2"
    assert result.warnings == []


def test_economics_per_role_sum_to_the_payroll():
    result = evaluate(parse_plan(ILLUSTRATION))
    rows = {row.role: row for row in result.economics}

    assert list(rows) == list(ROLES)
    assert (rows["salesperson"].before, rows["salesperson"].after) == (10, 2)
    assert rows["salesperson"].delta == -800000
    assert rows["customer_service"].delta == 150000
    assert rows["sales_manager"].delta == -300000
    assert sum(row.delta for row in result.economics) == result.payroll_delta == -310000
    assert result.payroll_before == 1550000


def test_the_verdict_is_currency_aware_and_says_a_rise():
    result = evaluate(parse_plan({**ILLUSTRATION, "currency": "usd", "before": {}}))

    assert result.verdict() == "payroll +1,240,000 USD, business-development capacity ×2"


def test_the_verdict_without_a_measured_volume():
    result = evaluate(
        parse_plan({**CONTRACT_PLAN, "current": {}, "incremental": {"existing_accounts": 5}})
    )

    assert result.verdict().endswith(
        "business-development capacity 20 meetings a week (none measured today)"
    )


def test_without_before_todays_salespeople_are_the_payroll_before():
    plan = parse_plan({k: v for k, v in CONTRACT_PLAN.items() if k != "before"})

    assert dict(plan.before) == {"salesperson": 10}
    assert evaluate(plan).payroll_before == 1200000


# ---------------------------------------------------------------- warnings


def test_expenses_increase_when_payroll_rises():
    result = result_of(before={"salesperson": 1})

    assert result.payroll_after > result.payroll_before
    warning = next(w for w in result.warnings if w.rule == "expenses_increase")
    assert warning.message.startswith("Payroll rises by 190,000 EUR")  # 310,000 against 120,000


def test_no_expense_warning_when_payroll_falls_or_stays():
    assert "expenses_increase" not in rules(result_of())
    same = result_of(
        before={
            "salesperson": 1,
            "sales_coordinator": 1,
            "promotions_coordinator": 1,
            "sales_support_manager": 1,
        }
    )
    assert same.payroll_delta == 0
    assert "expenses_increase" not in rules(same)
    assert same.verdict().startswith("payroll ±0 EUR")


def test_ten_times_the_current_volume_is_warned():
    # One salesperson at 2 a week: even one salesperson in the new model can hold 20.
    result = evaluate(parse_plan(team(1, 2)))

    assert result.meetings_after == 20
    assert "ten_times_volume" in rules(result)
    assert "ten_times_volume" not in rules(evaluate(parse_plan(team(2, 2))))


def test_an_increment_larger_than_todays_volume_is_not_conservative():
    assert "incremental_not_conservative" in rules(
        evaluate(parse_plan(team(10, 2, existing_accounts=21)))
    )
    # Doubling (the chapter's "you should be able to double") is fine.
    assert "incremental_not_conservative" not in rules(
        evaluate(parse_plan(team(10, 2, existing_accounts=20)))
    )


def test_sales_support_must_never_become_the_constraint():
    result = result_of(
        customer_service={"tasks_per_week": 300, "minutes_per_task": 6, "target_utilisation": 0.95}
    )

    assert "sales_support_constraint" in rules(result)
    assert "sales_support_constraint" not in rules(
        result_of(customer_service={"target_utilisation": 0.8})
    )


def test_shrinking_customer_service_is_warned():
    result = result_of(before={"salesperson": 10, "customer_service": 4})

    assert result.roles["customer_service"] == 0
    assert "customer_service_reduced" in rules(result)


def test_a_missing_salary_is_warned_and_counted_as_zero():
    salaries = {k: v for k, v in CONTRACT_PLAN["salaries"].items() if k != "sales_coordinator"}
    result = result_of(salaries=salaries)

    warning = next(w for w in result.warnings if w.rule == "salary_missing")
    assert "salaries.sales_coordinator" in warning.message
    assert result.payroll_after == 260000


def test_no_volume_is_warned():
    result = result_of(current={}, before={})

    assert result.roles["salesperson"] == 0
    assert rules(result) == ["expenses_increase", "no_volume"]


def test_an_estimate_is_compared_with_the_measurement():
    plan = parse_plan(CONTRACT_PLAN)

    result = evaluate(plan, measured_meetings_per_salesperson=1.25)
    warning = next(w for w in result.warnings if w.rule == "estimate_differs_from_measurement")
    assert "1.25" in warning.message and "+0.75" in warning.message
    assert "estimate_differs_from_measurement" not in rules(
        evaluate(plan, measured_meetings_per_salesperson=2.0)
    )


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("plan", "key"),
    [
        ({"bogus": 1}, "bogus"),
        ({"current": {"salespeeple": 3}}, "current.salespeeple"),
        ({"incremental": {"referrals": 3}}, "incremental.referrals"),
        ({"customer_service": {"hours": 3}}, "customer_service.hours"),
        ({"salaries": {"ceo": 300000}}, "salaries.ceo"),
        ({"before": {"inside_sales": 2}}, "before.inside_sales"),
        ({"current": {"salespeople": 2.5}}, "current.salespeople"),
        ({"current": {"salespeople": -1}}, "current.salespeople"),
        ({"current": {"meetings_per_salesperson": "two"}}, "current.meetings_per_salesperson"),
        ({"current": 10}, "current"),
        ({"capacity_per_salesperson": 0}, "capacity_per_salesperson"),
        ({"capacity_per_salesperson": True}, "capacity_per_salesperson"),
        ({"project_share": 1.5}, "project_share"),
        ({"project_half_days": math.nan}, "project_half_days"),
        ({"customer_service": {"target_utilisation": 0}}, "customer_service.target_utilisation"),
        ({"customer_service": {"target_utilisation": 1.2}}, "customer_service.target_utilisation"),
        ({"language_regions": 1.5}, "language_regions"),
        ({"support_locations": -2}, "support_locations"),
        ({"salaries": {"salesperson": "lots"}}, "salaries.salesperson"),
        ({"salaries": [120000]}, "salaries"),
        ({"before": {"salesperson": 1.5}}, "before.salesperson"),
        ({"currency": "euro"}, "currency"),
        ({"currency": 978}, "currency"),
        ({"incremental": {"existing_accounts": 10**9}}, "incremental.existing_accounts"),
        ({"project_share": 10**400}, "project_share"),
        ({"salaries": {"salesperson": -(10**400)}}, "salaries.salesperson"),
        ({"scenarios": "today"}, "scenarios"),
        ({"simulation": [1]}, "simulation"),
    ],
)
def test_a_bad_key_or_value_is_refused_naming_it(plan, key):
    with pytest.raises(PlanInvalid) as refused:
        parse_plan(plan)

    assert [k for k, _ in refused.value.problems] == [key]
    assert key in str(refused.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(PlanInvalid) as refused:
        parse_plan(
            {
                "salespeople": 10,
                "current": {"salespeople": "ten", "weekly": 2},
                "salaries": {"cto": 1},
            }
        )

    assert sorted(k for k, _ in refused.value.problems) == [
        "current.salespeople",
        "current.weekly",
        "salaries.cto",
        "salespeople",
    ]
    message = dict(refused.value.problems)["salespeople"]
    assert message.startswith("unknown key; expected one of currency, capacity_per_salesperson")


def test_a_plan_must_be_a_mapping():
    with pytest.raises(PlanInvalid) as refused:
        parse_plan(["current"])
    assert refused.value.problems[0][1] == "a plan must be a mapping of keys to values"


def test_the_simulators_sections_are_accepted_and_kept():
    plan = parse_plan(
        {**CONTRACT_PLAN, "simulation": {"arrivals_per_week": 30}, "scenarios": [{"name": "x"}]}
    )

    assert plan.simulation == {"arrivals_per_week": 30}
    assert plan.scenarios == [{"name": "x"}]


# ---------------------------------------------------------------- properties

volumes = st.floats(min_value=0, max_value=5000, allow_nan=False)
plans = st.fixed_dictionaries(
    {
        "capacity_per_salesperson": st.floats(min_value=0.5, max_value=100),
        "current": st.fixed_dictionaries(
            {
                "salespeople": st.integers(min_value=0, max_value=500),
                "meetings_per_salesperson": st.floats(min_value=0, max_value=30),
            }
        ),
        "incremental": st.fixed_dictionaries(
            {"existing_accounts": volumes, "neglected_opportunities": volumes}
        ),
        "project_share": st.floats(min_value=0, max_value=1),
        "project_half_days": st.floats(min_value=0, max_value=50),
        "customer_service": st.fixed_dictionaries(
            {
                "tasks_per_week": st.floats(min_value=0, max_value=10000),
                "minutes_per_task": st.floats(min_value=0, max_value=120),
                "target_utilisation": st.floats(min_value=0.05, max_value=1),
            }
        ),
        "language_regions": st.integers(min_value=0, max_value=20),
        "support_locations": st.integers(min_value=0, max_value=10),
        "salaries": st.dictionaries(
            st.sampled_from(ROLES), st.integers(min_value=0, max_value=500000)
        ),
        "before": st.dictionaries(st.sampled_from(ROLES), st.integers(min_value=0, max_value=200)),
    }
)


@settings(max_examples=300, deadline=None)
@given(plans)
def test_properties_of_any_plan(data):
    plan = parse_plan(data)
    result = evaluate(plan)
    roles = result.roles
    volume = plan.current_volume + plan.incremental_volume
    capacity = plan.capacity_per_salesperson

    assert set(roles) == set(ROLES)
    assert roles["sales_coordinator"] == roles["salesperson"]
    # Enough salespeople for the volume, and not one more than needed.
    assert roles["salesperson"] * capacity >= volume - 1e-6
    assert roles["salesperson"] == 0 or (roles["salesperson"] - 1) * capacity < volume + 1e-6
    assert result.payroll_delta == result.payroll_after - result.payroll_before
    assert ("expenses_increase" in rules(result)) is (result.payroll_after > result.payroll_before)
    assert roles["sales_manager"] == (1 if roles["salesperson"] > 2 else 0)
    # The default stages win 15 %: a share above it is warned, and planned at it.
    above = round(plan.project_share - 0.15, 9) > 0
    assert ("project_share_above_win_rate" in rules(result)) is above
    answer = result.as_json()
    assert answer["payroll"]["delta"] == pytest.approx(
        answer["payroll"]["after"] - answer["payroll"]["before"]
    )
    assert json.loads(json.dumps(answer)) == answer


def test_plan_funnel_reads_whole_float_meetings_as_the_simulator_does():
    from salesline.capacity.resourcing import plan_funnel
    from salesline.capacity.simulation import sales_model

    stages = [
        {"name": "Qualify", "conversion": 0.5, "days": 5, "meetings": 2.0},
        {"name": "Close", "conversion": 0.4, "days": 5, "meetings": 1},
    ]
    # 2 meetings, then 1 with a chance of 0.5: 2.5 an opportunity; won 0.5 x 0.4 = 0.2.
    assert plan_funnel({"stages": stages}) == pytest.approx((2.5, 0.2))
    model = sales_model(parse_plan({"simulation": {"stages": stages}}))
    assert model.meetings_per_opportunity == pytest.approx(2.5)
    assert model.win_rate == pytest.approx(0.2)
    # 2.5 meetings: the simulator refuses the stage, the planner falls back to the defaults
    # (1.75 meetings, 0.15 won).
    half = [{**stages[0], "meetings": 2.5}]
    assert plan_funnel({"stages": half}) == pytest.approx((1.75, 0.15))
    with pytest.raises(PlanInvalid) as caught:
        sales_model(parse_plan({"simulation": {"stages": half}}))
    assert [key for key, _ in caught.value.problems] == ["simulation.stages.0.meetings"]


def test_capacity_the_simulator_cannot_deliver_warns():
    # Defaults: 4 a day x 5 = 20, 37.5 / 1.5 = 25 hours' worth: at most 20 a week.
    assert "capacity_not_deliverable" not in rules(evaluate(parse_plan(ILLUSTRATION)))
    result = evaluate(parse_plan({**ILLUSTRATION, "capacity_per_salesperson": 21}))
    warning = next(w for w in result.warnings if w.rule == "capacity_not_deliverable")
    assert "at most 20" in warning.message
    # 6 a day allow 30, but 2-hour meetings only 18.75 in 37.5 hours.
    hours = {"meetings_per_day": 6.0, "meeting_hours": 2}
    result = evaluate(
        parse_plan({**ILLUSTRATION, "capacity_per_salesperson": 19, "simulation": hours})
    )
    assert "capacity_not_deliverable" in rules(result)
    hours["meeting_hours"] = 1.25  # 30 meetings of hours, 30 a day's cap
    result = evaluate(
        parse_plan({**ILLUSTRATION, "capacity_per_salesperson": 30, "simulation": hours})
    )
    assert "capacity_not_deliverable" not in rules(result)
    # Values the simulator refuses count as the defaults (it names them itself).
    odd = {"meetings_per_day": "six", "meeting_hours": -1}
    result = evaluate(
        parse_plan({**ILLUSTRATION, "capacity_per_salesperson": 20, "simulation": odd})
    )
    assert "capacity_not_deliverable" not in rules(result)
