"""Capacity planning pages: the plans list (create, delete after a confirmation, restore), the
planner form (live results without saving, Save with the version, a conflict loses nothing,
bad input named by its field), the activity map saved whole, the diagram inline and as a
download, the transition checklist, and who may see them (403, another organisation's 404)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.capacity import services
from salesline.capacity.models import CapacityPlan, TransitionStep
from salesline.capacity.transition import SUGGESTED_ACTIVITIES

pytestmark = pytest.mark.django_db

CHAPTER = {
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


@pytest.fixture
def manager(org):
    user = accounts.user_create(
        email="max@piql.test", actor=accounts.system_actor(org), role="sales_support_manager"
    )
    client = Client()
    client.force_login(user)
    client.user = user
    client.actor = accounts.actor_for(user, org)
    return client


@pytest.fixture
def plan(manager):
    return services.plan_create(
        actor=manager.actor, data={"name": "New model", "document": CHAPTER}
    )


def form_data(plan_obj, **changes) -> dict:
    """The planner form as a browser posts it, from a plan file."""
    data = {"name": plan_obj.name, "version": str(plan_obj.version), "measured_from": ""}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}-{key}" if prefix else key, inner)
        else:
            data[prefix] = "" if value is None else str(value)

    walk("", plan_obj.document)
    data.update(changes)
    return data


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_nav_link_and_the_pages_are_for_admins_and_sales_support_managers(manager, browser):
    assert 'href="/capacity/"' in manager.get("/").content.decode()
    assert 'href="/capacity/"' not in browser.get("/").content.decode()  # a salesperson
    assert browser.get("/capacity/").status_code == 403
    plan = services.plan_create(actor=manager.actor, data={"name": "Secret"})
    for url in (f"/capacity/{plan.pk}/", f"/capacity/{plan.pk}/diagram.svg"):
        answer = browser.get(url)
        assert answer.status_code == 403
        assert "sales-support managers" in answer.content.decode()


def test_another_organisations_plan_is_not_found(manager, other_actor):
    theirs = services.plan_create(actor=other_actor, data={"name": "Theirs"})
    for url in (
        f"/capacity/{theirs.pk}/",
        f"/capacity/{theirs.pk}/diagram.svg",
        f"/capacity/{theirs.pk}/delete/",
        "/capacity/999999/",
    ):
        assert manager.get(url).status_code == 404
    assert manager.post(f"/capacity/{theirs.pk}/preview/", {}).status_code == 404
    assert manager.post(f"/capacity/{theirs.pk}/delete/").status_code == 404
    assert CapacityPlan.objects.get(pk=theirs.pk).deleted_at is None


def test_the_list_helps_when_empty_creates_deletes_after_asking_and_restores(manager, org):
    empty = text(manager.get("/capacity/"))
    assert "No capacity plan yet" in empty
    refused = manager.post("/capacity/", {"name": "  "})
    assert refused.status_code == 422 and "Name is required" in text(refused)
    created = manager.post("/capacity/", {"name": "New model"})
    plan = CapacityPlan.objects.get(organisation=org)
    assert created.status_code == 302 and created["Location"] == f"/capacity/{plan.pk}/"
    assert plan.activities.count() == len(SUGGESTED_ACTIVITIES)
    duplicate = manager.post("/capacity/", {"name": "new model"})
    assert duplicate.status_code == 422 and "already" in text(duplicate)
    assert "new model" in text(duplicate)  # the typed name is kept
    confirm = manager.get(f"/capacity/{plan.pk}/delete/")
    assert confirm.status_code == 200 and "Delete the plan “New model”?" in text(confirm)
    plan.refresh_from_db()
    assert plan.deleted_at is None  # asking changes nothing
    assert manager.post(f"/capacity/{plan.pk}/delete/").status_code == 302
    listed = text(manager.get("/capacity/"))
    assert "Deleted plans" in listed and f"/capacity/{plan.pk}/restore/" in listed
    assert manager.get(f"/capacity/{plan.pk}/").status_code == 404
    restored = manager.post(f"/capacity/{plan.pk}/restore/")
    assert restored.status_code == 302 and restored["Location"] == f"/capacity/{plan.pk}/"
    plan.refresh_from_db()
    assert plan.deleted_at is None


def test_the_planner_shows_the_chapters_method_results_and_economics(manager, plan):
    html = text(manager.get(f"/capacity/{plan.pk}/"))
    # Every step explained in plain words, with this plan's figures.
    assert "1. Current weekly business-development volume" in html
    assert "10 salespeople today at 2 true business-development meetings a week each = 20" in html
    assert "ceil((20 + 0) ÷ 20 a week each) = 1" in html
    # The roles, the economics per role and in total, the verdict and the warnings.
    assert "payroll −1,150,000 EUR, business-development capacity ×1" in html
    assert 'data-role="sales_manager"' in html and "−260,000 EUR" in html
    assert "Business-development capacity: <strong>20</strong> meetings a week today" in html
    assert f'href="/capacity/{plan.pk}/scenarios/"' in html
    # The diagram inline, accessible, and the checklist's generator.
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'role="img"' in html
    assert "Generate the checklist" in html


def test_live_results_recompute_without_saving(manager, plan):
    data = form_data(plan, **{"incremental-existing_accounts": "20"})
    answer = manager.post(f"/capacity/{plan.pk}/preview/", data, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    html = text(answer)
    assert "<html" not in html  # a fragment
    # 10 x 2 + 20 = 40 a week: 2 salespeople and 2 coordinators, the chapter's sensitivity.
    assert '<th scope="row">Field salespeople</th><td class="num">2</td>' in html
    assert '<th scope="row">Sales coordinators</th><td class="num">2</td>' in html
    assert 'id="explain-salespeople" hx-swap-oob="true"' in html
    assert "ceil((20 + 20) ÷ 20 a week each) = 2" in html
    # The diagram follows: two field salespeople drawn.
    assert 'id="diagram-box" hx-swap-oob="true"' in html
    assert 'data-role="salesperson" data-people="2"' in html
    plan.refresh_from_db()
    assert plan.version == 1 and plan.document["incremental"]["existing_accounts"] == 0


def test_live_results_name_a_bad_input_instead_of_results(manager, plan):
    data = form_data(plan, **{"current-salespeople": "ten", "project_share": "2"})
    html = text(manager.post(f"/capacity/{plan.pk}/preview/", data, HTTP_HX_REQUEST="true"))
    assert "Fix these inputs" in html
    assert 'href="#plan-current-salespeople"' in html and "Enter a number" in html


def test_recompute_without_javascript_keeps_the_typed_figures(manager, plan):
    data = form_data(plan, action="preview", **{"current-meetings_per_salesperson": "4"})
    answer = manager.post(f"/capacity/{plan.pk}/", data)
    assert answer.status_code == 200
    html = text(answer)
    assert 'name="current-meetings_per_salesperson" value="4"' in html
    assert "= 40 a week" in html
    plan.refresh_from_db()
    assert plan.document["current"]["meetings_per_salesperson"] == 2


def test_save_goes_through_the_service_with_the_version(manager, plan):
    data = form_data(
        plan, name="New model 2027", measured_from="2026-11", **{"project_share": "25%"}
    )
    data["project_half_days"] = "4"
    answer = manager.post(f"/capacity/{plan.pk}/", data)
    assert answer.status_code == 302
    plan.refresh_from_db()
    assert plan.name == "New model 2027" and plan.version == 2
    assert plan.document["project_share"] == 0.25 and plan.document["project_half_days"] == 4
    assert plan.measured_from == date(2026, 11, 1)
    assert plan.document["before"] == {"salesperson": 10, "sales_manager": 2}


def test_bad_input_is_named_by_its_field_and_nothing_is_lost(manager, plan):
    data = form_data(
        plan,
        **{"salaries-salesperson": "lots", "customer_service-target_utilisation": "1.5"},
    )
    data["language_regions"] = "2"
    answer = manager.post(f"/capacity/{plan.pk}/", data)
    assert answer.status_code == 400
    html = text(answer)
    assert "Nothing was saved" in html
    assert 'href="#plan-salaries-salesperson"' in html
    assert 'href="#plan-customer_service-target_utilisation"' in html
    assert "must be at most 1" in html
    assert 'name="salaries-salesperson" value="lots"' in html
    assert 'name="language_regions" value="2"' in html
    plan.refresh_from_db()
    assert plan.version == 1 and plan.document["language_regions"] == 1


def test_someone_elses_change_is_a_conflict_that_loses_nothing(manager, plan):
    stale = form_data(plan, **{"current-salespeople": "12"})
    services.plan_update(actor=manager.actor, plan_id=plan.pk, data={"name": "Theirs"})
    answer = manager.post(f"/capacity/{plan.pk}/", stale)
    assert answer.status_code == 412
    html = text(answer)
    assert "Not saved: someone else changed this plan" in html
    assert 'name="current-salespeople" value="12"' in html
    assert 'name="version" value="2"' in html  # saving again replaces theirs knowingly
    plan.refresh_from_db()
    assert plan.name == "Theirs" and plan.document["current"]["salespeople"] == 10
    again = manager.post(f"/capacity/{plan.pk}/", {**stale, "version": "2"})
    assert again.status_code == 302
    plan.refresh_from_db()
    assert plan.document["current"]["salespeople"] == 12


def test_the_simulators_sections_survive_a_save_from_the_form(manager, plan):
    document = {**CHAPTER, "scenarios": [{"name": "Today", "roles": {"salesperson": 10}}]}
    services.plan_update(actor=manager.actor, plan_id=plan.pk, data={"document": document})
    plan.refresh_from_db()
    data = form_data(plan)
    del data["scenarios"]
    assert manager.post(f"/capacity/{plan.pk}/", data).status_code == 302
    plan.refresh_from_db()
    assert plan.document["scenarios"] == [{"name": "Today", "roles": {"salesperson": 10}}]


def test_the_measured_figure_is_shown_beside_the_entered_one(manager, plan, monkeypatch):
    from salesline.capacity import selectors

    measured = {
        "start": "2026-11-01",
        "end": "2026-12-01",
        "weeks": 4.29,
        "meetings": 60,
        "salespeople": 10,
        "per_salesperson_per_week": 1.4,
        "by_person": [{"user_id": 1, "name": "Sam", "meetings": 6, "per_week": 1.4}],
    }
    periods = []

    def count(*, actor, start, end):
        periods.append((start, end))
        return measured

    monkeypatch.setattr(selectors, "measured_meetings", count)
    html = text(manager.get(f"/capacity/{plan.pk}/"))
    assert 'class="measured-figure">1.4<' in html and "+0.6" in html
    assert "Use the measured figure (1.4)" in html
    used = manager.post(f"/capacity/{plan.pk}/", form_data(plan, action="use_measured"))
    assert 'name="current-meetings_per_salesperson" value="1.4"' in text(used)
    plan.refresh_from_db()
    assert plan.document["current"]["meetings_per_salesperson"] == 2  # not saved yet
    # The month chosen in the form is the one counted, before it is saved.
    periods.clear()
    manager.post(f"/capacity/{plan.pk}/preview/", form_data(plan, measured_from="2026-10"))
    assert periods == [(date(2026, 10, 1), date(2026, 11, 1))]


def test_the_activity_map_is_saved_whole_and_checked(manager, plan):
    html = text(manager.get(f"/capacity/{plan.pk}/"))
    # Every suggested activity has a role, but this plan staffs no inside sales, no project
    # leaders (no projects) and no customer service (no tasks): those are not "owned".
    assert "Every activity has an owner." not in html
    unstaffed = re.search(r'id="unstaffed-activities">([^<]*)<', html).group(1)
    assert unstaffed.startswith("Given to a role with nobody planned (7): ")
    assert "Outbound calls for simple orders (Inside salesperson)" in unstaffed
    assert "Technical site surveys (Project leader)" in unstaffed
    assert "Business-development meetings" not in unstaffed
    count = int(re.search(r'name="activity-count" value="(\d+)"', html).group(1))
    rows = len(SUGGESTED_ACTIVITIES)
    assert count == rows + 4  # a blank row in each quadrant
    data = {"activity-count": str(count)}
    for index, (name, inside, selling, role) in enumerate(SUGGESTED_ACTIVITIES):
        quadrant = f"{'inside' if inside else 'outside'}-{'selling' if selling else 'not-selling'}"
        data |= {
            f"activity-{index}-name": name,
            f"activity-{index}-quadrant": quadrant,
            f"activity-{index}-role": role,
        }
    data["activity-0-name"] = "Field meetings"  # rename
    data["activity-1-quadrant"] = "inside-not-selling"  # move
    data["activity-2-role"] = ""  # unassign
    data["activity-3-remove"] = "on"  # remove
    data |= {
        f"activity-{rows}-name": "Trade fairs",
        f"activity-{rows}-quadrant": "outside-selling",
        f"activity-{rows}-role": "salesperson",
        f"activity-{rows}-new": "1",
        f"activity-{rows + 1}-name": "",
        f"activity-{rows + 1}-new": "1",
    }
    answer = manager.post(f"/capacity/{plan.pk}/activities/", data)
    assert answer.status_code == 302
    saved = {a.name: (a.inside, a.selling, a.role) for a in plan.activities.all()}
    assert len(saved) == rows  # one removed, one added, the blank one ignored
    assert saved["Field meetings"] == (False, True, "salesperson")
    assert saved[SUGGESTED_ACTIVITIES[1][0]][:2] == (True, False)
    assert saved[SUGGESTED_ACTIVITIES[2][0]][2] == ""
    assert SUGGESTED_ACTIVITIES[3][0] not in saved and saved["Trade fairs"][2] == "salesperson"
    html = text(manager.get(f"/capacity/{plan.pk}/"))
    assert f"No role owns 1 activity: {SUGGESTED_ACTIVITIES[2][0]}." in html


def test_a_refused_activity_map_shows_the_row_and_saves_nothing(manager, plan):
    before = list(plan.activities.values_list("name", flat=True))
    data = {
        "activity-count": "2",
        "activity-0-name": "Calls",
        "activity-0-quadrant": "inside-selling",
        "activity-1-name": "calls",
        "activity-1-quadrant": "outside-selling",
        "activity-1-role": "salesperson",
    }
    answer = manager.post(f"/capacity/{plan.pk}/activities/", data)
    assert answer.status_code == 422
    html = text(answer)
    assert "“calls” is listed twice." in html and 'aria-describedby="activity-1-errors"' in html
    assert 'id="activity-0-name" name="activity-0-name" value="Calls"' in html
    assert list(plan.activities.values_list("name", flat=True)) == before


def test_the_diagram_downloads_as_a_standalone_svg(manager, plan):
    answer = manager.get(f"/capacity/{plan.pk}/diagram.svg")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("image/svg+xml")
    assert answer["Content-Disposition"] == 'attachment; filename="new-model-organisation.svg"'
    root = ET.fromstring(answer.content)  # noqa: S314 - our own answer, under test
    assert root.find("{http://www.w3.org/2000/svg}title").text.startswith("New model")
    people = root.findall(".//{http://www.w3.org/2000/svg}circle")
    assert len(people) == 1 + 1 + 1 + 1  # a salesperson, a coordinator, promotions, manager


def test_the_transition_checklist_is_generated_then_tracked(manager, plan):
    refused = manager.post(f"/capacity/{plan.pk}/transition/", {"start": "soon"})
    assert refused.status_code == 400 and "Choose the day" in text(refused)
    start = timezone.localdate() - timedelta(weeks=4)
    answer = manager.post(
        f"/capacity/{plan.pk}/transition/",
        {"start": start.isoformat(), "owner": str(manager.user.pk)},
    )
    assert answer.status_code == 302
    steps = list(TransitionStep.objects.filter(plan=plan).order_by("number"))
    assert len(steps) == 6 and all(s.owner_id == manager.user.pk for s in steps)
    html = text(manager.get(f"/capacity/{plan.pk}/"))
    # The first step was due three weeks ago: highlighted as overdue, in words too.
    assert f'id="step-{steps[0].pk}" class="transition-step overdue"' in html
    assert "overdue</span>" in html
    ticked = manager.post(
        f"/capacity/{plan.pk}/transition/{steps[0].pk}/",
        {"owner": "", "due_date": steps[0].due_date.isoformat(), "done": "on"},
    )
    assert ticked.status_code == 302
    steps[0].refresh_from_db()
    assert steps[0].done_at is not None and steps[0].owner_id is None
    html = text(manager.get(f"/capacity/{plan.pk}/"))
    assert f'id="step-{steps[0].pk}" class="transition-step done"' in html
    bad = manager.post(
        f"/capacity/{plan.pk}/transition/{steps[1].pk}/",
        {"owner": "999999", "due_date": "2027-02-30"},
    )
    assert bad.status_code == 422
    html = text(bad)
    assert "No member with id 999999" in html and "Must be a date" in html
    assert 'value="2027-02-30"' in html
    steps[1].refresh_from_db()
    assert steps[1].owner_id == manager.user.pk
