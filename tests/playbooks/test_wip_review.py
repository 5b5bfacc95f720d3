"""The daily work-in-progress review and the on-time %, on hand-built tasks."""

import datetime as dt

import pytest
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.core.errors import ValidationFailed
from salesline.playbooks import defects, task_services, work_selectors
from salesline.playbooks.models import Task

DAY = dt.date(2026, 11, 16)  # a Monday


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def helper(org):
    return accounts.user_create(
        email="cara@piql.test", actor=accounts.system_actor(org), role="customer_service"
    )


def make(org, who, *, due, done_on=None, status="open", tolerance=0, queue="", promised=None):
    return Task.objects.create(
        organisation=org,
        title=f"T{due}",
        assignee=who,
        queue=queue,
        due_date=due,
        promised_date=promised,
        tolerance_days=tolerance,
        status="done" if done_on else status,
        completed_at=at(done_on) if done_on else None,
        created_at=at(due - dt.timedelta(days=5)),
    )


@pytest.fixture
def decided(org, user, helper):
    d = DAY
    make(org, user, due=d - dt.timedelta(days=3), done_on=d - dt.timedelta(days=4))  # on time
    make(org, user, due=d - dt.timedelta(days=3), done_on=d - dt.timedelta(days=3))  # on the day
    make(org, user, due=d - dt.timedelta(days=3), done_on=d - dt.timedelta(days=2))  # late
    make(org, user, due=d - dt.timedelta(days=2))  # missed: open past its day
    make(org, user, due=d - dt.timedelta(days=2), status="cancelled")  # takes no part
    make(org, user, due=d + dt.timedelta(days=2))  # not due yet: no part
    # A work item promised on d-3 with one day's grace, done on d-2: on time.
    make(
        org,
        helper,
        due=d - dt.timedelta(days=6),
        promised=d - dt.timedelta(days=3),
        tolerance=1,
        done_on=d - dt.timedelta(days=2),
        queue="customer_service",
    )
    # Two days' grace is not three: late.
    make(
        org,
        helper,
        due=d - dt.timedelta(days=5),
        tolerance=2,
        done_on=d - dt.timedelta(days=2),
        queue="customer_service",
    )
    # In the customer-service queue, nobody took it, past its day: missed (the team's).
    make(org, None, due=d - dt.timedelta(days=1), queue="customer_service")


def test_on_time_pct_counts_on_time_late_missed_and_not_cancelled(actor, user, helper, decided):
    review = work_selectors.wip_review(
        actor=actor, date=DAY, date_from=DAY - dt.timedelta(days=10), date_to=DAY
    )
    # On time: 2 of the user's + the work item in grace = 3; late 2; missed 2 (one unassigned).
    assert review.on_time["on_time"] == 3
    assert review.on_time["late"] == 2
    assert review.on_time["missed"] == 2
    assert review.on_time_pct == pytest.approx(42.9)
    queues = {row["queue"]: row for row in review.queues}
    assert queues[f"user:{user.pk}"]["on_time_pct"] == pytest.approx(50.0)  # 2 of 4
    assert queues[f"user:{helper.pk}"]["on_time_pct"] == pytest.approx(50.0)  # 1 of 2
    assert queues["customer_service"]["on_time_pct"] == pytest.approx(33.3)  # 1 of 3
    assert queues["inside_sales"]["on_time_pct"] is None
    body = review.as_json()
    assert set(body) == {"on_time_pct", "queues", "late_risk", "defects", "flow"}


def test_on_time_pct_is_none_when_nothing_is_decided(actor, user):
    make(actor.organisation, user, due=DAY + dt.timedelta(days=3))
    review = work_selectors.wip_review(actor=actor, date=DAY)
    assert review.on_time_pct is None


def test_the_period_chooses_the_tasks(actor, user, decided):
    early = work_selectors.wip_review(
        actor=actor,
        date=DAY,
        date_from=DAY - dt.timedelta(days=3),
        date_to=DAY - dt.timedelta(days=3),
    )
    # Last on-time day DAY-3: the user's three (on time, on time, late) and the work item due
    # DAY-5 with two days' grace (late): 2 of 4.
    assert early.on_time_pct == pytest.approx(50.0)
    assert (early.on_time["late"], early.on_time["missed"]) == (2, 0)


def test_problems_late_risk_flow_and_defects(actor, org, user):
    overdue = make(org, None, due=DAY - dt.timedelta(days=2), queue="inside_sales")
    soon_unclaimed = make(org, None, due=DAY + dt.timedelta(days=1), queue="customer_service")
    soon_mine = make(org, user, due=DAY + dt.timedelta(days=1))  # someone has it: no risk
    far = make(org, None, due=DAY + dt.timedelta(days=20), queue="customer_service")
    behind = Task.objects.create(
        organisation=org,
        title="Order 9",
        assignee=user,
        work_type="order",
        workflow_step="received",
        due_date=DAY + dt.timedelta(days=1),
        created_at=at(DAY - dt.timedelta(days=8)),
    )
    escalated = make(org, user, due=DAY + dt.timedelta(days=30), queue="inside_sales")
    task_services.task_escalate(
        actor=actor, task_id=escalated.pk, queue="project_leader", reason="Special project"
    )
    Task.objects.filter(pk=escalated.pk).update(escalated_at=at(DAY, 9))
    Task.objects.filter(pk=soon_mine.pk).update(created_at=at(DAY - dt.timedelta(days=1), 8))
    defects.defect_create(
        actor=actor,
        data={
            "found_on": DAY.isoformat(),
            "description": "Wrong price on a quote",
            "cause": "Old list",
        },
    )
    review = work_selectors.wip_review(actor=actor, date=DAY)
    problem_ids = {p["task_id"] for p in review.problems}
    assert problem_ids == {overdue.pk, escalated.pk}
    by_id = {p["task_id"]: p for p in review.problems}
    assert "overdue by 2 days" in by_id[overdue.pk]["reason"]
    assert by_id[overdue.pk]["actions"]
    assert "Special project" in by_id[escalated.pk]["reason"]
    risk = {r["task_id"]: r["reason"] for r in review.late_risk}
    assert set(risk) == {soon_unclaimed.pk, behind.pk}
    assert "nobody has taken it" in risk[soon_unclaimed.pk]
    assert "workflow is behind" in risk[behind.pk]
    assert far.pk not in risk
    assert review.flow["escalated"] == 1 and review.flow["created"] == 1
    assert [d.description for d in review.defects] == ["Wrong price on a quote"]


