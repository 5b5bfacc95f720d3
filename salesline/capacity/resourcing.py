"""The resourcing planner and its economics: the chapter's method (seed 004) as arithmetic.
Pure (no Django): a plan file's mapping in, a `PlanResult` out.

The method, each step as `Step` in the result so a page can explain it in plain words:

1. current weekly business-development volume = salespeople today x their measured weekly
   meetings each;
2. readily-achievable incremental volume = from existing accounts + from neglected
   opportunities (entered);
3. field salespeople = ceil((current + incremental) / capacity per salesperson), capacity 20;
4. sales coordinators = field salespeople (one each, not negotiable);
5. project leaders (complex environments, `project_share` > 0) = ceil(half-days of project
   work arriving a week / half-days a project leader can give a week at
   `PROJECT_LEADER_UTILISATION`), where projects a week = the field team's meetings at full
   capacity (salespeople x capacity: management keeps them fully used, and support is sized
   so it never becomes the constraint) x `project_share`. The utilisation below 1 is the
   allowance for resource contention: a project leader cannot be kept fully busy by
   salespeople who are themselves fully busy;
6. customer service = ceil(hours of tasks a week / (`HOURS_PER_WEEK` x target utilisation));
7. promotions coordinators = language regions; sales-support managers = support locations; a
   dedicated sales manager only for a field team of more than two.

Economics: payroll before (today's headcount x salary) and after (the planned roles x salary),
per role and in total, and business-development capacity before (the measured volume) and after
(salespeople x capacity each). Warnings name the chapter's rules a plan breaks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The planned roles, in the order the chapter sizes them (field first, working backwards).
ROLES: tuple[str, ...] = (
    "salesperson",
    "sales_coordinator",
    "project_leader",
    "customer_service",
    "promotions_coordinator",
    "sales_support_manager",
    "sales_manager",
)
ROLE_LABELS: dict[str, str] = {
    "salesperson": "Field salespeople",
    "sales_coordinator": "Sales coordinators",
    "project_leader": "Project leaders",
    "customer_service": "Customer service",
    "promotions_coordinator": "Promotions coordinators",
    "sales_support_manager": "Sales-support managers",
    "sales_manager": "Sales manager",
}
#: One person's role in words, for a diagram's circles and the activity map.
ROLE_SINGULAR: dict[str, str] = {
    "salesperson": "Field salesperson",
    "sales_coordinator": "Sales coordinator",
    "project_leader": "Project leader",
    "customer_service": "Customer-service representative",
    "promotions_coordinator": "Promotions coordinator",
    "sales_support_manager": "Sales-support manager",
    "sales_manager": "Sales manager",
}

DEFAULT_CAPACITY = 20.0  # business-development meetings a week in the new model
DEFAULT_TARGET_UTILISATION = 0.8  # customer service's protective capacity
PROTECTIVE_UTILISATION = 0.8  # above it, a sales-support role risks becoming the constraint
PROJECT_LEADER_UTILISATION = 0.8  # the allowance for resource contention
HALF_DAYS_PER_WEEK = 10
HOURS_PER_WEEK = 37.5
TEN_TIMES = 10
MAX_COUNT = 1_000_000  # a headcount or weekly volume beyond this is a typo, not a plan
MAX_MONEY = 10**12

#: The funnel the planner and the simulator assume when a plan's `simulation.stages` gives none:
#: each stage's conversion to the next, days in it and business-development meetings held in it.
DEFAULT_STAGES: tuple[dict[str, Any], ...] = (
    {"name": "Qualify", "conversion": 0.5, "days": 5, "meetings": 1},
    {"name": "Propose", "conversion": 0.5, "days": 10, "meetings": 1},
    {"name": "Negotiate", "conversion": 0.6, "days": 10, "meetings": 1},
)

TOP_LEVEL_KEYS = (
    "currency",
    "capacity_per_salesperson",
    "current",
    "incremental",
    "project_share",
    "project_half_days",
    "customer_service",
    "language_regions",
    "support_locations",
    "salaries",
    "before",
    # Read by the simulator (salesline.capacity.simulation), kept here so one parser names
    # every key a plan file may have.
    "simulation",
    "scenarios",
)
CURRENT_KEYS = ("salespeople", "meetings_per_salesperson")
INCREMENTAL_KEYS = ("existing_accounts", "neglected_opportunities")
CUSTOMER_SERVICE_KEYS = ("tasks_per_week", "minutes_per_task", "target_utilisation")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class PlanInvalid(ValueError):
    """Every problem of a plan file at once: (dotted key, message) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{key}: {message}" for key, message in self.problems))


