"""Demo data for capacity planning: one plan in the first demo organisation built like the
chapter's illustration (seed 004) — ten salespeople at two business-development meetings a
week and two sales managers today; a new model of two salespeople with two coordinators, four
project leaders and customer service up by 60 %, for a payroll about 310,000 lower and twice the
business-development capacity — with the example activities given to roles and the transition
checklist under way."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Sequence
from datetime import timedelta

from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.accounts.models import Membership, Organisation, Role
from salesline.capacity import services as capacity
from salesline.capacity import simulation
from salesline.capacity.resourcing import parse_plan
from salesline.core.errors import DomainError
from salesline.pipeline.models import Opportunity
from salesline.scheduling import appointment_services

PLAN_NAME = "Division of labour 2027"

# Today: 10 salespeople at 2 a week (20 meetings), 2 sales managers, 5 in customer service.
# Planned: ceil((20 + 20) / 20) = 2 salespeople and 2 coordinators; 40 meetings / 1.75 a deal
# (the default stages) = 22.9 opportunities, x 0.1 becoming projects x 12 half-days = 27.4
# half-days a week, 4 project leaders at 80 %; 450 service tasks of
# 30 minutes = 225 hours a week, 8 representatives at 80 % (5 today: +60 %).
DOCUMENT = {
    "currency": "EUR",
    "capacity_per_salesperson": 20,
    "current": {"salespeople": 10, "meetings_per_salesperson": 2},
    "incremental": {"existing_accounts": 12, "neglected_opportunities": 8},
    "project_share": 0.1,
    "project_half_days": 12,
    "customer_service": {"tasks_per_week": 450, "minutes_per_task": 30, "target_utilisation": 0.8},
    "language_regions": 1,
    "support_locations": 1,
    "salaries": {
        "salesperson": 110000,
        "sales_coordinator": 55000,
        "project_leader": 110000,
        "customer_service": 45000,
        "promotions_coordinator": 60000,
        "sales_support_manager": 85000,
        "sales_manager": 130000,
    },
    "before": {"salesperson": 10, "sales_manager": 2, "customer_service": 5},
}


# The demo's stored simulation: small enough to run in a second or two when the demo loads.
SIMULATED_WEEKS, SIMULATED_REPLICATIONS, SIMULATION_SEED = 26, 5, 2026


def _held_meetings(organisation: Organisation, rng: random.Random) -> None:
    """The four complete weeks before this one on each salesperson's calendar: one to three
    business-development meetings a week (the chapter's "around 2"), so the plan page measures
    the volume from the calendars and shows it beside the entered estimate."""
    actor = accounts.system_actor(organisation, "demo")
    opportunities = list(
        Opportunity.objects.filter(
            organisation=organisation, status=Opportunity.Status.OPEN, deleted_at=None
        ).values_list("pk", flat=True)[:200]
    )
    salespeople = sorted(
        set(
            Membership.objects.filter(
                organisation=organisation, role=Role.SALESPERSON, user__is_active=True
            ).values_list("user_id", flat=True)
        )
    )
    if not opportunities:
        return
    today = timezone.localdate()
    this_monday = today - timedelta(days=today.weekday())
    for salesperson_id in salespeople:
        for week in range(1, 5):
            monday = this_monday - timedelta(weeks=week)
            for day in sorted(rng.sample(range(5), rng.randint(1, 3))):
                starts = dt.datetime.combine(
                    monday + timedelta(days=day), dt.time(10), tzinfo=dt.UTC
                )
                # A rule that says no (a day off in the person's pattern) leaves the slot free.
                with contextlib.suppress(DomainError):
                    appointment_services.appointment_create(
                        actor=actor,
                        data={
                            "kind": "business_development",
                            "owner_id": salesperson_id,
                            "starts_at": starts,
                            "ends_at": starts + timedelta(hours=1),
                            "opportunity_id": rng.choice(opportunities),
                            "objective": "Agree the next step of the proposal.",
                            "title": "Business-development visit",
                            "outcome": "Next meeting agreed.",
                        },
                    )


def capacity_at_work(organisations: Sequence[Organisation]) -> None:
    """The chapter's plan in the first demo organisation: a month of held meetings on the
    salespeople's calendars to measure, its checklist started six weeks ago with the first step
    done, and a simulation of today against the plan."""
    organisation = organisations[0]
    actor = accounts.system_actor(organisation, "demo")
    _held_meetings(organisation, random.Random(SIMULATION_SEED))  # noqa: S311 - demo data
    plan = capacity.plan_create(
        actor=actor, data={"name": PLAN_NAME, "document": DOCUMENT}, suggested_activities=True
    )
    admin_id = (
        Membership.objects.filter(organisation=organisation, role=Role.ADMIN)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .first()
    )
    start = timezone.localdate() - timedelta(weeks=6)
    steps = capacity.transition_generate(
        actor=actor, plan_id=plan.pk, start=start, owner_id=admin_id
    )
    capacity.transition_step_update(
        actor=actor, plan_id=plan.pk, step_id=steps[0].pk, data={"done": True}
    )
    # Customer service is fixed by whoever runs it, when there is such a member.
    service_lead = (
        Membership.objects.filter(organisation=organisation, role=Role.CUSTOMER_SERVICE)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .first()
    )
    if service_lead is not None:
        fix_service = next(step for step in steps if step.key == "fix_customer_service")
        capacity.transition_step_update(
            actor=actor, plan_id=plan.pk, step_id=fix_service.pk, data={"owner_id": service_lead}
        )
    parameters = {
        "weeks": SIMULATED_WEEKS,
        "replications": SIMULATED_REPLICATIONS,
        "seed": SIMULATION_SEED,
    }
    answer = simulation.simulate(parse_plan(DOCUMENT), processes=1, **parameters)
    capacity.plan_simulation_store(
        actor=actor, plan_id=plan.pk, answer=answer, parameters=parameters
    )
