"""The chapter's transition (seed 004) as a checklist, and the activity-to-role map's rules.
Pure: no Django. The services turn STEPS into tracked rows with owners and dates.

"Start at the factory door and work backwards": customer service is fixed before anything that
raises sales activity, and there are no special promotions until opportunity management is
centralised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .resourcing import ROLE_SINGULAR


@dataclass(frozen=True)
class TransitionStepSpec:
    key: str
    title: str
    guidance: str
    weeks_after_start: int  # the suggested due date, counted from the transition's start


STEPS: tuple[TransitionStepSpec, ...] = (
    TransitionStepSpec(
        "appoint_champion",
        "Appoint a project champion",
        "A senior executive, or an up-and-coming team member, full time: a change of this "
        "size is managed as a project.",
        1,
    ),
    TransitionStepSpec(
        "sell_direction",
        "Sell the direction of the solution",
        "Tell the team as soon as there is a plan: the current model's problems with the "
        "evidence, division of labour as the answer, customer service first, nobody demoted "
        "or paid less, no decrease in overall headcount.",
        3,
    ),
    TransitionStepSpec(
        "fix_customer_service",
        "Fix customer service",
        "Phase 1, and it must succeed quickly and conspicuously: capacity, standard workflows "
        "and checklists, daily work-in-progress meetings, the authority to decide on the spot. "
        "Sales activity must not rise before this is done.",
        12,
    ),
    TransitionStepSpec(
        "recruit_coordinators",
        "Recruit sales coordinators and train them",
        "One per field salesperson; smart recent graduates trained from scratch in the product "
        "and the CRM, a few days in the field with the salesperson they will partner.",
        16,
    ),
    TransitionStepSpec(
        "centralise",
        "Centralise opportunity management, repeat transactions and project leadership",
        "At one time, all or nothing: coordinators own the salespeople's calendars, repeat "
        "orders and issues go to customer service, project leaders take every technical "
        "activity. No period of overlapping responsibilities.",
        20,
    ),
    TransitionStepSpec(
        "scale_up_flow",
        "Scale up opportunity flow",
        "First schedule the existing open opportunities, then meetings with existing clients; "
        "no special promotions until the new model runs and sales support has protective "
        "capacity.",
        28,
    ),
)

#: Who an activity may be given to: the planned roles and inside sales (the chapter adds
#: inside salespeople once the team is restructured).
ACTIVITY_ROLES: dict[str, str] = {**ROLE_SINGULAR, "inside_sales": "Inside salesperson"}

#: The Boston matrix's quadrants: (inside, selling) -> its name.
QUADRANTS: dict[tuple[bool, bool], str] = {
    (False, True): "Outside, selling",
    (False, False): "Outside, not selling",
    (True, True): "Inside, selling",
    (True, False): "Inside, not selling",
}

#: A starting set a manager edits: account management unpacked (seed 004's example).
SUGGESTED_ACTIVITIES: tuple[tuple[str, bool, bool, str], ...] = (
    ("Business-development meetings", False, True, "salesperson"),
    ("Technical site surveys", False, False, "project_leader"),
    ("Post-sale project leadership", False, False, "project_leader"),
    ("Scheduling salespeople's meetings", True, False, "sales_coordinator"),
    ("Opportunity follow-up and proposals", True, True, "sales_coordinator"),
    ("Outbound calls for simple orders", True, True, "inside_sales"),
    ("Quotations for repeat orders", True, True, "customer_service"),
    ("Order entry and management", True, False, "customer_service"),
    ("Issue management", True, False, "customer_service"),
    ("Proactive delivery-date updates", True, False, "customer_service"),
    ("Campaigns and lead generation", True, True, "promotions_coordinator"),
    ("Reporting and sales meetings", True, False, "sales_support_manager"),
)


@dataclass(frozen=True)
class ActivityCheck:
    unowned: list[str]  # activities nobody is given
    roles_without_activity: list[str]  # planned roles (with people) given nothing to do
    # Activities given to a role with nobody planned (inside sales, which the planner never
    # sizes; project leaders in a simple environment): named, yet nobody would do them.
    unstaffed: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unowned and not self.unstaffed


def check_activities(
    activities: Iterable[tuple[str, str]], planned_roles: Mapping[str, int]
) -> ActivityCheck:
    """activities: (name, role key or ""); planned_roles: role key -> headcount planned (a
    role missing from it has nobody planned)."""
    listed = list(activities)
    owned_roles = {role for _, role in listed if role}
    return ActivityCheck(
        unowned=[name for name, role in listed if not role],
        unstaffed=[name for name, role in listed if role and not planned_roles.get(role, 0)],
        roles_without_activity=[
            role for role, count in planned_roles.items() if count and role not in owned_roles
        ],
    )
