"""The capacity demo: the chapter's illustration as a saved plan, its activities with roles, the
transition checklist with owners and dates, the first step done."""

from salesline.accounts import services as accounts
from salesline.capacity import selectors
from salesline.capacity.models import CapacityPlan
from salesline.demo_capacity import PLAN_NAME, capacity_at_work


def test_capacity_at_work(org, admin_user, admin_actor):
    service = accounts.user_create(
        email="cs@piql.test", actor=accounts.system_actor(org), role="customer_service"
    )
    capacity_at_work([org])
    plan = CapacityPlan.objects.get(organisation=org)
    assert plan.name == PLAN_NAME
    view = selectors.plan_view(actor=admin_actor, plan_id=plan.pk)
    result = view.result
    assert result.roles == {
        "salesperson": 2,
        "sales_coordinator": 2,
        "project_leader": 4,
        "customer_service": 8,
        "promotions_coordinator": 1,
        "sales_support_manager": 1,
        "sales_manager": 0,
    }
    # Customer service +60 % (5 to 8), payroll down 310,000, capacity doubled, no warning.
    assert result.plan.before["customer_service"] == 5
    assert result.verdict() == "payroll −310,000 EUR, business-development capacity ×2"
    assert [w.rule for w in result.warnings] == []
    assert view.activities and not view.unowned_activities
    steps = view.steps
    assert len(steps) == 6 and all(step.due_date for step in steps)
    assert [step.done_at is not None for step in steps] == [True] + [False] * 5
    owners = {step.key: step.owner_id for step in steps}
    assert owners["fix_customer_service"] == service.pk
    assert owners["appoint_champion"] == admin_user.pk


def test_the_demo_plan_has_a_stored_simulation_and_a_month_to_measure(
    org, admin_actor, user, opportunity
):
    """The salesperson's calendar holds a month of business-development meetings the page
    measures, and the plan carries a simulation of today against the plan."""
    capacity_at_work([org])
    plan = CapacityPlan.objects.get(organisation=org)
    view = selectors.plan_view(actor=admin_actor, plan_id=plan.pk)
    assert view.measured is not None and view.measured["meetings"] >= 4
    assert view.measured["by_person"][0]["user_id"] == user.pk
    names = [scenario["name"] for scenario in plan.simulation["scenarios"]]
    assert names == ["today", "plan"]
    assert plan.simulation["parameters"]["seed"] == 2026