@dataclass(frozen=True)
class PlanInput:
    currency: str = "EUR"
    capacity_per_salesperson: float = DEFAULT_CAPACITY
    current_salespeople: int = 0
    meetings_per_salesperson: float = 0.0
    incremental_existing_accounts: float = 0.0
    incremental_neglected_opportunities: float = 0.0
    project_share: float = 0.0
    project_half_days: float = 0.0
    service_tasks_per_week: float = 0.0
    service_minutes_per_task: float = 0.0
    service_target_utilisation: float = DEFAULT_TARGET_UTILISATION
    language_regions: int = 1
    support_locations: int = 1
    salaries: Mapping[str, float] = field(default_factory=dict)
    before: Mapping[str, int] = field(default_factory=dict)
    # The simulator's sections as given (validated by salesline.capacity.simulation).
    simulation: Mapping[str, Any] = field(default_factory=dict)
    scenarios: Sequence[Mapping[str, Any]] = ()

    @property
    def current_volume(self) -> float:
        return self.current_salespeople * self.meetings_per_salesperson

    @property
    def incremental_volume(self) -> float:
        return self.incremental_existing_accounts + self.incremental_neglected_opportunities


# ---------------------------------------------------------------- parsing


class _Reader:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def section(self, data: Mapping[str, Any], key: str, allowed: Sequence[str]) -> Mapping:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problems.append((key, "must be a mapping of keys to values"))
            return {}
        for name in value:
            if name not in allowed:
                self.problems.append(
                    (f"{key}.{name}", f"unknown key; expected one of {', '.join(allowed)}")
                )
        return value

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        default: float,
        *,
        minimum: float = 0.0,
        maximum: float = MAX_COUNT,
        above_minimum: bool = False,
        whole: bool = False,
    ) -> float:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.append((path, f"must be a number, not {value!r}"[:200]))
            return default
        if isinstance(value, int) and abs(value) > MAX_MONEY * 1000:
            # Checked as an int: a float of it would overflow (10**400 in a JSON file).
            bound = f"at least {minimum:g}" if value < 0 else f"at most {maximum:g}"
            self.problems.append((path, f"must be {bound}"))
            return default
        if not math.isfinite(value):
            self.problems.append((path, "must be a finite number"))
            return default
        if whole and value != int(value):
            self.problems.append((path, f"must be a whole number, not {value}"))
            return default
        if value < minimum or (above_minimum and value == minimum):
            relation = "greater than" if above_minimum else "at least"
            self.problems.append((path, f"must be {relation} {minimum:g}, not {value:g}"))
            return default
        if value > maximum:
            self.problems.append((path, f"must be at most {maximum:g}, not {value:g}"))
            return default
        return int(value) if whole else float(value)

    def role_amounts(
        self, data: Mapping[str, Any], key: str, *, whole: bool, maximum: float
    ) -> dict[str, Any]:
        section = data.get(key)
        if section is None:
            return {}
        if not isinstance(section, Mapping):
            self.problems.append((key, "must be a mapping of role keys to numbers"))
            return {}
        amounts: dict[str, Any] = {}
        for role, value in section.items():
            path = f"{key}.{role}"
            if role not in ROLES:
                self.problems.append((path, f"unknown role; expected one of {', '.join(ROLES)}"))
                continue
            if value is None:
                continue
            before = len(self.problems)
            amount = self.number(section, role, path, 0, whole=whole, maximum=maximum)
            if len(self.problems) == before:
                amounts[role] = amount
        return amounts