def test_problem_cases_say_why_and_what_to_do(actor, org, user, helper):
    overdue = make(org, None, due=DAY - dt.timedelta(days=1), queue="customer_service")
    escalated = make(org, None, due=DAY + dt.timedelta(days=10), queue="inside_sales")
    task_services.task_escalate(
        actor=actor, task_id=escalated.pk, queue="special_projects_coordinator", reason="Five sites"
    )
    untouched = make(org, helper, due=DAY + dt.timedelta(days=10), queue="customer_service")
    touched = make(org, helper, due=DAY + dt.timedelta(days=10), queue="customer_service")
    own_todo = make(org, user, due=DAY + dt.timedelta(days=10))  # no queue: never "untouched"
    Task.objects.filter(pk__in=[untouched.pk, own_todo.pk]).update(
        updated_at=at(DAY - dt.timedelta(days=4))
    )
    Task.objects.filter(pk=touched.pk).update(updated_at=at(DAY - dt.timedelta(days=2)))
    cases = work_selectors.problem_cases(actor=actor, date=DAY)
    by_id = {c["task_id"]: c for c in cases}
    assert set(by_id) == {overdue.pk, escalated.pk, untouched.pk}
    assert cases[0]["task_id"] == overdue.pk  # the most overdue first
    assert by_id[overdue.pk]["reasons"] == [
        {"kind": "overdue", "days": 1, "text": "overdue by 1 day"}
    ]
    assert by_id[overdue.pk]["action"] == "Take it from the queue and finish it today"
    assert by_id[escalated.pk]["reasons"][0]["detail"] == "Five sites"
    assert by_id[escalated.pk]["queue"] == "special_projects_coordinator"
    assert by_id[escalated.pk]["actions"] == [
        "Someone in the Special-projects coordinator queue takes it"
    ]
    assert by_id[untouched.pk]["reason"] == "claimed but untouched for 4 days"
    assert "cara@piql.test" in by_id[untouched.pk]["action"]
    assert "put it back in the Customer service queue" in by_id[untouched.pk]["action"]
    review = work_selectors.wip_review(actor=actor, date=DAY)
    assert [p["task_id"] for p in review.problems] == [c["task_id"] for c in cases]


def test_late_within_widens_the_window(actor, org):
    # DAY is a Monday: Tuesday is 1 working day ahead, Friday 4.
    tuesday = make(org, None, due=DAY + dt.timedelta(days=1), queue="customer_service")
    friday = make(org, None, due=DAY + dt.timedelta(days=4), queue="customer_service")
    default = work_selectors.wip_review(actor=actor, date=DAY)
    assert default.late_within == 2
    assert [r["task_id"] for r in default.late_risk] == [tuesday.pk]
    wide = work_selectors.wip_review(actor=actor, date=DAY, late_within=4)
    assert [r["task_id"] for r in wide.late_risk] == [tuesday.pk, friday.pk]
    today_only = work_selectors.wip_review(actor=actor, date=DAY, late_within=0)
    assert today_only.late_risk == []


def test_the_review_shows_open_defects_first_and_old_open_ones_too(actor):
    old_open = defects.defect_create(
        actor=actor, data={"found_on": DAY - dt.timedelta(days=60), "description": "Old, open"}
    )
    defects.defect_create(
        actor=actor,
        data={
            "found_on": DAY - dt.timedelta(days=60),
            "description": "Old, fixed",
            "fixed_on": DAY - dt.timedelta(days=59),
        },
    )
    recent_fixed = defects.defect_create(
        actor=actor,
        data={"found_on": DAY, "description": "Recent, fixed", "fixed_on": DAY},
    )
    deleted = defects.defect_create(actor=actor, data={"found_on": DAY, "description": "Gone"})
    defects.defect_delete(actor=actor, defect_id=deleted.pk)
    review = work_selectors.wip_review(actor=actor, date=DAY)
    assert [d.pk for d in review.defects] == [old_open.pk, recent_fixed.pk]


def test_parse_review_query_late_within(actor):
    assert work_selectors.parse_review_query({"late_within": "5"})["late_within"] == 5
    assert work_selectors.parse_review_query({})["late_within"] == 2
    for bad in ("-1", "31", "two", "1.5"):
        with pytest.raises(ValidationFailed) as raised:
            work_selectors.parse_review_query({"late_within": bad})
        assert [p.loc for p in raised.value.problems] == [("query", "late_within")]
