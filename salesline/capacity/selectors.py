"""Reads of saved capacity plans, scoped to the actor's organisation, and the organisation's own
figures that help fill a plan in: the business-development meetings held (from the calendars,
through core.measures, when the scheduling app provides them), the existing accounts and the
neglected opportunities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from salesline.core import measures
from salesline.core.actors import Actor
from salesline.core.errors import NotFound
from salesline.core.ids import is_id
from salesline.pipeline.models import Opportunity

from .models import CapacityPlan
from .resourcing import PlanResult, evaluate, parse_plan
from .services import require_manage
from .transition import QUADRANTS, check_activities

#: An open opportunity nobody has moved or changed for this long is neglected (seed 004: the
#: "under-exploited opportunities" salespeople deem unqualified and leave alone).
NEGLECTED_AFTER_DAYS = 30
MEASURED_WEEKS = 4


def plan_list(*, actor: Actor, deleted: bool = False) -> QuerySet[CapacityPlan]:
    require_manage(actor)
    return CapacityPlan.objects.filter(
        organisation=actor.organisation, deleted_at__isnull=not deleted
    ).order_by("name", "pk")


def plan_get_for(*, actor: Actor, plan_id: Any, deleted: bool = False) -> CapacityPlan:
    require_manage(actor)
    if not is_id(plan_id):
        raise NotFound(f"No capacity plan with id {plan_id}.")
    plan = plan_list(actor=actor, deleted=deleted).filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(f"No capacity plan with id {plan_id}.")
    return plan


def measurement_period(
    measured_from: date | None, *, today: date | None = None
) -> tuple[date, date]:
    """[start, end): the calendar month from `measured_from`, else the last four complete
    weeks (Monday to Monday) before today."""
    if measured_from is not None:
        start = measured_from.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return start, end
    today = today or timezone.localdate()
    end = today - timedelta(days=today.weekday())
    return end - timedelta(weeks=MEASURED_WEEKS), end


def measured_meetings(*, actor: Actor, start: date, end: date) -> dict[str, Any] | None:
    """The calendars' count of held business-development meetings (scheduling's
    "business_development_meetings"), or None when no app provides it. With no meeting held,
    the answer says 0 and pages say there is nothing to measure yet."""
    return measures.measure("business_development_meetings", actor=actor, start=start, end=end)


@dataclass(frozen=True)
class DataHints:
    existing_accounts: int  # companies with a won opportunity
    neglected_opportunities: int  # open, untouched for NEGLECTED_AFTER_DAYS
    open_opportunities: int


def data_hints(*, actor: Actor) -> DataHints:
    """Counts that help estimate the incremental volume (the page shows them beside the two
    entered figures)."""
    opportunities = Opportunity.objects.filter(
        organisation=actor.organisation, deleted_at__isnull=True
    )
    since = timezone.now() - timedelta(days=NEGLECTED_AFTER_DAYS)
    existing_accounts = (
        opportunities.filter(status=Opportunity.Status.WON, company__isnull=False)
        .values("company_id")
        .distinct()
        .count()
    )
    open_ones = opportunities.filter(status=Opportunity.Status.OPEN)
    return DataHints(
        existing_accounts=existing_accounts,
        neglected_opportunities=open_ones.filter(
            Q(stage_entered_at__lt=since) & Q(updated_at__lt=since)
        ).count(),
        open_opportunities=open_ones.count(),
    )


@dataclass(frozen=True)
class PlanView:
    """Everything a plan's page and its API read shows: the result of the arithmetic with the
    measured volume beside the entered one, the activity map checked, and the checklist."""

    plan: CapacityPlan
    result: PlanResult
    measured: dict[str, Any] | None
    hints: DataHints
    activities: list[Any]
    unowned_activities: list[str]
    roles_without_activity: list[str]
    unstaffed_activities: list[str]  # given to a role with nobody planned
    quadrants: dict[tuple[bool, bool], list[Any]]
    steps: list[Any]


def plan_view(*, actor: Actor, plan_id: Any) -> PlanView:
    plan = plan_get_for(actor=actor, plan_id=plan_id)
    start, end = measurement_period(plan.measured_from)
    measured = measured_meetings(actor=actor, start=start, end=end)
    per_salesperson = measured.get("per_salesperson_per_week") if measured else None
    # Nothing held in the period is no measurement (an empty calendar is not "0 a week").
    measured_figure = per_salesperson if measured and measured.get("meetings") else None
    result = evaluate(parse_plan(plan.document), measured_meetings_per_salesperson=measured_figure)
    activities = list(plan.activities.all())
    check = check_activities(((a.name, a.role) for a in activities), result.roles)
    quadrants: dict[tuple[bool, bool], list[Any]] = {key: [] for key in QUADRANTS}
    for activity in activities:
        quadrants[(activity.inside, activity.selling)].append(activity)
    return PlanView(
        plan=plan,
        result=result,
        measured=measured,
        hints=data_hints(actor=actor),
        activities=activities,
        unowned_activities=check.unowned,
        roles_without_activity=check.roles_without_activity,
        unstaffed_activities=check.unstaffed,
        quadrants=quadrants,
        steps=list(plan.transition_steps.select_related("owner", "done_by")),
    )


#: The simulator counts working days (5 a week); the flow history, calendar days.
WORKING_DAYS_PER_CALENDAR_DAY = 5 / 7
#: The longest stay in a stage the simulator accepts (simulation.stages.N.days), and the longest
#: stage name: observed figures are cut to them so that they can be used as they stand.
MAX_STAGE_DAYS = 365
MAX_STAGE_NAME = 80


def observed_stages(
    actor: Actor, *, start: date | None = None, end: date | None = None
) -> list[dict[str, Any]] | None:
    """The `simulation.stages` of a plan from the organisation's own data: per open stage of
    the default pipeline, the observed conversion to the next stage and the median time in it
    (analytics' "stage_flow", through core.measures), in working days. Stages with no stay
    ended in the period are left out; None when no app provides the figures or no stage has
    any. Days are capped at MAX_STAGE_DAYS, the simulator's limit."""
    flow = measures.measure("stage_flow", actor=actor, start=start, end=end)
    if not flow:
        return None
    stages = [
        {
            "name": stage["name"][:MAX_STAGE_NAME],
            "conversion": round(stage["conversion_to_next"], 4),
            "days": min(
                MAX_STAGE_DAYS,
                round((stage["median_days_in_stage"] or 0) * WORKING_DAYS_PER_CALENDAR_DAY, 1),
            ),
        }
        for stage in flow["stages"]
        if stage["conversion_to_next"] is not None
    ]
    return stages or None