def parse_plan(data: Any) -> PlanInput:
    """A plan file's mapping as a `PlanInput`; every key not in the format, and every value out
    of range, is reported at once as `PlanInvalid`, each problem naming its dotted key."""
    if not isinstance(data, Mapping):
        raise PlanInvalid([("", "a plan must be a mapping of keys to values")])
    read = _Reader()
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            read.problems.append(
                (str(key), f"unknown key; expected one of {', '.join(TOP_LEVEL_KEYS)}")
            )
    currency = data.get("currency")
    if currency is None:  # absent, or an empty `currency:` in YAML, like every other key
        currency = "EUR"
    if not isinstance(currency, str) or not _CURRENCY.match(currency.strip().upper()):
        read.problems.append(("currency", "must be a three-letter ISO 4217 code such as EUR"))
        currency = "EUR"
    current = read.section(data, "current", CURRENT_KEYS)
    incremental = read.section(data, "incremental", INCREMENTAL_KEYS)
    service = read.section(data, "customer_service", CUSTOMER_SERVICE_KEYS)
    current_salespeople = int(
        read.number(current, "salespeople", "current.salespeople", 0, whole=True)
    )
    before = read.role_amounts(data, "before", whole=True, maximum=MAX_COUNT)
    if data.get("before") is None:
        # Without a headcount today, the salespeople measured are the payroll before.
        before = {"salesperson": current_salespeople}
    simulation = data.get("simulation") or {}
    if not isinstance(simulation, Mapping):
        read.problems.append(("simulation", "must be a mapping of keys to values"))
        simulation = {}
    scenarios = data.get("scenarios") or []
    if not isinstance(scenarios, Sequence) or isinstance(scenarios, str):
        read.problems.append(("scenarios", "must be a list of named scenarios"))
        scenarios = []
    plan = PlanInput(
        currency=currency.strip().upper(),
        capacity_per_salesperson=read.number(
            data,
            "capacity_per_salesperson",
            "capacity_per_salesperson",
            DEFAULT_CAPACITY,
            above_minimum=True,
            maximum=1000,
        ),
        current_salespeople=current_salespeople,
        meetings_per_salesperson=read.number(
            current,
            "meetings_per_salesperson",
            "current.meetings_per_salesperson",
            0.0,
            maximum=1000,
        ),
        incremental_existing_accounts=read.number(
            incremental, "existing_accounts", "incremental.existing_accounts", 0.0
        ),
        incremental_neglected_opportunities=read.number(
            incremental, "neglected_opportunities", "incremental.neglected_opportunities", 0.0
        ),
        project_share=read.number(data, "project_share", "project_share", 0.0, maximum=1.0),
        project_half_days=read.number(
            data, "project_half_days", "project_half_days", 0.0, maximum=100_000
        ),
        service_tasks_per_week=read.number(
            service, "tasks_per_week", "customer_service.tasks_per_week", 0.0
        ),
        service_minutes_per_task=read.number(
            service, "minutes_per_task", "customer_service.minutes_per_task", 0.0, maximum=10_000
        ),
        service_target_utilisation=read.number(
            service,
            "target_utilisation",
            "customer_service.target_utilisation",
            DEFAULT_TARGET_UTILISATION,
            above_minimum=True,
            maximum=1.0,
        ),
        language_regions=int(
            read.number(data, "language_regions", "language_regions", 1, whole=True)
        ),
        support_locations=int(
            read.number(data, "support_locations", "support_locations", 1, whole=True)
        ),
        salaries=read.role_amounts(data, "salaries", whole=False, maximum=MAX_MONEY),
        before=before,
        simulation=simulation,
        scenarios=list(scenarios),
    )
    if read.problems:
        raise PlanInvalid(read.problems)
    return plan


# ---------------------------------------------------------------- arithmetic


def ceil_count(value: float) -> int:
    """Whole people for a fractional need; 2.0000000001 from float arithmetic is 2, not 3."""
    return max(0, math.ceil(round(value, 9)))


def salespeople_needed(volume_per_week: float, capacity_per_salesperson: float) -> int:
    return ceil_count(volume_per_week / capacity_per_salesperson)


def project_leaders_needed(projects_per_week: float, project_half_days: float) -> tuple[int, float]:
    """(project leaders, half-days of project work arriving a week)."""
    load = projects_per_week * project_half_days
    if load <= 0:
        return 0, 0.0
    return ceil_count(load / (HALF_DAYS_PER_WEEK * PROJECT_LEADER_UTILISATION)), load


def customer_service_needed(plan: PlanInput) -> tuple[int, float]:
    """(representatives, hours of tasks a week)."""
    hours = plan.service_tasks_per_week * plan.service_minutes_per_task / 60
    if hours <= 0:
        return 0, 0.0
    return ceil_count(hours / (HOURS_PER_WEEK * plan.service_target_utilisation)), hours


