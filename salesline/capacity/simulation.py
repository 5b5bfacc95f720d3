"""The simulator of the sales model: a discrete-event simulation (SimPy). Pure: no Django.

`simulate(plan, weeks=..., replications=..., seed=...)` answers the contract's JSON:
{"scenarios": [{"name", "utilisation": {role: {"mean", "low", "high"}}, "meetings_per_week":
{...}, "won_per_week": {...}, "constraint": role, ...}]} (docs/capacity.md, "The simulator").

The model, in working time (hours; a day is `HOURS_PER_DAY`, a week `DAYS_PER_WEEK` days —
nights and weekends are left out, nothing happens in them):

- opportunities arrive as two Poisson streams (`simulation.arrivals_per_week`: from promotions
  and from existing accounts) and go through the stages in order. Each stage holds its meetings
  (a sales coordinator first schedules each one, `coordination_minutes`; then a field
  salesperson holds it, `meeting_hours`), then waits the stage's `days` (the customer's time),
  then moves on with the stage's `conversion` probability, else is lost. Passing the last stage
  is a won deal. Every opportunity ends in exactly one state: won, lost, or open at the horizon;
- a salesperson holds at most `meetings_per_day` meetings a day and, a week, the plan's
  `capacity_per_salesperson` — or, with no sales coordinators (today's model), the measured
  `current.meetings_per_salesperson`: salespeople then schedule their own meetings and do the
  service work and the projects themselves, and the measured figure is what is left for business
  development (the chapter's point);
- won deals become projects: `project_share` of the opportunities arriving do (only won ones can,
  so a won deal's chance is project_share / win rate, at most 1); a project takes one project
  leader `project_half_days` half-days in one go (a salesperson when there are no project
  leaders);
- customer-service tasks (`customer_service.tasks_per_week`: former salesperson tasks, inbound
  orders, delivery updates) arrive as a Poisson stream and take an exponential time with mean
  `customer_service.minutes_per_task` of a representative (of a salesperson when there is no
  customer service).

Each role is a `Pool` of people serving requests first come, first served. Outputs per role:
utilisation (busy hours over available hours; a salesperson's, the share of their meeting slots
used when that is higher), the queue (requests waiting, time-averaged) and
the waiting time (hours from request to start), overall and week by week; meetings held and deals
won a week; and the constraint (`constraint_of`). Replications run in parallel processes, each
with its own seed derived from the run's (numpy's SeedSequence), the same for every scenario
(common random numbers make scenarios comparable); 95 % intervals over replications use
Student's t.
"""

from __future__ import annotations

import math
import os
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import simpy

from .resourcing import (
    DEFAULT_MEETING_HOURS,
    DEFAULT_MEETINGS_PER_DAY,
    DEFAULT_STAGES,
    MAX_STAGE_MEETINGS,
    ROLE_LABELS,
    ROLES,
    PlanInput,
    PlanInvalid,
    evaluate,
    funnel,
    parse_plan,
    stage_conversion,
    stage_meetings,
)

HOURS_PER_DAY = 7.5  # the planner's 37.5-hour week (resourcing.HOURS_PER_WEEK)
DAYS_PER_WEEK = 5
HOURS_PER_WEEK = HOURS_PER_DAY * DAYS_PER_WEEK
HALF_DAY_HOURS = HOURS_PER_DAY / 2

#: The roles the model simulates (the others — promotions, management — hold no queue here).
SIMULATED_ROLES: tuple[str, ...] = (
    "salesperson",
    "sales_coordinator",
    "project_leader",
    "customer_service",
)

#: The roles that support the salespeople: the chapter's rule is that they never become the
#: constraint (a scenario where one does carries the `sales_support_constraint` warning).
SALES_SUPPORT_ROLES: tuple[str, ...] = ("sales_coordinator", "customer_service")

# Defaults of the `simulation:` section (docs/capacity.md); the stages' are the planner's.
# DEFAULT_MEETING_HOURS (1.5, with travel: 20 meetings a week fill 30 of 37.5 hours) and
# DEFAULT_MEETINGS_PER_DAY (4) come from resourcing: the planner warns with them.
DEFAULT_COORDINATION_MINUTES = 30.0

SIMULATION_KEYS = (
    "arrivals_per_week",
    "stages",
    "meeting_hours",
    "meetings_per_day",
    "coordination_minutes",
)
ARRIVAL_KEYS = ("promotions", "existing_accounts")
STAGE_KEYS = ("name", "conversion", "days", "meetings")
SCENARIO_KEYS = ("name", "roles")
MAX_STAGES = 20
MAX_SCENARIOS = 10
MAX_NAME = 80
MAX_ARRIVALS = 100_000.0
MAX_HEADCOUNT = 10_000
MAX_WEEKS = 520
MAX_REPLICATIONS = 1000
MAX_SEED = 2**63 - 1

#: A queue "grows" when its mean length over the last quarter of the horizon exceeds the one
#: over the second quarter by more than this many requests (the first quarter fills the pipeline).
GROWTH_MARGIN = 1.0
#: Runs shorter than this never call a queue growing (quarters of a week or so are noise).
MIN_GROWTH_WEEKS = 8


