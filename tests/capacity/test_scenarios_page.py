"""A saved plan's simulation in the worker (capacity.simulation_jobs) and the scenario comparison
page (/capacity/<id>/scenarios/): who may, the parameters and the plan checked, the progress,
the answer stored and shown side by side with its charts."""

import pytest
from django.test import Client

from salesline.capacity import services
from salesline.capacity.models import CapacityPlan
from salesline.capacity.resourcing import parse_plan
from salesline.capacity.scenario_charts import scenario_charts
from salesline.capacity.simulation import MAX_SCENARIOS, simulate
from salesline.capacity.simulation_jobs import plan_simulate_start, run_state
from salesline.core import measures
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


# ---------------------------------------------------------------- editing what is simulated


def editor_form(plan, rows=(), **figures) -> dict:
    """The editor as a browser posts it: `rows` are (name, {role: text}) with one blank row
    after them, as the page shows it."""
    data = {
        "action": "save_scenarios",
        "version": str(plan.version),
        "scenario-count": str(len(rows) + 1),
        "simulation-promotions": "",
        "simulation-existing_accounts": "",
        "simulation-meeting_hours": "",
    }
    for index, (name, roles) in enumerate(rows):
        data[f"scenario-{index}-name"] = name
        for role, value in roles.items():
            data[f"scenario-{index}-{role}"] = value
    data.update({f"simulation-{key}": value for key, value in figures.items()})
    return data


NEW_MODEL = (
    "new model",
    {
        "salesperson": "2",
        "sales_coordinator": "2",
        "project_leader": "4",
        "customer_service": "8",
    },
)


def test_scenarios_and_figures_are_saved_into_the_plan_then_simulated(
    admin_page, plan, django_capture_on_commit_callbacks
):
    page = admin_page.get(url(plan)).content.decode()
    # No scenario yet: one blank row to fill, the plan's headcounts as placeholders.
    assert 'name="scenario-count" value="1"' in page
    assert 'name="scenario-0-name" value=""' in page
    data = editor_form(
        plan,
        [("today", {"salesperson": "10", "sales_manager": "2"}), NEW_MODEL],
        promotions="12.5",
        meeting_hours="2",
    )
    response = admin_page.post(url(plan), data)
    assert response.status_code == 302 and response["Location"] == url(plan)
    saved = CapacityPlan.objects.get(pk=plan.pk)
    assert saved.version == plan.version + 1
    assert saved.document["scenarios"] == [
        {"name": "today", "roles": {"salesperson": 10, "sales_manager": 2}},
        {
            "name": "new model",
            "roles": {
                "salesperson": 2,
                "sales_coordinator": 2,
                "project_leader": 4,
                "customer_service": 8,
            },
        },
    ]
    assert saved.document["simulation"] == {
        "arrivals_per_week": {"promotions": 12.5},
        "meeting_hours": 2,
    }
    assert saved.document["current"] == DOCUMENT["current"]  # the rest of the file is kept
    assert AuditEvent.objects.filter(action="capacity_plan.update").count() == 2
    page = admin_page.get(url(plan)).content.decode()
    assert 'name="scenario-1-name" value="new model"' in page
    assert 'name="scenario-count" value="3"' in page  # two saved, one blank
    with django_capture_on_commit_callbacks(execute=True):
        admin_page.post(url(plan), {"weeks": "4", "replications": "1", "seed": "1"})
    run_pending_tasks()
    done = admin_page.get(url(plan)).content.decode()
    assert '<h3 id="scenario-1">today</h3>' in done
    assert '<h3 id="scenario-2">new model</h3>' in done
    saved.refresh_from_db()
    assert [s["name"] for s in saved.simulation["scenarios"]] == ["today", "new model"]