def funnel(stages: Sequence[tuple[float, int]]) -> tuple[float, float]:
    """(meetings an arriving opportunity holds on average, the share of arriving opportunities
    won) for stages given as (conversion, meetings): a stage's meetings count with the chance
    of reaching it; the share won is the product of the conversions. The one definition the
    planner's project load and the simulator's arrivals share."""
    meetings, reach = 0.0, 1.0
    for conversion, held in stages:
        meetings += reach * held
        reach *= conversion
    return meetings, reach


MAX_STAGE_MEETINGS = 10
# The simulator's defaults for a meeting's length (with travel) and a salesperson's daily cap;
# the planner reads them to tell a weekly capacity nobody can deliver.
DEFAULT_MEETING_HOURS = 1.5
DEFAULT_MEETINGS_PER_DAY = 4
DAYS_PER_WEEK = 5


def deliverable_meetings(simulation: Mapping[str, Any]) -> tuple[float, float, int]:
    """(meetings a salesperson can hold in a week, `meeting_hours`, `meetings_per_day`): the
    day's cap x 5 or the 37.5-hour week's meetings, whichever is lower. Read leniently, like
    `plan_funnel`: a value the simulator would refuse counts as its default."""
    section = simulation if isinstance(simulation, Mapping) else {}
    hours = section.get("meeting_hours")
    if (
        isinstance(hours, bool)
        or not isinstance(hours, int | float)
        or not math.isfinite(hours)
        or not 0 < hours <= HOURS_PER_WEEK / DAYS_PER_WEEK
    ):
        hours = DEFAULT_MEETING_HOURS
    per_day = section.get("meetings_per_day")
    if (
        isinstance(per_day, bool)
        or not isinstance(per_day, int | float)
        or not math.isfinite(per_day)
        or per_day != int(per_day)
        or not 1 <= per_day <= 20
    ):
        per_day = DEFAULT_MEETINGS_PER_DAY
    return min(int(per_day) * DAYS_PER_WEEK, HOURS_PER_WEEK / hours), float(hours), int(per_day)


def stage_conversion(value: Any) -> float | None:
    """A stage's `conversion` as the simulator accepts it (a number from 0 to 1), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not 0 <= value <= 1:
        return None
    return float(value)


def stage_meetings(value: Any) -> int | None:
    """A stage's `meetings` as the simulator accepts it: a whole number from 0 to 10, written
    2 or 2.0 (YAML and JSON both give floats for 2.0); else None. The one check the planner's
    funnel and the simulator share, so they agree on which stages count."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value != int(value) or not 0 <= value <= MAX_STAGE_MEETINGS:
        return None
    return int(value)


def plan_funnel(simulation: Mapping[str, Any]) -> tuple[float, float]:
    """`funnel` of the plan's `simulation.stages`, or of DEFAULT_STAGES when it gives none or
    something the simulator would refuse (the simulator names those problems)."""
    given = simulation.get("stages") if isinstance(simulation, Mapping) else None
    stages: list[tuple[float, int]] = []
    if isinstance(given, Sequence) and not isinstance(given, str) and given:
        for stage in given:
            if not isinstance(stage, Mapping):
                break
            conversion = stage_conversion(stage.get("conversion"))
            given_held = stage.get("meetings")
            held = 1 if given_held is None else stage_meetings(given_held)
            if conversion is None or held is None:
                break
            stages.append((conversion, held))
        else:
            return funnel(stages)
    return funnel([(stage["conversion"], stage["meetings"]) for stage in DEFAULT_STAGES])


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    explanation: str  # the rule and this plan's figures in plain words
    figure: float | int | None = None


@dataclass(frozen=True)
class PlanWarning:
    rule: str
    message: str


@dataclass(frozen=True)
class RoleEconomics:
    role: str
    label: str
    before: int
    after: int
    salary: float | None
    payroll_before: float
    payroll_after: float

    @property
    def delta(self) -> float:
        return self.payroll_after - self.payroll_before


@dataclass(frozen=True)
class SensitivityRow:
    incremental_per_week: float
    volume_per_week: float
    salespeople: int
    capacity_per_week: float
    planned: bool  # the row of the plan's own increment


