"""A saved plan's simulation in the worker (capacity.simulation_jobs) and the scenario comparison
page (/capacity/<id>/scenarios/): who may, the parameters and the plan checked, the progress,
the answer stored and shown side by side with its charts."""

import pytest
from django.test import Client

from salesline.capacity import services
from salesline.capacity.models import CapacityPlan
from salesline.capacity.resourcing import parse_plan
from salesline.capacity.scenario_charts import scenario_charts
from salesline.capacity.simulation import simulate
from salesline.capacity.simulation_jobs import plan_simulate_start, run_state
from salesline.core.errors import Conflict, PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.core.tasks import run_pending_tasks

DOCUMENT = {
    "current": {"salespeople": 10, "meetings_per_salesperson": 2},
    "incremental": {"existing_accounts": 10, "neglected_opportunities": 10},
    "customer_service": {"tasks_per_week": 120, "minutes_per_task": 15},
    "before": {"salesperson": 10, "sales_manager": 2},
}


@pytest.fixture
def plan(admin_actor):
    created = services.plan_create(actor=admin_actor, data={"name": "New model"})
    return services.plan_update(
        actor=admin_actor, plan_id=created.pk, data={"document": DOCUMENT}, version=1
    )


@pytest.fixture
def admin_page(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def url(plan) -> str:
    return f"/capacity/{plan.pk}/scenarios/"


def test_a_run_in_the_worker_stores_the_answer(
    admin_actor, plan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        plan_simulate_start(actor=admin_actor, plan_id=plan.pk, weeks=6, replications=2, seed=9)
    plan.refresh_from_db()
    assert run_state(plan) == {
        "status": "queued",
        "done": 0,
        "total": 4,
        "parameters": {"weeks": 6, "replications": 2, "seed": 9},
        "message": "",
    }
    with pytest.raises(Conflict):
        plan_simulate_start(actor=admin_actor, plan_id=plan.pk, weeks=6, replications=2, seed=9)
    assert run_pending_tasks() == 1
    plan.refresh_from_db()
    assert run_state(plan) is None
    assert plan.simulated_at is not None
    assert plan.simulation["parameters"] == {"weeks": 6, "replications": 2, "seed": 9}
    # The same numbers as the simulator gives directly with that seed.
    direct = simulate(parse_plan(DOCUMENT), weeks=6, replications=2, seed=9, processes=1)
    assert plan.simulation["scenarios"] == direct["scenarios"]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"capacity_plan.simulate_start", "capacity_plan.simulate"} <= actions


def test_the_start_checks_parameters_plan_and_role(admin_actor, actor, plan):
    with pytest.raises(ValidationFailed) as caught:
        plan_simulate_start(actor=admin_actor, plan_id=plan.pk, weeks=0, replications="x", seed=-1)
    assert [p.loc for p in caught.value.problems] == [("weeks",), ("replications",), ("seed",)]
    with pytest.raises(ValidationFailed) as caught:
        plan_simulate_start(
            actor=admin_actor, plan_id=plan.pk, weeks=520, replications=1000, seed=0
        )
    assert caught.value.problems[0].loc == ("replications",)
    CapacityPlan.objects.filter(pk=plan.pk).update(
        document={**DOCUMENT, "simulation": {"stages": [{"name": "Q", "conversion": 2}]}}
    )
    with pytest.raises(ValidationFailed) as caught:
        plan_simulate_start(actor=admin_actor, plan_id=plan.pk, weeks=4, replications=1, seed=0)
    assert caught.value.problems[0].loc == ("document", "simulation", "stages", "0", "conversion")
    with pytest.raises(PermissionDenied):
        plan_simulate_start(actor=actor, plan_id=plan.pk, weeks=4, replications=1, seed=0)


def test_the_page_starts_a_run_shows_progress_then_the_scenarios(
    admin_page, plan, django_capture_on_commit_callbacks
):
    page = admin_page.get(url(plan))
    assert page.status_code == 200
    assert b"Not simulated yet" in page.content
    assert b'name="weeks" inputmode="numeric" value="52"' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_page.post(url(plan), {"weeks": "5", "replications": "2", "seed": "3"})
    assert started.status_code == 302 and started["Location"] == url(plan)
    waiting = admin_page.get(url(plan))
    assert b'http-equiv="refresh"' in waiting.content
    assert b"0 of 4 replications done" in waiting.content
    run_pending_tasks()
    done = admin_page.get(url(plan)).content.decode()
    assert 'http-equiv="refresh"' not in done
    assert "Side by side" in done
    assert '<h3 id="scenario-1">today</h3>' in done and '<h3 id="scenario-2">plan</h3>' in done
    assert "Field salespeople (constraint)" in done
    for key in ("utilisation", "throughput", "weekly_meetings", "weekly_queues"):
        assert f'data-chart="{key}"' in done and f'id="chart-{key}-text"' in done
    assert 'value="5"' in done  # the last run's parameters fill the form


def test_the_page_names_bad_parameters(admin_page, plan):
    response = admin_page.post(url(plan), {"weeks": "0", "replications": "ten", "seed": "1"})
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="run-weeks-error"' in body and 'id="run-replications-error"' in body
    assert 'id="run-seed-error"' not in body
    assert run_state(CapacityPlan.objects.get(pk=plan.pk)) is None


def test_only_managers_and_only_their_organisation(plan, user, other_user):
    salesperson = Client()
    salesperson.force_login(user)
    assert salesperson.get(url(plan)).status_code == 403
    assert salesperson.post(url(plan), {"weeks": "4"}).status_code == 403
    outsider = Client()
    outsider.force_login(other_user)
    assert outsider.get(url(plan)).status_code == 404
    assert Client().get(url(plan)).status_code == 302  # to the login


def test_charts_carry_their_tables_and_text():
    answer = simulate(parse_plan(DOCUMENT), weeks=4, replications=2, seed=1, processes=1)
    charts = {chart.key: chart for chart in scenario_charts(answer)}
    utilisation = charts["utilisation"]
    assert {row[0] for row in utilisation.rows} == {"today", "plan"}
    assert all(row[3] <= row[2] <= row[4] for row in utilisation.rows)
    assert utilisation.spec["data"]["values"][0].keys() == {
        "scenario", "role", "mean", "low", "high",
    }  # fmt: skip
    assert "Busiest:" in utilisation.description
    assert len(charts["weekly_meetings"].rows) == 2 * 4
    assert len(charts["throughput"].rows) == 4


def test_the_page_shows_a_scenarios_warning(admin_actor, admin_page, plan):
    document = {
        **DOCUMENT,
        "customer_service": {"tasks_per_week": 240, "minutes_per_task": 15},
        "scenarios": [{"name": "short", "roles": {"customer_service": 1}}],
    }
    answer = simulate(parse_plan(document), weeks=6, replications=2, seed=1, processes=1)
    assert answer["scenarios"][0]["constraint"] == "customer_service"
    services.plan_simulation_store(
        actor=admin_actor,
        plan_id=plan.pk,
        answer=answer,
        parameters={"weeks": 6, "replications": 2, "seed": 1},
    )
    page = admin_page.get(url(plan)).content.decode()
    assert 'data-rule="sales_support_constraint"' in page
    assert "sales support must never become the constraint" in page