# ---------------------------------------------------------------- the sections


@dataclass(frozen=True)
class Stage:
    name: str
    conversion: float
    days: float
    meetings: int = 1


@dataclass(frozen=True)
class Scenario:
    name: str
    roles: Mapping[str, int]

    @property
    def people(self) -> int:
        return sum(self.roles.values())


@dataclass(frozen=True)
class SalesModel:
    """The plan's figures the simulation uses, validated, and its scenarios resolved."""

    promotions_per_week: float
    existing_accounts_per_week: float
    stages: tuple[Stage, ...]
    meeting_hours: float
    meetings_per_day: int
    coordination_minutes: float
    capacity_per_salesperson: float
    meetings_per_salesperson_today: float
    project_share: float
    project_half_days: float
    service_tasks_per_week: float
    service_minutes_per_task: float
    scenarios: tuple[Scenario, ...] = field(default_factory=tuple)

    @property
    def win_rate(self) -> float:
        return funnel([(stage.conversion, stage.meetings) for stage in self.stages])[1]

    @property
    def project_chance(self) -> float:
        """A won deal's chance of becoming a project. `project_share` is the share of
        opportunities that become projects (the planner's figure), and only won ones do: so
        project_share / win rate, at most 1."""
        if not self.project_share or not self.win_rate:
            return 0.0
        return min(1.0, self.project_share / self.win_rate)

    @property
    def meetings_per_opportunity(self) -> float:
        """Meetings an arriving opportunity holds on average (later stages only if it gets
        there)."""
        return funnel([(stage.conversion, stage.meetings) for stage in self.stages])[0]


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        default: float,
        *,
        low: float = 0.0,
        high: float,
        above_low: bool = False,
        whole: bool = False,
    ) -> float:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.items.append((path, f"must be a number, not {value!r}"[:200]))
        elif not math.isfinite(value):
            self.items.append((path, "must be a finite number"))
        elif whole and value != int(value):
            self.items.append((path, f"must be a whole number, not {value:g}"))
        elif value < low or (above_low and value == low):
            relation = "greater than" if above_low else "at least"
            self.items.append((path, f"must be {relation} {low:g}, not {value:g}"))
        elif value > high:
            self.items.append((path, f"must be at most {high:g}, not {value:g}"))
        else:
            return int(value) if whole else float(value)
        return default

    def mapping(self, value: Any, path: str, allowed: Sequence[str]) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.items.append((path, "must be a mapping of keys to values"))
            return {}
        for key in value:
            if key not in allowed:
                self.items.append(
                    (f"{path}.{key}", f"unknown key; expected one of {', '.join(allowed)}")
                )
        return value

    def name(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.items.append((path, "is required: a name of 1 to 80 characters"))
            return None
        if len(value.strip()) > MAX_NAME or not value.isprintable():
            self.items.append((path, "must be 1 to 80 printable characters"))
            return None
        return value.strip()


def _stages(read: _Problems, value: Any) -> tuple[Stage, ...]:
    if value is None:
        return tuple(Stage(**stage) for stage in DEFAULT_STAGES)
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        read.items.append(("simulation.stages", "must be a list of 1 or more stages"))
        return ()
    if len(value) > MAX_STAGES:
        read.items.append(("simulation.stages", f"must have at most {MAX_STAGES} stages"))
        return ()
    stages = []
    for index, item in enumerate(value):
        path = f"simulation.stages.{index}"
        data = read.mapping(item, path, STAGE_KEYS)
        if not isinstance(item, Mapping):
            continue
        name = read.name(data.get("name"), f"{path}.name")
        # Conversion and meetings by the checks the planner's funnel uses (resourcing
        # .plan_funnel), so both read the same stages.
        conversion = stage_conversion(data.get("conversion"))
        if conversion is None:
            given = data.get("conversion")
            read.items.append(
                (
                    f"{path}.conversion",
                    "is required: a share from 0 to 1"
                    if given is None
                    else f"must be a share at least 0 and at most 1, not {given!r}"[:200],
                )
            )
            conversion = 0.0
        days = read.number(data, "days", f"{path}.days", 0.0, high=365)
        given = data.get("meetings")
        meetings = 1 if given is None else stage_meetings(given)
        if meetings is None:
            read.items.append(
                (
                    f"{path}.meetings",
                    f"must be a whole number from 0 to {MAX_STAGE_MEETINGS}, not {given!r}"[:200],
                )
            )
            meetings = 1
        stages.append(Stage(name or "", conversion, days, int(meetings)))
    return tuple(stages)


def _scenarios(read: _Problems, plan: PlanInput) -> tuple[Scenario, ...]:
    planned = dict(evaluate(plan).roles)
    if not plan.scenarios:
        today = {role: int(plan.before.get(role, 0)) for role in ROLES}
        if "salesperson" not in plan.before:
            # A headcount before without salespeople: today's are the ones measured.
            today["salesperson"] = plan.current_salespeople
        return (Scenario("today", today), Scenario("plan", planned))
    if len(plan.scenarios) > MAX_SCENARIOS:
        read.items.append(("scenarios", f"must have at most {MAX_SCENARIOS} scenarios"))
        return ()
    scenarios, names = [], set()
    for index, item in enumerate(plan.scenarios):
        path = f"scenarios.{index}"
        data = read.mapping(item, path, SCENARIO_KEYS)
        if not isinstance(item, Mapping):
            continue
        name = read.name(data.get("name"), f"{path}.name")
        if name is not None and name in names:
            read.items.append((f"{path}.name", f"'{name}' is given twice; name each once"))
        names.add(name)
        roles = dict(planned)
        overrides = read.mapping(data.get("roles"), f"{path}.roles", ROLES)
        for role in overrides:
            if role in ROLES:
                roles[role] = int(
                    read.number(
                        overrides,
                        role,
                        f"{path}.roles.{role}",
                        roles[role],
                        high=MAX_HEADCOUNT,
                        whole=True,
                    )
                )
        scenarios.append(Scenario(name or "", roles))
    return tuple(scenarios)


def sales_model(plan: PlanInput) -> SalesModel:
    """The plan's `simulation:` and `scenarios:` sections validated (every problem at once,
    each naming its dotted key, as `PlanInvalid`) with the defaults filled in."""
    read = _Problems()
    section = read.mapping(plan.simulation, "simulation", SIMULATION_KEYS)
    stages = _stages(read, section.get("stages"))
    arrivals = read.mapping(
        section.get("arrivals_per_week"), "simulation.arrivals_per_week", ARRIVAL_KEYS
    )
    meetings_each = funnel([(stage.conversion, stage.meetings) for stage in stages])[0] or 1.0
    # Without entered arrivals, the planner's volumes (meetings a week) as opportunities a week.
    promotions_default = (
        plan.current_volume + plan.incremental_neglected_opportunities
    ) / meetings_each
    existing_default = plan.incremental_existing_accounts / meetings_each
    model = SalesModel(
        promotions_per_week=read.number(
            arrivals,
            "promotions",
            "simulation.arrivals_per_week.promotions",
            promotions_default,
            high=MAX_ARRIVALS,
        ),
        existing_accounts_per_week=read.number(
            arrivals,
            "existing_accounts",
            "simulation.arrivals_per_week.existing_accounts",
            existing_default,
            high=MAX_ARRIVALS,
        ),
        stages=stages,
        meeting_hours=read.number(
            section,
            "meeting_hours",
            "simulation.meeting_hours",
            DEFAULT_MEETING_HOURS,
            high=HOURS_PER_DAY,
            above_low=True,
        ),
        meetings_per_day=int(
            read.number(
                section,
                "meetings_per_day",
                "simulation.meetings_per_day",
                DEFAULT_MEETINGS_PER_DAY,
                low=1,
                high=20,
                whole=True,
            )
        ),
        coordination_minutes=read.number(
            section,
            "coordination_minutes",
            "simulation.coordination_minutes",
            DEFAULT_COORDINATION_MINUTES,
            high=HOURS_PER_DAY * 60,
        ),
        capacity_per_salesperson=plan.capacity_per_salesperson,
        meetings_per_salesperson_today=plan.meetings_per_salesperson,
        project_share=plan.project_share,
        project_half_days=plan.project_half_days,
        service_tasks_per_week=plan.service_tasks_per_week,
        service_minutes_per_task=plan.service_minutes_per_task,
        scenarios=_scenarios(read, plan),
    )
    if read.items:
        raise PlanInvalid(read.items)
    return model


def check_plan(data: Any) -> PlanInput:
    """A plan file checked whole: the planner's keys (`parse_plan`) and the simulator's
    sections (`sales_model`), every problem at once as `PlanInvalid`, each naming its dotted
    key. What the planner's interfaces (CLI, API, saved plans) check, so a plan they accept is
    one the simulator accepts too."""
    try:
        plan = parse_plan(data)
    except PlanInvalid as invalid:
        problems = list(invalid.problems)
        # The sections checked on their own too (the planner's figures do not change which of
        # their keys are refused), unless their shape is the problem already named.
        simulation = (data.get("simulation") if isinstance(data, Mapping) else None) or {}
        scenarios = (data.get("scenarios") if isinstance(data, Mapping) else None) or []
        if (
            isinstance(simulation, Mapping)
            and isinstance(scenarios, Sequence)
            and not isinstance(scenarios, str)
        ):
            try:
                sales_model(PlanInput(simulation=simulation, scenarios=list(scenarios)))
            except PlanInvalid as sections:
                problems += sections.problems
        raise PlanInvalid(problems) from None
    sales_model(plan)
    return plan


def check_run(*, weeks: Any, replications: Any, seed: Any) -> list[tuple[str, str]]:
    """Problems with a run's parameters, each naming its parameter."""
    problems = []
    for name, value, low, high in (
        ("weeks", weeks, 1, MAX_WEEKS),
        ("replications", replications, 1, MAX_REPLICATIONS),
        ("seed", seed, 0, MAX_SEED),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append((name, f"must be a whole number from {low} to {high}"))
    return problems


def work_size(model: SalesModel, *, weeks: int, replications: int) -> float:
    """The events a run will process, estimated (what it costs: about 3 µs an event): per
    scenario and week, each opportunity's meetings, scheduling and stages, each service task,
    and the people: every day the salespeople who may not hold a meeting are looked at again
    (`Pool.wake`), and each person is set up once."""
    per_opportunity = 2 + 7 * model.meetings_per_opportunity + len(model.stages)
    per_week = (
        (model.promotions_per_week + model.existing_accounts_per_week) * per_opportunity
        + (3 * model.service_tasks_per_week if model.service_minutes_per_task else 0)
        + DAYS_PER_WEEK
    )
    salespeople = sum(scenario.roles.get("salesperson", 0) for scenario in model.scenarios)
    people = sum(scenario.people for scenario in model.scenarios)
    return replications * (
        weeks * (len(model.scenarios) * per_week + people + DAYS_PER_WEEK * salespeople) + people
    )


def headcount_problems(plan: PlanInput, model: SalesModel, limit: int) -> list[tuple[str, str]]:
    """Roles of a scenario with more than `limit` people, each naming the key that sets it: a
    run's cost grows with its people, so an interface that runs in the request caps them."""
    problems = []
    for index, scenario in enumerate(model.scenarios):
        for role, people in scenario.roles.items():
            if people <= limit:
                continue
            if plan.scenarios:
                key = f"scenarios.{index}.roles.{role}"
            elif index == 0:  # today: the headcount before, or the salespeople measured
                key = f"before.{role}" if role in plan.before else "current.salespeople"
            else:  # the plan's roles, from its volumes: named scenarios can set fewer
                key = "scenarios"
            problems.append(
                (
                    key,
                    f"the scenario '{scenario.name}' has {people:,} {role} people, more than "
                    f"the {limit:,} per role that may be simulated here: give scenarios with "
                    "fewer people, or simulate a saved plan in the background",
                )
            )
    return problems


# ---------------------------------------------------------------- the parts


GENERAL, MEETING = 0, 1


class Worker:
    """One person of a pool, with the meetings held today and this week (salespeople)."""

    __slots__ = (
        "busy",
        "day",
        "day_count",
        "index",
        "max_day",
        "max_week",
        "since",
        "week",
        "week_count",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.busy = False
        self.since = 0.0
        self.day = self.week = -1
        self.day_count = self.week_count = 0
        self.max_day = self.max_week = 0


class Pool:
    """The people of one role serving requests first come, first served, with the accounting
    of busy time, queue length and waiting time, overall and per period (a week in the sales
    model).

    Requests are GENERAL (any idle person) or MEETING (an idle person with meetings left today
    and this week, `meeting_caps`); the oldest request that some idle person can take is served
    first. A meeting cap reached frees no time: the person stays available for general work."""

    def __init__(
        self,
        env: simpy.Environment,
        size: int,
        *,
        periods: int,
        period_hours: float,
        count_waits_from: float = 0.0,
    ) -> None:
        self.env = env
        self.size = size
        self.workers = [Worker(i) for i in range(size)]
        # The idle people in two lists: those who may hold a meeting now (`able`) and those
        # who may not (`spent`: the day's or week's cap reached, or no caps at all). A
        # meeting then takes a person in O(1) instead of scanning everyone idle, which cost
        # a scan of the whole pool on every dispatch when nobody had capacity left.
        self.able: list[Worker] = []
        self.spent: list[Worker] = list(self.workers)
        self.queues: tuple[deque, deque] = (deque(), deque())
        self.waiting = 0
        self.order = 0
        self.period_hours = period_hours
        self.periods = periods
        self.busy = [0.0] * periods
        self.queue_area = [0.0] * periods
        self.wait_sum = [0.0] * periods
        self.wait_count = [0] * periods
        self.count_waits_from = count_waits_from
        self.waits_total = 0.0
        self.waits_counted = 0
        self.served = 0
        self._last = 0.0
        # Meeting caps: per day, and per week as a function of the week's number.
        self.daily_cap = 0
        self.weekly_cap: Callable[[int], int] = lambda week: 0

    def meeting_caps(self, daily: int, weekly: float) -> None:
        """At most `daily` meetings a day; `weekly` a week on average (2.5 alternates 2 and 3)."""
        self.daily_cap = daily
        caps = [
            math.floor((week + 1) * weekly + 1e-9) - math.floor(week * weekly + 1e-9)
            for week in range(self.periods + 1)
        ]
        self.weekly_cap = lambda week: caps[week] if week < len(caps) else caps[-1]
        self._recheck()

    def slots(self, week: int) -> int:
        """The meetings one person may hold in `week`: the week's cap or the days' caps."""
        return min(self.weekly_cap(week), self.daily_cap * DAYS_PER_WEEK)

    @property
    def idle(self) -> int:
        """How many people are idle."""
        return len(self.able) + len(self.spent)

    def _recheck(self) -> None:
        """Move the idle people whose caps were reset (a new day or week) to `able`. A person
        who is able stays able while idle: caps only reset as time passes."""
        if not self.daily_cap or not self.spent:
            return
        now = self.env.now
        still: list[Worker] = []
        for worker in self.spent:
            (self.able if self._can_meet(worker, now) else still).append(worker)
        self.spent = still

    def _spread(self, series: list[float], start: float, end: float, weight: float) -> None:
        """Add weight x the overlap of [start, end) with each period."""
        length = self.period_hours
        first = int(start // length)
        last = int(end // length)
        if first == last:
            if first < self.periods:
                series[first] += weight * (end - start)
            return
        for period in range(first, min(last, self.periods - 1) + 1):
            low = max(start, period * length)
            high = min(end, (period + 1) * length)
            if high > low:
                series[period] += weight * (high - low)

    def _mark(self) -> None:
        now = self.env.now
        if self.waiting and now > self._last:
            self._spread(self.queue_area, self._last, now, self.waiting)
        self._last = now

    def acquire(self, kind: int = GENERAL) -> simpy.Event:
        """An event that fires with the person given the work."""
        event = self.env.event()
        self._enqueue(kind, event)
        return event

    def submit(self, hours: float, kind: int = GENERAL) -> None:
        """Work that nobody waits for (a service task, a project): done when someone is free,
        without a process of its own (cheaper than `work` in a new process)."""
        worker = self._take(kind) if not self.waiting else None
        if worker is None:
            self._enqueue(kind, hours)
        else:
            self._run(worker, hours)

    def _enqueue(self, kind: int, target: simpy.Event | float) -> None:
        self._mark()
        self.order += 1
        self.queues[kind].append((self.order, target, self.env.now))
        self.waiting += 1
        self._dispatch()

    def _run(self, worker: Worker, hours: float) -> None:
        # The timeout carries the worker to `_done`: no process, no closure.
        self.env.timeout(hours, worker).callbacks.append(self._done)

    def _done(self, event: simpy.Event) -> None:
        self.release(cast(Worker, event.value))

    def release(self, worker: Worker) -> None:
        now = self.env.now
        since = worker.since
        period = int(since // self.period_hours)
        if period == int(now // self.period_hours) and period < self.periods:
            self.busy[period] += now - since  # the usual case: within one week
        else:
            self._spread(self.busy, since, now, 1.0)
        worker.busy = False
        if self.daily_cap and self._can_meet(worker, now):
            self.able.append(worker)
        else:
            self.spent.append(worker)
        if self.waiting:
            self._dispatch()

    def _can_meet(self, worker: Worker, now: float) -> bool:
        day = int(now // HOURS_PER_DAY)
        if day != worker.day:
            worker.day, worker.day_count = day, 0
            week = int(now // HOURS_PER_WEEK)
            if week != worker.week:
                worker.week, worker.week_count = week, 0
        return worker.day_count < self.daily_cap and worker.week_count < self.weekly_cap(
            worker.week
        )

    def _meeting_worker(self) -> Worker | None:
        if not self.able:
            return None
        worker = self.able.pop()
        # Brings its day and week up to date (it may have waited idle since an earlier day);
        # true, as an able person stays able.
        self._can_meet(worker, self.env.now)
        worker.day_count += 1
        worker.week_count += 1
        worker.max_day = max(worker.max_day, worker.day_count)
        worker.max_week = max(worker.max_week, worker.week_count)
        return worker

    def _general_worker(self) -> Worker:
        # Someone who may not hold a meeting now first: the others stay free for meetings.
        return self.spent.pop() if self.spent else self.able.pop()

    def _take(self, kind: int) -> Worker | None:
        """An idle person for work asked now with nobody waiting (no wait, no event)."""
        if not self.able and not self.spent:
            return None
        now = self.env.now
        worker = self._meeting_worker() if kind == MEETING else self._general_worker()
        if worker is not None:
            self._started(worker, now, now)
        return worker

    def _started(self, worker: Worker, asked: float, now: float) -> None:
        worker.busy, worker.since = True, now
        self.served += 1
        if asked >= self.count_waits_from:
            period = int(now // self.period_hours)
            if period < self.periods:
                self.wait_sum[period] += now - asked
                self.wait_count[period] += 1
            self.waits_total += now - asked
            self.waits_counted += 1

    def _dispatch(self) -> None:
        general, meetings = self.queues
        now = self.env.now
        while (self.able or self.spent) and (general or meetings):
            worker = None
            if meetings and (not general or meetings[0][0] < general[0][0]):
                worker = self._meeting_worker()
            if worker is not None:
                _, target, asked = meetings.popleft()
            elif general:
                _, target, asked = general.popleft()
                worker = self._general_worker()
            else:
                break  # only meetings wait, and nobody idle may hold one now
            self._mark()
            self.waiting -= 1
            self._started(worker, asked, now)
            if isinstance(target, float):
                self._run(worker, target)
            else:
                target.succeed(worker)

    def wake(self) -> None:
        """A new day: meetings waiting for a salesperson's capacity may go ahead."""
        self._recheck()
        self._dispatch()

    def finish(self, horizon: float) -> None:
        """Close the books at the horizon (work in progress counts up to it)."""
        self._mark()
        for worker in self.workers:
            if worker.busy:
                self._spread(self.busy, worker.since, horizon, 1.0)

    def work(self, hours: float, kind: int = GENERAL):
        """A process step: wait for a person, keep them `hours`, let them go."""
        worker = self._take(kind) if not self.waiting else None
        if worker is None:
            worker = yield self.acquire(kind)
        yield self.env.timeout(hours)
        self.release(worker)
        return worker


def _step_until(env: simpy.Environment, horizon: float) -> int:
    """Run to the horizon; the number of events processed."""
    env.run(until=horizon)
    # SimPy numbers each event it schedules: those still queued at the horizon were not
    # processed. (Counting in a loop of env.step() costs a tenth of the run.)
    return next(env._eid) - len(env._queue)


def queue_model(
    *,
    arrival_rate: float,
    service_rate: float,
    servers: int,
    horizon: float,
    seed: int,
    warm_up: float = 0.0,
) -> dict[str, float]:
    """A textbook M/M/c queue built from the sales model's parts (`Pool`): Poisson arrivals,
    exponential service, `servers` people. The mean wait in queue of the requests arriving after
    `warm_up`, the utilisation and the events processed."""
    rng = random.Random(seed)  # noqa: S311 - a simulation's stream, not a secret
    env = simpy.Environment()
    pool = Pool(env, servers, periods=1, period_hours=horizon, count_waits_from=warm_up)

    def arrive(_: Any = None) -> None:
        if env.now:
            pool.submit(rng.expovariate(service_rate))
        env.timeout(rng.expovariate(arrival_rate)).callbacks.append(arrive)

    arrive()
    events = _step_until(env, horizon)
    pool.finish(horizon)
    return {
        "mean_wait": pool.waits_total / pool.waits_counted if pool.waits_counted else 0.0,
        "utilisation": pool.busy[0] / (servers * horizon),
        "served": pool.served,
        "events": events,
    }


# ---------------------------------------------------------------- one replication

OPEN, WON, LOST = 0, 1, 2


def run_replication(model: SalesModel, scenario: Scenario, *, weeks: int, seed: int) -> dict:
    """One run of the sales model for one scenario: per-role and weekly figures, the
    opportunities' end states and the salespeople's busiest day and week (for the tests)."""
    rng = random.Random(seed)  # noqa: S311 - a simulation's stream, not a secret
    env = simpy.Environment()
    horizon = weeks * HOURS_PER_WEEK
    roles = scenario.roles

    def pool(role: str) -> Pool:
        return Pool(env, int(roles.get(role, 0)), periods=weeks, period_hours=HOURS_PER_WEEK)

    pools = {role: pool(role) for role in SIMULATED_ROLES}
    sales = pools["salesperson"]
    today = roles.get("sales_coordinator", 0) == 0
    weekly = model.meetings_per_salesperson_today if today else model.capacity_per_salesperson
    sales.meeting_caps(model.meetings_per_day, weekly)
    # Whoever does the work when its role has nobody: the salespeople (today's model).
    coordinators = sales if today else pools["sales_coordinator"]
    leaders = pools["project_leader"] if roles.get("project_leader", 0) else sales
    service = pools["customer_service"] if roles.get("customer_service", 0) else sales

    states: list[int] = []
    meetings = [0] * weeks
    won = [0] * weeks
    lost = [0] * weeks
    created = [0] * weeks
    coordination_hours = model.coordination_minutes / 60
    meeting_hours = model.meeting_hours
    project_hours = model.project_half_days * HALF_DAY_HOURS
    stages = [(s.meetings, s.days * HOURS_PER_DAY, s.conversion) for s in model.stages]
    project_chance = model.project_chance

    def week_of(time: float) -> int:
        return min(int(time // HOURS_PER_WEEK), weeks - 1)

    def opportunity(index: int):
        for count, delay, conversion in stages:
            for _ in range(count):
                if coordination_hours:
                    yield from coordinators.work(coordination_hours)
                yield from sales.work(meeting_hours, MEETING)
                meetings[week_of(env.now - meeting_hours)] += 1
            if delay:
                yield env.timeout(delay)
            if rng.random() >= conversion:
                states[index] = LOST
                lost[week_of(env.now)] += 1
                return
        states[index] = WON
        won[week_of(env.now)] += 1
        if project_hours and rng.random() < project_chance:
            leaders.submit(project_hours)

    def arrivals(per_week: float):
        rate = per_week / HOURS_PER_WEEK

        def arrive(_: Any = None) -> None:
            if env.now:
                created[week_of(env.now)] += 1
                states.append(OPEN)
                env.process(opportunity(len(states) - 1))
            env.timeout(rng.expovariate(rate)).callbacks.append(arrive)

        return arrive

    # Streams as self-scheduling timeouts: cheaper than a process resumed for each arrival.
    def service_task(_: Any = None) -> None:
        if env.now:
            service.submit(rng.expovariate(1 / service_mean))
        env.timeout(rng.expovariate(service_rate)).callbacks.append(service_task)

    def day(_: Any = None) -> None:
        sales.wake()
        env.timeout(HOURS_PER_DAY).callbacks.append(day)

    for per_week in (model.promotions_per_week, model.existing_accounts_per_week):
        if per_week > 0:
            arrivals(per_week)()
    service_rate = model.service_tasks_per_week / HOURS_PER_WEEK
    service_mean = model.service_minutes_per_task / 60
    if service_rate > 0 and service_mean > 0:
        service_task()
    day()
    events = _step_until(env, horizon)

    per_role: dict[str, dict[str, Any]] = {}
    for role, people in pools.items():
        people.finish(horizon)
        size = people.size
        weekly_busy = [b / (size * HOURS_PER_WEEK) if size else 0.0 for b in people.busy]
        busy = sum(people.busy) / (size * horizon) if size else None
        if people is sales and size:
            # A salesperson's capacity is their meeting slots (the chapter's 20 a week), not
            # their hours: 20 meetings of 1.5 h fill 80 % of a week, the level sales support is
            # planned at, so busy hours alone would let noise pick the constraint. The share
            # of slots used, or of hours when other work keeps them busier (today's model).
            slots = [size * sales.slots(week) for week in range(weeks)]
            weekly_busy = [
                max(hours, held / slot if slot else 0.0)
                for hours, held, slot in zip(weekly_busy, meetings, slots, strict=True)
            ]
            used = sum(meetings) / sum(slots) if sum(slots) else 0.0
            busy = max(cast(float, busy), used)
        per_role[role] = {
            "people": size,
            "utilisation": busy,
            "queue": sum(people.queue_area) / horizon,
            "waiting_hours": (
                people.waits_total / people.waits_counted if people.waits_counted else 0.0
            ),
            "weekly_utilisation": weekly_busy,
            "weekly_queue": [a / HOURS_PER_WEEK for a in people.queue_area],
            "weekly_waiting_hours": [
                s / n if n else 0.0 for s, n in zip(people.wait_sum, people.wait_count, strict=True)
            ],
            "served": people.served,
        }
    return {
        "events": events,
        "roles": per_role,
        "meetings": meetings,
        "won": won,
        "lost": lost,
        "created": created,
        "opportunities": {
            "created": len(states),
            "won": states.count(WON),
            "lost": states.count(LOST),
            "open": states.count(OPEN),
        },
        "max_meetings_per_day": max((w.max_day for w in sales.workers), default=0),
        "max_meetings_per_week": max((w.max_week for w in sales.workers), default=0),
    }


# ---------------------------------------------------------------- statistics

# Student's t, two-sided 95 %, for 1 to 30 degrees of freedom.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z975 = 1.959964


def t_quantile(degrees: int) -> float:
    """The 97.5 % quantile of Student's t (a table to 30, then the Cornish-Fisher series)."""
    if degrees <= len(_T975):
        return _T975[degrees - 1]
    z, n = _Z975, float(degrees)
    return (
        z
        + (z**3 + z) / (4 * n)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * n**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * n**3)
    )


def interval(values: Sequence[float], *, low: float | None = None, high: float | None = None):
    """{"mean", "low", "high"}: the mean and its 95 % confidence interval over replications
    (Student's t; one replication gives no spread), clipped to [low, high] when given."""
    count = len(values)
    mean = sum(values) / count
    half = 0.0
    if count > 1:
        variance = sum((v - mean) ** 2 for v in values) / (count - 1)
        half = t_quantile(count - 1) * math.sqrt(variance / count)
    lower, upper = mean - half, mean + half
    if low is not None:
        lower = max(low, lower)
    if high is not None:
        upper = min(high, upper)
    return {"mean": round(mean, 6), "low": round(lower, 6), "high": round(upper, 6)}


def _column_means(rows: Sequence[Sequence[float]]) -> list[float]:
    return [round(float(v), 4) for v in np.mean(np.asarray(rows, dtype=float), axis=0)]


def constraint_of(roles: Mapping[str, Mapping[str, Any]]) -> tuple[str, str]:
    """The role that limits the sales model, and why.

    Work waiting for a role with nobody in it comes first; then a role whose queue grows
    (`growing`); then the highest mean utilisation; the longer mean queue breaks ties."""

    def rank(item):
        role, figures = item
        nobody = figures["people"] == 0 and figures["queue"] > 0
        return (nobody, figures["growing"], figures["utilisation"] or 0.0, figures["queue"])

    role, figures = max(roles.items(), key=rank)
    if figures["people"] == 0 and figures["queue"] > 0:
        return role, "work waits for this role and nobody is in it"
    if figures["growing"]:
        return role, "its queue grows over the run: the work arriving exceeds its capacity"
    return role, "the highest utilisation"


def _growing(weekly_queue: Sequence[float]) -> bool:
    # Fewer than 8 weeks give quarters of one week: the pipeline still filling would read as
    # growth. Such a run ranks by utilisation only.
    if len(weekly_queue) < MIN_GROWTH_WEEKS:
        return False
    quarter = len(weekly_queue) // 4
    second = sum(weekly_queue[quarter : 2 * quarter]) / quarter
    last = sum(weekly_queue[-quarter:]) / quarter
    return last > second + GROWTH_MARGIN


def summarise(scenario: Scenario, runs: Sequence[dict], weeks: int) -> dict[str, Any]:
    """One scenario's answer from its replications."""
    utilisation, queue, waiting, weekly, figures = {}, {}, {}, {}, {}
    for role in SIMULATED_ROLES:
        people = int(scenario.roles.get(role, 0))
        role_runs = [run["roles"][role] for run in runs]
        weekly_queue = _column_means([r["weekly_queue"] for r in role_runs])
        mean_queue = sum(r["queue"] for r in role_runs) / len(runs)
        served = sum(r["served"] for r in role_runs)
        if people == 0 and served == 0 and mean_queue == 0:
            continue  # not part of this scenario's model
        if people:
            utilisation[role] = interval([r["utilisation"] for r in role_runs], low=0.0, high=1.0)
        queue[role] = interval([r["queue"] for r in role_runs], low=0.0)
        waiting[role] = interval([r["waiting_hours"] for r in role_runs], low=0.0)
        weekly[role] = {
            "utilisation": _column_means([r["weekly_utilisation"] for r in role_runs]),
            "queue": weekly_queue,
            "waiting_hours": _column_means([r["weekly_waiting_hours"] for r in role_runs]),
        }
        figures[role] = {
            "people": people,
            "queue": mean_queue,
            "utilisation": utilisation[role]["mean"] if people else None,
            "growing": _growing(weekly_queue),
        }
    constraint, reason = (
        constraint_of(figures) if figures else ("salesperson", "nothing arrived to be worked on")
    )
    opportunities = {
        state: interval([run["opportunities"][state] for run in runs])
        for state in ("created", "won", "lost", "open")
    }
    warnings = []
    if constraint in SALES_SUPPORT_ROLES:
        warnings.append(
            {
                "rule": "sales_support_constraint",
                "message": f"{ROLE_LABELS[constraint]} is the constraint ({reason}): sales "
                "support must never become the constraint; add people or protective capacity "
                "there so the salespeople's meeting slots limit the model.",
            }
        )
    return {
        "name": scenario.name,
        "roles": dict(scenario.roles),
        "utilisation": utilisation,
        "meetings_per_week": interval([sum(run["meetings"]) / weeks for run in runs], low=0.0),
        "won_per_week": interval([sum(run["won"]) / weeks for run in runs], low=0.0),
        "constraint": constraint,
        "constraint_reason": reason,
        "growing_queues": [role for role, f in figures.items() if f["growing"]],
        "warnings": warnings,
        "queue": queue,
        "waiting_hours": waiting,
        "opportunities": opportunities,
        "weekly": {
            "meetings": _column_means([run["meetings"] for run in runs]),
            "won": _column_means([run["won"] for run in runs]),
            "roles": weekly,
        },
        "events": sum(run["events"] for run in runs),
    }


# ---------------------------------------------------------------- the run


def replication_seeds(seed: int, replications: int) -> list[int]:
    """One seed per replication, independent streams from the run's seed."""
    children = np.random.SeedSequence(seed).spawn(replications)
    return [int(child.generate_state(2, dtype=np.uint64)[0]) for child in children]


def _task(args: tuple[SalesModel, int, int, int]) -> tuple[int, dict]:
    model, scenario_index, weeks, seed = args
    return scenario_index, run_replication(
        model, model.scenarios[scenario_index], weeks=weeks, seed=seed
    )


def simulate(
    plan: PlanInput,
    *,
    weeks: int,
    replications: int,
    seed: int,
    processes: int | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """The contract's answer for a plan: each scenario simulated `replications` times over
    `weeks`. `processes`: parallel processes (None: one per CPU; 1 runs in this process).
    `progress(done, total)` is called after each replication. Raises `PlanInvalid`."""
    problems = check_run(weeks=weeks, replications=replications, seed=seed)
    if problems:
        raise PlanInvalid(problems)
    model = sales_model(plan)
    seeds = replication_seeds(seed, replications)
    tasks = [
        (model, index, weeks, replication_seed)
        for index in range(len(model.scenarios))
        for replication_seed in seeds
    ]
    total = len(tasks)
    results: list[list[dict]] = [[] for _ in model.scenarios]
    workers = min(total, processes or os.cpu_count() or 1)
    if workers <= 1:
        for done, task in enumerate(tasks, start=1):
            index, run = _task(task)
            results[index].append(run)
            if progress:
                progress(done, total)
    else:
        _run_parallel(tasks, workers, results, progress)
    scenarios = [
        summarise(scenario, runs, weeks)
        for scenario, runs in zip(model.scenarios, results, strict=True)
    ]
    return {
        "scenarios": scenarios,
        "weeks": weeks,
        "replications": replications,
        "seed": seed,
        "events": sum(s["events"] for s in scenarios),
    }


def _run_parallel(tasks: list, workers: int, results: list[list[dict]], progress: Any) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from salesline.core.processes import exit_with_owner

    # A fork server: safe from a threaded parent (a web or worker process), cheap per child.
    context = multiprocessing.get_context("forkserver")
    ordered: list[tuple[int, dict] | None] = [None] * len(tasks)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=exit_with_owner, initargs=(os.getpid(),)
    ) as pool:
        futures = {pool.submit(_task, task): position for position, task in enumerate(tasks)}
        from concurrent.futures import as_completed

        for done, future in enumerate(as_completed(futures), start=1):
            ordered[futures[future]] = future.result()
            if progress:
                progress(done, len(tasks))
    # Replications in task order, whatever order they finished in: the same numbers.
    for item in ordered:
        if item is not None:  # every future gave its result or raised above
            index, run = item
            results[index].append(run)