@dataclass(frozen=True)
class PlanResult:
    plan: PlanInput
    roles: dict[str, int]
    meetings_before: float
    meetings_after: float
    payroll_before: float
    payroll_after: float
    economics: list[RoleEconomics]
    steps: list[Step]
    warnings: list[PlanWarning]
    sensitivity: list[SensitivityRow]
    project_half_days_per_week: float = 0.0
    service_hours_per_week: float = 0.0

    @property
    def payroll_delta(self) -> float:
        return self.payroll_after - self.payroll_before

    @property
    def capacity_ratio(self) -> float | None:
        """Business-development capacity after over the volume before (None: no volume)."""
        return self.meetings_after / self.meetings_before if self.meetings_before else None

    @property
    def project_leader_ratio(self) -> float | None:
        salespeople = self.roles["salesperson"]
        return self.roles["project_leader"] / salespeople if salespeople else None

    def verdict(self) -> str:
        """One line: "payroll −310,000 EUR, business-development capacity ×2"."""
        payroll = f"payroll {signed_money(self.payroll_delta, self.plan.currency)}"
        ratio = self.capacity_ratio
        if ratio is None:
            capacity = (
                f"business-development capacity {self.meetings_after:g} meetings a week "
                "(none measured today)"
            )
        else:
            capacity = f"business-development capacity ×{ratio:.3g}"
        return f"{payroll}, {capacity}"

    def as_json(self) -> dict[str, Any]:
        """The contract's answer (docs/capacity.md)."""
        return {
            "roles": dict(self.roles),
            "meetings_per_week": {
                "before": plain_number(self.meetings_before),
                "after": plain_number(self.meetings_after),
            },
            "payroll": {
                "before": plain_number(self.payroll_before),
                "after": plain_number(self.payroll_after),
                "delta": plain_number(self.payroll_delta),
            },
            "warnings": [{"rule": w.rule, "message": w.message} for w in self.warnings],
        }


def plain_number(value: float) -> int | float:
    """20 rather than 20.0 in JSON and tables when a figure is whole; 2.5 stays 2.5."""
    rounded = round(value, 6)
    return int(rounded) if rounded == int(rounded) else rounded


def money(amount: float, currency: str) -> str:
    return f"{amount:,.0f} {currency}"


def signed_money(amount: float, currency: str) -> str:
    if round(amount) == 0:
        return f"±0 {currency}"
    sign = "+" if amount > 0 else "−"
    return f"{sign}{abs(amount):,.0f} {currency}"


