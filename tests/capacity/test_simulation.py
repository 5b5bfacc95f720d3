"""The simulator (pure): textbook queues reproduced, work conserved, capacities respected,
reproducible by seed, the sections validated."""

import math

import pytest

from salesline.capacity.resourcing import PlanInvalid, evaluate, parse_plan
from salesline.capacity.simulation import (
    interval,
    queue_model,
    replication_seeds,
    run_replication,
    sales_model,
    simulate,
    t_quantile,
)

CHAPTER = {
    "current": {"salespeople": 10, "meetings_per_salesperson": 2},
    "incremental": {"existing_accounts": 10, "neglected_opportunities": 10},
    "project_share": 0.1,
    "project_half_days": 4,
    "customer_service": {"tasks_per_week": 120, "minutes_per_task": 15},
    "before": {"salesperson": 10, "sales_manager": 2},
}


def _erlang_c_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean wait in queue of M/M/c (Erlang's C formula)."""
    load = arrival_rate / service_rate
    rho = load / servers
    head = sum(load**k / math.factorial(k) for k in range(servers))
    tail = load**servers / math.factorial(servers) / (1 - rho)
    waits = tail / (head + tail)
    return waits / (servers * service_rate - arrival_rate)


@pytest.mark.parametrize(
    ("arrival_rate", "service_rate", "servers"),
    [(0.5, 1.0, 1), (0.7, 1.0, 1), (2.0, 1.0, 3), (3.2, 1.0, 4)],
)
def test_textbook_queues_mean_wait_within_the_interval(arrival_rate, service_rate, servers):
    expected = _erlang_c_wait(arrival_rate, service_rate, servers)
    runs = [
        queue_model(
            arrival_rate=arrival_rate,
            service_rate=service_rate,
            servers=servers,
            horizon=6000,
            warm_up=200,
            seed=seed,
        )
        for seed in replication_seeds(7, 20)
    ]
    waits = interval([run["mean_wait"] for run in runs])
    assert waits["low"] <= expected <= waits["high"], (expected, waits)
    # The interval is tight enough to mean something (within 25 % of the theory).
    assert waits["high"] - waits["low"] < 0.5 * expected
    utilisation = sum(run["utilisation"] for run in runs) / len(runs)
    assert utilisation == pytest.approx(arrival_rate / (servers * service_rate), abs=0.02)


def test_student_t_quantiles():
    assert t_quantile(1) == 12.706
    assert t_quantile(9) == pytest.approx(2.262)
    assert t_quantile(40) == pytest.approx(2.021, abs=0.001)
    assert t_quantile(120) == pytest.approx(1.980, abs=0.001)
    assert interval([3.0]) == {"mean": 3.0, "low": 3.0, "high": 3.0}
    spread = interval([1.0, 2.0, 3.0])
    assert spread["mean"] == 2.0
    assert spread["high"] - 2.0 == pytest.approx(4.303 / math.sqrt(3))


@pytest.fixture(scope="module")
def model():
    return sales_model(parse_plan(CHAPTER))


@pytest.mark.parametrize("scenario_index", [0, 1])
def test_every_opportunity_ends_in_exactly_one_state(model, scenario_index):
    run = run_replication(model, model.scenarios[scenario_index], weeks=26, seed=3)
    counts = run["opportunities"]
    assert counts["created"] > 100
    assert counts["won"] > 0 and counts["lost"] > 0
    assert counts["won"] + counts["lost"] + counts["open"] == counts["created"]
    # The weekly series count the same events once each.
    assert sum(run["created"]) == counts["created"]
    assert sum(run["won"]) == counts["won"]
    assert sum(run["lost"]) == counts["lost"]


def test_today_salespeople_hold_only_their_measured_meetings(model):
    today = model.scenarios[0]
    assert today.name == "today" and today.roles["sales_coordinator"] == 0
    run = run_replication(model, today, weeks=20, seed=5)
    assert run["max_meetings_per_week"] == 2
    assert run["max_meetings_per_day"] <= 2
    # 10 salespeople x 2 a week, never more, whatever the demand (which is higher).
    assert sum(run["meetings"]) <= 10 * 2 * 20
    assert all(week <= 20 for week in run["meetings"])
    assert run["roles"]["salesperson"]["queue"] > 10


def test_planned_salespeople_within_daily_and_weekly_capacity():
    plan = parse_plan(
        {**CHAPTER, "simulation": {"meetings_per_day": 3, "arrivals_per_week": {"promotions": 60}}}
    )
    model = sales_model(plan)
    planned = model.scenarios[1]
    assert planned.roles["salesperson"] == 2
    run = run_replication(model, planned, weeks=12, seed=11)
    assert run["max_meetings_per_day"] == 3  # demand far above: the caps are reached, not passed
    assert run["max_meetings_per_week"] <= 20
    assert all(week <= 2 * 20 for week in run["meetings"])


def test_fractional_weekly_capacity_averages_out():
    plan = parse_plan(
        {
            **CHAPTER,
            "current": {"salespeople": 4, "meetings_per_salesperson": 2.5},
            "before": {"salesperson": 4},
        }
    )
    model = sales_model(plan)
    run = run_replication(model, model.scenarios[0], weeks=20, seed=2)
    assert run["max_meetings_per_week"] == 3
    assert sum(run["meetings"]) == pytest.approx(4 * 2.5 * 20, abs=4 * 3)


def test_utilisations_in_unit_interval_and_the_contract_shape():
    answer = simulate(parse_plan(CHAPTER), weeks=20, replications=3, seed=4, processes=1)
    names = [scenario["name"] for scenario in answer["scenarios"]]
    assert names == ["today", "plan"]
    for scenario in answer["scenarios"]:
        assert scenario["utilisation"]
        for figure in scenario["utilisation"].values():
            assert 0 <= figure["low"] <= figure["mean"] <= figure["high"] <= 1
        for key in ("meetings_per_week", "won_per_week"):
            assert scenario[key]["low"] <= scenario[key]["mean"] <= scenario[key]["high"]
        assert scenario["constraint"] in scenario["queue"]
        assert len(scenario["weekly"]["meetings"]) == 20
    today, planned = answer["scenarios"]
    # Today's model: salespeople do everything, so only they are simulated and they limit.
    assert set(today["utilisation"]) == {"salesperson"}
    assert today["constraint"] == "salesperson"
    assert "salesperson" in today["growing_queues"]
    assert set(planned["utilisation"]) >= {"salesperson", "sales_coordinator", "customer_service"}
    assert planned["meetings_per_week"]["mean"] > today["meetings_per_week"]["mean"]


def test_same_seed_same_numbers_whatever_the_processes():
    plan = parse_plan(CHAPTER)
    seen = []
    one = simulate(plan, weeks=8, replications=3, seed=42, processes=1)
    two = simulate(
        plan, weeks=8, replications=3, seed=42, processes=2, progress=lambda *a: seen.append(a)
    )
    assert one == two
    assert seen[-1] == (6, 6) and len(seen) == 6
    other = simulate(plan, weeks=8, replications=3, seed=43, processes=1)
    assert other["scenarios"][0]["opportunities"] != one["scenarios"][0]["opportunities"]


def test_named_scenarios_override_the_planned_roles():
    plan = parse_plan(
        {
            **CHAPTER,
            "scenarios": [
                {"name": "lean", "roles": {"salesperson": 1, "sales_coordinator": 1}},
                {"name": "no service", "roles": {"customer_service": 0}},
            ],
        }
    )
    model = sales_model(plan)
    assert [s.name for s in model.scenarios] == ["lean", "no service"]
    assert model.scenarios[0].roles["salesperson"] == 1
    # Roles not named keep the plan's own figure.
    assert model.scenarios[0].roles["customer_service"] == evaluate(plan).roles["customer_service"]
    assert model.scenarios[0].roles["customer_service"] == 1
    assert model.scenarios[1].roles["customer_service"] == 0
    answer = simulate(plan, weeks=6, replications=2, seed=1, processes=1)
    lean = answer["scenarios"][0]
    assert lean["roles"]["salesperson"] == 1


def _problems(document):
    with pytest.raises(PlanInvalid) as caught:
        sales_model(parse_plan(document))
    return dict(caught.value.problems)


def test_bad_sections_refused_naming_every_key():
    problems = _problems(
        {
            **CHAPTER,
            "simulation": {
                "arrivals_per_week": {"promotions": -1, "referrals": 2},
                "stages": [
                    {"name": "Qualify", "conversion": 1.5, "days": 3},
                    {"name": "", "conversion": 0.5, "days": "ten", "colour": "red"},
                    "Close",
                ],
                "meeting_hours": 0,
                "meetings_per_day": 2.5,
                "speed": 3,
            },
            "scenarios": [
                {"name": "a", "roles": {"salesperson": -2, "wizard": 1}},
                {"name": "a", "extra": 1},
                {"roles": {}},
            ],
        }
    )
    assert set(problems) == {
        "simulation.arrivals_per_week.promotions",
        "simulation.arrivals_per_week.referrals",
        "simulation.stages.0.conversion",
        "simulation.stages.1.name",
        "simulation.stages.1.days",
        "simulation.stages.1.colour",
        "simulation.stages.2",
        "simulation.meeting_hours",
        "simulation.meetings_per_day",
        "simulation.speed",
        "scenarios.0.roles.salesperson",
        "scenarios.0.roles.wizard",
        "scenarios.1.name",
        "scenarios.1.extra",
        "scenarios.2.name",
    }
    assert "at most 1" in problems["simulation.stages.0.conversion"]


def test_section_shapes_refused():
    assert set(_problems({**CHAPTER, "simulation": {"stages": []}})) == {"simulation.stages"}
    assert set(_problems({**CHAPTER, "simulation": {"stages": [{"name": "x"}]}})) == {
        "simulation.stages.0.conversion"
    }
    with pytest.raises(PlanInvalid) as caught:
        parse_plan({**CHAPTER, "scenarios": "today"})
    assert caught.value.problems[0][0] == "scenarios"


def test_run_parameters_refused_naming_them():
    with pytest.raises(PlanInvalid) as caught:
        simulate(parse_plan(CHAPTER), weeks=0, replications=True, seed=-1)
    assert [key for key, _ in caught.value.problems] == ["weeks", "replications", "seed"]


def test_salespeople_with_no_capacity_cost_per_day_not_per_dispatch():
    from salesline.capacity.simulation import work_size

    # Nobody may hold a meeting (today's measured 0 a week): the meetings wait, and each
    # dispatch must not look at every idle salesperson.
    plan = parse_plan(
        {
            "current": {"salespeople": 2000, "meetings_per_salesperson": 0},
            "simulation": {"arrivals_per_week": {"promotions": 1000}},
            "scenarios": [{"name": "stuck", "roles": {"salesperson": 2000}}],
        }
    )
    model = sales_model(plan)
    run = run_replication(model, model.scenarios[0], weeks=2, seed=3)
    assert run["meetings"] == [0, 0]
    assert run["roles"]["salesperson"]["queue"] > 0
    # The estimate covers the events and the daily look at the salespeople (2 weeks x 5 days
    # x 2,000 = 20,000 of it), and the run stays within it.
    estimate = work_size(model, weeks=2, replications=1)
    assert estimate >= 2 * 5 * 2000
    assert run["events"] + 2 * 5 * 2000 <= estimate


def test_a_salesperson_idle_since_an_earlier_day_counts_meetings_from_today():
    # One salesperson, 4 a day and 5 a week, and more meetings arriving than that: the caps
    # hold though the person waits idle across days and weeks.
    plan = parse_plan(
        {
            "capacity_per_salesperson": 5,
            "simulation": {"arrivals_per_week": {"promotions": 8}, "coordination_minutes": 0},
            "scenarios": [{"name": "one", "roles": {"salesperson": 1, "sales_coordinator": 1}}],
        }
    )
    model = sales_model(plan)
    run = run_replication(model, model.scenarios[0], weeks=20, seed=5)
    assert run["max_meetings_per_day"] <= 4
    assert run["max_meetings_per_week"] == 5
    assert max(run["meetings"]) <= 5


# 60 hours of customer-service tasks a week: 3 representatives keep up (53 %), 1 cannot. Two
# coordinators schedule the 70 meetings a week (35 hours, 47 % busy).
SUPPORT = {
    "current": {"salespeople": 4, "meetings_per_salesperson": 4},
    "capacity_per_salesperson": 20,
    "customer_service": {"tasks_per_week": 240, "minutes_per_task": 15},
    "simulation": {"arrivals_per_week": {"promotions": 40}},
    "scenarios": [
        {
            "name": "enough",
            "roles": {"salesperson": 4, "sales_coordinator": 2, "customer_service": 3},
        },
        {
            "name": "short",
            "roles": {"salesperson": 4, "sales_coordinator": 2, "customer_service": 1},
        },
    ],
}


def test_salespeople_utilisation_is_their_meeting_slots_used():
    # 4 salespeople x 20 slots = 80 a week; 40 opportunities x 1.75 meetings = 70 meetings a
    # week arrive: about 70 / 80 = 87.5 % of the slots, while their hours are 70 x 1.5 / 150
    # = 70 % busy. The slots are what the chapter plans with.
    answer = simulate(parse_plan(SUPPORT), weeks=12, replications=3, seed=2, processes=1)
    enough = answer["scenarios"][0]
    used = enough["meetings_per_week"]["mean"] / 80
    assert enough["utilisation"]["salesperson"]["mean"] == pytest.approx(used, abs=0.02)
    assert enough["utilisation"]["salesperson"]["mean"] > 0.8
    assert enough["constraint"] == "salesperson"
    assert enough["warnings"] == []
    # One representative for 60 hours of tasks a week: customer service limits the model, and
    # the chapter's rule is named.
    short = answer["scenarios"][1]
    assert short["constraint"] == "customer_service"
    (warning,) = short["warnings"]
    assert warning["rule"] == "sales_support_constraint"
    assert "sales support must never become the constraint" in warning["message"]


def test_the_benchmark_organisation_is_limited_by_its_salespeople():
    from bench.capacity_simulation import PLAN as BENCHMARK

    answer = simulate(parse_plan(BENCHMARK), weeks=12, replications=2, seed=14, processes=1)
    (scenario,) = answer["scenarios"]
    assert scenario["constraint"] == "salesperson"
    assert scenario["warnings"] == []


def test_today_falls_back_to_the_salespeople_measured():
    # `before` gives the managers only: today's salespeople are current.salespeople.
    plan = parse_plan({**CHAPTER, "before": {"sales_manager": 2}})
    today, _ = sales_model(plan).scenarios
    assert today.name == "today"
    assert today.roles["salesperson"] == 10
    assert today.roles["sales_manager"] == 2
    # A headcount before that names the salespeople wins, even 0.
    plan = parse_plan({**CHAPTER, "before": {"salesperson": 0}})
    assert sales_model(plan).scenarios[0].roles["salesperson"] == 0


def test_no_queue_called_growing_from_fewer_than_8_weeks():
    from salesline.capacity.simulation import _growing

    rising = [0.0, 0.0, 5.0, 9.0, 14.0, 20.0, 27.0]
    assert not _growing(rising)  # 7 weeks: too few to tell growth from the pipeline filling
    assert _growing([*rising, 35.0])
    assert not _growing([3.0] * 8)