def test_a_scenario_is_added_and_removed_without_javascript(admin_page, plan):
    data = editor_form(plan, [NEW_MODEL, ("lean", {"salesperson": "1"})])
    data["action"] = "add_scenario"
    more = admin_page.post(url(plan), data).content.decode()
    # Nothing saved; the typed rows stay and a blank row is added for the next one.
    assert CapacityPlan.objects.get(pk=plan.pk).version == plan.version
    assert 'name="scenario-1-name" value="lean"' in more
    assert 'name="scenario-count" value="3"' in more
    data = editor_form(plan, [NEW_MODEL, ("lean", {"salesperson": "1"})])
    assert admin_page.post(url(plan), data).status_code == 302
    saved = CapacityPlan.objects.get(pk=plan.pk)
    data = editor_form(saved, [NEW_MODEL, ("lean", {"salesperson": "1"})])
    data["scenario-0-remove"] = "on"
    assert admin_page.post(url(plan), data).status_code == 302
    saved.refresh_from_db()
    assert [s["name"] for s in saved.document["scenarios"]] == ["lean"]
    # An empty list: back to the defaults "today" and "plan".
    assert admin_page.post(url(plan), editor_form(saved)).status_code == 302
    saved.refresh_from_db()
    assert "scenarios" not in saved.document and "simulation" not in saved.document


def test_bad_figures_are_named_per_field_and_nothing_is_lost(admin_page, plan):
    rows = [
        ("lean", {"salesperson": "two"}),
        ("lean", {"sales_coordinator": "-1"}),
        ("", {"project_leader": "3"}),
    ]
    response = admin_page.post(url(plan), editor_form(plan, rows, meeting_hours="0"))
    assert response.status_code == 422
    body = response.content.decode()
    for name in ("scenario-0-salesperson", "scenario-2-name", "simulation-meeting_hours"):
        assert f'id="{name}-error"' in body, name
    assert 'name="scenario-0-salesperson" inputmode="numeric" size="4" value="two"' in body
    assert CapacityPlan.objects.get(pk=plan.pk).version == plan.version
    # Readable numbers out of the simulator's range, and a name given twice.
    rows = [("lean", {"salesperson": "1"}), ("lean", {"sales_coordinator": "-1"})]
    response = admin_page.post(url(plan), editor_form(plan, rows))
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="scenario-1-name-error"' in body and "given twice" in body
    assert 'id="scenario-1-sales_coordinator-error"' in body
    assert 'id="scenario-0-name-error"' not in body
    assert CapacityPlan.objects.get(pk=plan.pk).version == plan.version


def test_at_most_the_simulators_number_of_scenarios(admin_page, plan):
    rows = [(f"s{n}", {"salesperson": str(n)}) for n in range(MAX_SCENARIOS)]
    assert admin_page.post(url(plan), editor_form(plan, rows)).status_code == 302
    page = admin_page.get(url(plan)).content.decode()
    # Full: no blank row and no button to add one.
    assert f'name="scenario-count" value="{MAX_SCENARIOS}"' in page
    assert 'value="add_scenario"' not in page
    saved = CapacityPlan.objects.get(pk=plan.pk)
    rows.append(("one more", {"salesperson": "1"}))
    response = admin_page.post(url(plan), editor_form(saved, rows))
    assert response.status_code == 422
    assert f"scenarios: must have at most {MAX_SCENARIOS} scenarios" in response.content.decode()


def test_someone_elses_change_is_a_conflict_that_loses_nothing(admin_page, admin_actor, plan):
    stale = editor_form(plan, [NEW_MODEL])
    services.plan_update(
        actor=admin_actor, plan_id=plan.pk, data={"name": "Renamed"}, version=plan.version
    )
    response = admin_page.post(url(plan), stale)
    assert response.status_code == 412
    body = response.content.decode()
    assert 'id="editor-conflict"' in body and "changed by someone else" in body
    assert 'name="scenario-0-name" value="new model"' in body  # as typed
    current = CapacityPlan.objects.get(pk=plan.pk)
    assert "scenarios" not in current.document
    assert f'name="version" value="{current.version}"' in body
    # Saving again knowingly replaces theirs.
    again = {**stale, "version": str(current.version)}
    assert admin_page.post(url(plan), again).status_code == 302
    current.refresh_from_db()
    assert current.name == "Renamed" and current.document["scenarios"][0]["name"] == "new model"


def test_salespeople_cannot_edit_and_other_organisations_see_nothing(plan, user, other_user):
    salesperson = Client()
    salesperson.force_login(user)
    assert salesperson.post(url(plan), editor_form(plan, [NEW_MODEL])).status_code == 403
    outsider = Client()
    outsider.force_login(other_user)
    assert outsider.post(url(plan), editor_form(plan, [NEW_MODEL])).status_code == 404
    outsider_use = {"action": "use_observed", "version": str(plan.version)}
    assert outsider.post(url(plan), outsider_use).status_code == 404
    assert "scenarios" not in CapacityPlan.objects.get(pk=plan.pk).document