def _people(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def _sensitivity(plan: PlanInput) -> list[SensitivityRow]:
    current = plan.current_volume
    increments = {0.0, plan.incremental_volume}
    for share in (0.5, 1.0):
        if current:
            increments.add(round(current * share, 2))
    rows = []
    for increment in sorted(increments):
        volume = current + increment
        salespeople = salespeople_needed(volume, plan.capacity_per_salesperson)
        rows.append(
            SensitivityRow(
                incremental_per_week=increment,
                volume_per_week=volume,
                salespeople=salespeople,
                capacity_per_week=salespeople * plan.capacity_per_salesperson,
                planned=increment == plan.incremental_volume,
            )
        )
    return rows


def evaluate(
    plan: PlanInput, *, measured_meetings_per_salesperson: float | None = None
) -> PlanResult:
    """The planned roles, the economics, the steps explained and the warnings.

    `measured_meetings_per_salesperson`: the weekly average counted from the calendars (a page
    passes it when there are held business-development meetings to count); when it differs
    from the plan's figure, a warning says by how much — the chapter's point that an estimate
    is not a measurement."""
    current = plan.current_volume
    incremental = plan.incremental_volume
    volume = current + incremental
    capacity = plan.capacity_per_salesperson
    salespeople = salespeople_needed(volume, capacity)
    meetings_after = salespeople * capacity
    meetings_per_opportunity, win_rate = plan_funnel(plan.simulation)
    # Stages that hold no meeting: each meeting is one opportunity, as the simulator counts.
    meetings_per_opportunity = meetings_per_opportunity or 1.0
    opportunities_per_week = meetings_after / meetings_per_opportunity
    # Only won deals become projects: a share above the funnel's win rate is planned at it.
    project_rate = min(plan.project_share, win_rate)
    projects_per_week = opportunities_per_week * project_rate
    leaders, project_load = project_leaders_needed(projects_per_week, plan.project_half_days)
    service, service_hours = customer_service_needed(plan)
    roles = {
        "salesperson": salespeople,
        "sales_coordinator": salespeople,
        "project_leader": leaders,
        "customer_service": service,
        "promotions_coordinator": plan.language_regions,
        "sales_support_manager": plan.support_locations,
        "sales_manager": 1 if salespeople > 2 else 0,
    }

    steps = [
        Step(
            "current",
            "Current weekly business-development volume",
            f"{_people(plan.current_salespeople, 'salesperson', 'salespeople')} today at "
            f"{plan.meetings_per_salesperson:g} true business-development meetings a week each "
            f"= {current:g} a week. Count them in the calendars over a month; do not ask for "
            "an estimate.",
            current,
        ),
        Step(
            "incremental",
            "Readily-achievable incremental volume",
            f"{plan.incremental_existing_accounts:g} a week from existing accounts + "
            f"{plan.incremental_neglected_opportunities:g} from neglected opportunities = "
            f"{incremental:g} a week. Be conservative.",
            incremental,
        ),
        Step(
            "salespeople",
            "Field salespeople",
            f"ceil(({current:g} + {incremental:g}) ÷ {capacity:g} a week each) = {salespeople}. "
            f"With everything but business development taken off them, a salesperson holds "
            f"{capacity:g} meetings a week.",
            salespeople,
        ),
        Step(
            "sales_coordinators",
            "Sales coordinators",
            f"One for each field salesperson, not negotiable: {salespeople}.",
            salespeople,
        ),
        Step(
            "project_leaders",
            "Project leaders",
            (
                f"{meetings_after:g} meetings a week (the field team at full capacity) ÷ "
                f"{meetings_per_opportunity:.3g} meetings per opportunity = "
                f"{opportunities_per_week:.3g} opportunities a week × {project_rate:g} "
                f"becoming projects = {projects_per_week:.3g} projects × "
                f"{plan.project_half_days:g} half-days each = {project_load:.3g} half-days a "
                f"week; a project leader gives {HALF_DAYS_PER_WEEK} half-days a week, planned "
                f"at {PROJECT_LEADER_UTILISATION:.0%} to allow for resource contention: "
                f"{leaders}."
                if plan.project_share
                else "None: a simple environment (no opportunities become projects)."
            ),
            leaders,
        ),
        Step(
            "customer_service",
            "Customer service",
            (
                f"{plan.service_tasks_per_week:g} tasks a week × "
                f"{plan.service_minutes_per_task:g} minutes = {service_hours:.1f} hours a week "
                f"(the salespeople's former service tasks, inbound orders and delivery "
                f"updates); a representative works {HOURS_PER_WEEK:g} hours, planned at "
                f"{plan.service_target_utilisation:.0%} to keep protective capacity: {service}."
            ),
            service,
        ),
        Step(
            "promotions_coordinators",
            "Promotions coordinators",
            f"One per language region: {plan.language_regions}.",
            plan.language_regions,
        ),
        Step(
            "sales_support_managers",
            "Sales-support managers",
            f"One per sales-support location (one sales-support team per continent): "
            f"{plan.support_locations}.",
            plan.support_locations,
        ),
        Step(
            "sales_manager",
            "Sales manager",
            (
                f"A dedicated sales manager for a field team of {salespeople}: 1."
                if salespeople > 2
                else f"None for a field team of {salespeople}: combine sales and sales-support "
                "management in one role."
            ),
            roles["sales_manager"],
        ),
    ]

    warnings: list[PlanWarning] = []
    economics: list[RoleEconomics] = []
    for role in ROLES:
        salary = plan.salaries.get(role)
        count_before = int(plan.before.get(role, 0))
        count_after = roles[role]
        if salary is None and (count_before or count_after):
            warnings.append(
                PlanWarning(
                    "salary_missing",
                    f"No salary for {ROLE_LABELS[role].lower()} (salaries.{role}): "
                    "counted as 0 in the payroll.",
                )
            )
        economics.append(
            RoleEconomics(
                role=role,
                label=ROLE_LABELS[role],
                before=count_before,
                after=count_after,
                salary=salary,
                payroll_before=count_before * (salary or 0.0),
                payroll_after=count_after * (salary or 0.0),
            )
        )
    payroll_before = sum(row.payroll_before for row in economics)
    payroll_after = sum(row.payroll_after for row in economics)

    if payroll_after > payroll_before:
        warnings.append(
            PlanWarning(
                "expenses_increase",
                f"Payroll rises by {money(payroll_after - payroll_before, plan.currency)}: the "
                "model or its resourcing is wrong if operating expenses increase. Fewer field "
                "salespeople (management overestimates the need) usually fix it.",
            )
        )
    if current and meetings_after >= TEN_TIMES * current:
        warnings.append(
            PlanWarning(
                "ten_times_volume",
                f"The new team could hold {meetings_after:g} meetings a week, "
                f"{meetings_after / current:.1f} times today's {current:g}: do not plan ten "
                "times the current volume — nobody can generate it in the near term, and "
                "salespeople would stand idle.",
            )
        )
    if incremental and incremental > current:
        warnings.append(
            PlanWarning(
                "incremental_not_conservative",
                f"The incremental volume ({incremental:g} a week) is more than today's "
                f"({current:g}): be conservative — most organisations overestimate how much "
                "extra volume they can create and absorb.",
            )
        )
    if plan.service_target_utilisation > PROTECTIVE_UTILISATION:
        warnings.append(
            PlanWarning(
                "sales_support_constraint",
                f"Customer service planned at {plan.service_target_utilisation:.0%} "
                f"utilisation: above {PROTECTIVE_UTILISATION:.0%} it has too little protective "
                "capacity, and sales support must never become the constraint.",
            )
        )
    service_before = int(plan.before.get("customer_service", 0))
    if service < service_before:
        warnings.append(
            PlanWarning(
                "customer_service_reduced",
                f"Customer service would shrink from {service_before} to {service}: it must "
                "absorb the salespeople's former service tasks, the inbound orders and the "
                "delivery updates with protective capacity to spare. Count them in "
                "customer_service.tasks_per_week and customer_service.minutes_per_task.",
            )
        )
    # Rounded: the stages' product in floating point may fall just below the same share
    # written in decimals (0.1 x 0.3 x 0.7 < 0.021), which is not above the win rate.
    if round(plan.project_share - win_rate, 9) > 0:
        warnings.append(
            PlanWarning(
                "project_share_above_win_rate",
                f"{plan.project_share:g} of opportunities becoming projects is more than the "
                f"{win_rate:.3g} the funnel wins: only won deals become projects, so the plan "
                f"uses {win_rate:.3g}. Check the project share or the stages' conversions.",
            )
        )
    ratio = leaders / salespeople if salespeople else None
    if plan.project_share and ratio is not None and ratio <= 1:
        warnings.append(
            PlanWarning(
                "project_leader_ratio",
                f"{leaders} project leader(s) for {salespeople} salespeople: one salesperson "
                "keeps more than one project leader busy (often up to four). Check the project "
                "share and the half-days per project.",
            )
        )
    deliverable, meeting_hours, per_day = deliverable_meetings(plan.simulation)
    if plan.capacity_per_salesperson > deliverable + 1e-9:
        warnings.append(
            PlanWarning(
                "capacity_not_deliverable",
                f"{plan.capacity_per_salesperson:g} meetings a week per salesperson cannot be "
                f"held: {per_day} a day x {DAYS_PER_WEEK} days and "
                f"{HOURS_PER_WEEK:g} hours / {meeting_hours:g} hours a meeting allow at most "
                f"{deliverable:g}. The simulator holds no more; plan with a capacity "
                "salespeople can deliver (the chapter's is 20).",
            )
        )
    if not volume:
        warnings.append(
            PlanWarning(
                "no_volume",
                "No business-development volume: enter today's salespeople and their measured "
                "weekly meetings.",
            )
        )
    if measured_meetings_per_salesperson is not None and round(
        measured_meetings_per_salesperson, 2
    ) != round(plan.meetings_per_salesperson, 2):
        difference = plan.meetings_per_salesperson - measured_meetings_per_salesperson
        warnings.append(
            PlanWarning(
                "estimate_differs_from_measurement",
                f"The plan says {plan.meetings_per_salesperson:g} meetings a week per "
                f"salesperson; the calendars show {measured_meetings_per_salesperson:.2f} "
                f"({difference:+.2f}). Trust the count, not the estimate.",
            )
        )

    return PlanResult(
        plan=plan,
        roles=roles,
        meetings_before=current,
        meetings_after=meetings_after,
        payroll_before=payroll_before,
        payroll_after=payroll_after,
        economics=economics,
        steps=steps,
        warnings=warnings,
        sensitivity=_sensitivity(plan),
        project_half_days_per_week=project_load,
        service_hours_per_week=service_hours,
    )


def plan_answer(data: Any) -> dict[str, Any]:
    """The contract in one call: a plan file's mapping in, the answer's JSON out."""
    return evaluate(parse_plan(data)).as_json()