# ---------------------------------------------------------------- observed stages


def flow(*, actor, start=None, end=None):
    """analytics' "stage_flow" as it answers: calendar days; a stage without stays is None."""
    return {
        "pipeline": "default",
        "from": "2026-01-01",
        "to": "2026-12-31",
        "stages": [
            {"stage": "q", "name": "Qualify", "conversion_to_next": 0.4,
             "median_days_in_stage": 14, "exits": 10},
            {"stage": "p", "name": "Propose", "conversion_to_next": 0.5,
             "median_days_in_stage": 700, "exits": 4},
            {"stage": "n", "name": "Negotiate", "conversion_to_next": None,
             "median_days_in_stage": None, "exits": 0},
        ],
    }  # fmt: skip


OBSERVED = [
    {"name": "Qualify", "conversion": 0.4, "days": 10.0},  # 14 calendar days = 10 working
    {"name": "Propose", "conversion": 0.5, "days": 365},  # 500 working days, capped
]


@pytest.fixture
def observed(monkeypatch):
    monkeypatch.setitem(measures._PROVIDERS, "stage_flow", flow)


def test_the_stages_in_use_beside_the_observed_ones_and_used(admin_page, plan, observed):
    page = admin_page.get(url(plan)).content.decode()
    assert "In use (the defaults)" in page
    assert '<th scope="row">Qualify</th><td>50 %</td><td>5</td><td>1</td>' in page
    assert '<th scope="row">Propose</th><td>50 %</td><td>365</td></tr>' in page  # observed
    assert 'value="use_observed"' in page
    response = admin_page.post(url(plan), {"action": "use_observed", "version": plan.version})
    assert response.status_code == 302
    saved = CapacityPlan.objects.get(pk=plan.pk)
    assert saved.document["simulation"]["stages"] == OBSERVED
    assert saved.version == plan.version + 1
    page = admin_page.get(url(plan)).content.decode()
    assert "In use (entered)" in page
    assert '<th scope="row">Qualify</th><td>40 %</td><td>10</td><td>1</td>' in page
    # A stale version is a conflict, not an overwrite.
    stale = admin_page.post(url(plan), {"action": "use_observed", "version": plan.version})
    assert stale.status_code == 412
    assert "changed by someone else" in stale.content.decode()


def test_no_observed_stages_no_button(admin_page, plan, monkeypatch):
    monkeypatch.setitem(
        measures._PROVIDERS, "stage_flow", lambda **kwargs: {**flow(**kwargs), "stages": []}
    )
    page = admin_page.get(url(plan)).content.decode()
    assert "No observed stages yet" in page and 'value="use_observed"' not in page
    response = admin_page.post(url(plan), {"action": "use_observed", "version": plan.version})
    assert response.status_code == 422
    assert "simulation" not in CapacityPlan.objects.get(pk=plan.pk).document


def test_the_observed_stages_api(admin_api, api, other_api, admin_user, observed):
    response = admin_api.get("/capacity/observed-stages")
    assert response.status_code == 200
    assert response.json() == {"stages": OBSERVED}
    assert api.get("/capacity/observed-stages").status_code == 403  # a salesperson


def test_the_observed_stages_api_reads_the_callers_organisation(admin_api, other_org, monkeypatch):
    seen = []

    def provider(*, actor, start=None, end=None):
        seen.append(actor.organisation)
        return None

    monkeypatch.setitem(measures._PROVIDERS, "stage_flow", provider)
    assert admin_api.get("/capacity/observed-stages").json() == {"stages": None}
    assert seen and seen[0] != other_org


def test_the_history_is_not_read_again_while_a_run_is_on(
    admin_page, plan, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []

    def counted(**kwargs):
        calls.append(kwargs)
        return flow(**kwargs)

    monkeypatch.setitem(measures._PROVIDERS, "stage_flow", counted)
    with django_capture_on_commit_callbacks(execute=True):
        admin_page.post(url(plan), {"weeks": "4", "replications": "1", "seed": "1"})
    waiting = admin_page.get(url(plan)).content.decode()  # looks again every few seconds
    assert "The observed stages are shown when the run is done." in waiting
    assert calls == []
    run_pending_tasks()
    assert 'value="use_observed"' in admin_page.get(url(plan)).content.decode()
    assert len(calls) == 1


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
