"""The meeting planner's solver: which candidate meetings go on which salesperson-day, in which
order and at what time, so that total travel is least. Pure (no Django): the services turn the
database into a `Problem` and a `Solution` back into rows.

Time is counted in minutes of the person's local day (09:00 is 540) on day `d` of the plan;
internally the solver uses one axis, `d * 1440 + minute`, so one vehicle per salesperson-day
cannot leave its day. Travel between two places is the haversine distance at `speed_kmh` plus a
fixed `overhead_minutes` (parking, walking in), or a given matrix.

Constraints, all hard:
- each day's route starts and ends at the salesperson's base inside working hours;
- a meeting starts and ends inside one of its availability windows and its deadline;
- no overlap with the person's existing appointments (`busy`) nor another planned meeting, and
  consecutive meetings are separated by at least the travel time between them;
- at most `per_day[d]` meetings on day d and `per_week[w]` in week w (both already net of the
  existing appointments).
Candidates that cannot all fit are dropped (a disjunction whose penalty grows with priority and
with an early deadline) and reported with a reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

DAY = 1440
EARTH_KM = 6371.0088


@dataclass(frozen=True)
class Window:
    """An interval of local time on plan day `day` (0 = the first day)."""

    day: int
    start: int  # minutes since local midnight
    end: int


@dataclass(frozen=True)
class Candidate:
    key: int  # the caller's id (a meeting request's)
    owner: int  # whose calendar (a Person's key)
    lat: float
    lon: float
    duration: int = 60
    priority: int = 3  # 1 (low) ... 5 (high)
    # None: any working time of the plan's days; else the meeting fits inside one of these.
    windows: tuple[Window, ...] | None = None
    deadline_day: int | None = None  # the last plan day it may take place on (None: any)


@dataclass(frozen=True)
class Day:
    """One working day of one person: a vehicle."""

    day: int
    start: int  # working hours, local minutes
    end: int
    capacity: int  # business-development meetings still possible that day
    week: int  # which week (any label: days with the same label share `Person.per_week`)


@dataclass(frozen=True)
class Person:
    key: int
    days: tuple[Day, ...]
    # The base each day starts and ends at; None: days start at the first meeting and end at
    # the last (no travel counted from or to a base).
    base: tuple[float, float] | None = None
    busy: tuple[Window, ...] = ()  # existing appointments
    per_week: dict[int, int] = field(default_factory=dict)  # week label -> meetings still free


@dataclass(frozen=True)
class Problem:
    people: tuple[Person, ...]
    candidates: tuple[Candidate, ...]
    speed_kmh: float = 50.0
    overhead_minutes: int = 10
    # Optional travel minutes between places: matrix[i][j] for place indices, where people's
    # bases come first (in order, one each, even when None) and then the candidates.
    matrix: Sequence[Sequence[int]] | None = None


@dataclass(frozen=True)
class Meeting:
    key: int
    owner: int
    day: int
    start: int
    end: int
    travel_before: int  # minutes from the base or the previous meeting


@dataclass
class Solution:
    meetings: list[Meeting]
    unplanned: list[tuple[int, str]]  # (candidate key, reason)
    total_travel: int  # every leg, the ones back to the base included
    seconds: float = 0.0
    method: str = "routing"

    def by_route(self) -> dict[tuple[int, int], list[Meeting]]:
        routes: dict[tuple[int, int], list[Meeting]] = {}
        for meeting in sorted(self.meetings, key=lambda m: (m.owner, m.day, m.start)):
            routes.setdefault((meeting.owner, meeting.day), []).append(meeting)
        return routes


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


class _Travel:
    """Travel minutes between places: people's bases (0..P-1), then candidates (P..)."""

    def __init__(self, problem: Problem):
        self.people = len(problem.people)
        points: list[tuple[float, float] | None] = [p.base for p in problem.people]
        points += [(c.lat, c.lon) for c in problem.candidates]
        self.points = points
        size = len(points)
        if problem.matrix is not None:
            self.table = [[int(problem.matrix[i][j]) for j in range(size)] for i in range(size)]
            for i in range(self.people):  # no base: nothing to travel
                if points[i] is None:
                    for j in range(size):
                        self.table[i][j] = self.table[j][i] = 0
            return
        self.table = [[0] * size for _ in range(size)]
        for i in range(size):
            for j in range(i + 1, size):
                a, b = points[i], points[j]
                if a is None or b is None:
                    minutes = 0
                else:
                    km = haversine_km(a, b)
                    minutes = (
                        0
                        if km < 0.05
                        else math.ceil(km / problem.speed_kmh * 60) + problem.overhead_minutes
                    )
                self.table[i][j] = self.table[j][i] = minutes

    def __call__(self, i: int, j: int) -> int:
        return self.table[i][j]


def _free_starts(candidate: Candidate, day: Day, busy: Sequence[Window]) -> list[tuple[int, int]]:
    """The intervals [a, b] of local start minutes at which `candidate` may begin on `day`:
    inside working hours and a window, clear of the person's appointments."""
    if candidate.deadline_day is not None and day.day > candidate.deadline_day:
        return []
    if candidate.windows is None:
        spans = [(day.start, day.end)]
    else:
        spans = [
            (max(w.start, day.start), min(w.end, day.end))
            for w in candidate.windows
            if w.day == day.day
        ]
    blocked = sorted((b.start, b.end) for b in busy if b.day == day.day)
    out: list[tuple[int, int]] = []
    for lo, hi in spans:
        pieces = [(lo, hi)]
        for b_start, b_end in blocked:
            next_pieces = []
            for p_lo, p_hi in pieces:
                # a meeting [s, s + duration) must not touch [b_start, b_end)
                if p_lo < b_start:
                    next_pieces.append((p_lo, min(p_hi, b_start)))
                if p_hi > b_end:
                    next_pieces.append((max(p_lo, b_end), p_hi))
            pieces = next_pieces
        for p_lo, p_hi in pieces:
            if p_hi - p_lo >= candidate.duration:
                out.append((p_lo, p_hi - candidate.duration))
    out.sort()
    merged: list[tuple[int, int]] = []
    for a, b in out:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _earliest(starts: list[tuple[int, int]], at: int) -> int | None:
    for a, b in starts:
        if at <= b:
            return max(a, at)
    return None


class _Index:
    """What both planners need: travel, and where each candidate may start on each vehicle."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.travel = _Travel(problem)
        self.vehicles: list[tuple[int, Person, Day]] = []  # (person index, person, day)
        for p_index, person in enumerate(problem.people):
            for day in person.days:
                self.vehicles.append((p_index, person, day))
        self.person_of = {person.key: i for i, person in enumerate(problem.people)}
        # starts[c][v]: the start intervals of candidate c on vehicle v (absent: none)
        self.starts: list[dict[int, list[tuple[int, int]]]] = []
        self.reasons: dict[int, str] = {}
        for c_index, candidate in enumerate(problem.candidates):
            owner_index = self.person_of.get(candidate.owner)
            options: dict[int, list[tuple[int, int]]] = {}
            if owner_index is not None:
                for v, (vp, person, day) in enumerate(self.vehicles):
                    if vp != owner_index or day.capacity <= 0:
                        continue
                    if person.per_week.get(day.week, 1) <= 0:
                        continue
                    spans = _free_starts(candidate, day, person.busy)
                    node = self.node(c_index)
                    out, back = self.travel(owner_index, node), self.travel(node, owner_index)
                    spans = [
                        (max(a, day.start + out), min(b, day.end - candidate.duration - back))
                        for a, b in spans
                    ]
                    spans = [(a, b) for a, b in spans if a <= b]
                    if spans:
                        options[v] = spans
            self.starts.append(options)
            if not options:
                self.reasons[c_index] = self._why_not(candidate, owner_index)

    def node(self, c_index: int) -> int:
        return len(self.problem.people) + c_index

    def _why_not(self, candidate: Candidate, p_index: int | None) -> str:
        if p_index is None:
            return "Its salesperson is not part of this plan."
        person = self.problem.people[p_index]
        days = person.days
        if not days:
            return "There is no working day in the plan."
        if candidate.deadline_day is not None and candidate.deadline_day < min(d.day for d in days):
            return "Its deadline is before the plan's first working day."
        if all(d.capacity <= 0 or person.per_week.get(d.week, 1) <= 0 for d in days):
            return "The daily or weekly capacity of business-development meetings is reached."
        if candidate.duration > max(d.end - d.start for d in days):
            return "It is longer than a working day."
        if candidate.windows is not None and not any(_free_starts(candidate, d, ()) for d in days):
            return "None of its availability windows falls in working hours on the plan's days."
        if not any(_free_starts(candidate, d, person.busy) for d in days):
            return "Existing appointments fill its availability windows."
        return "Travel from the base and back does not fit in working hours on any available day."


def _reason_dropped(index: _Index, c_index: int, solution_counts: dict[int, int]) -> str:
    """Why a candidate the solver could place somewhere was left out."""
    options = index.starts[c_index]
    full = [v for v in options if solution_counts.get(v, 0) >= index.vehicles[v][2].capacity]
    if len(full) == len(options):
        return (
            "Capacity reached on every day it could take place (business-development meetings "
            "per day or week)."
        )
    return (
        "No room left on the days it could take place: the planned meetings and the travel "
        "between them fill the time (higher priority or closer meetings went first)."
    )


def penalty(candidate: Candidate) -> int:
    """What leaving `candidate` out costs, in travel minutes."""
    priority = min(5, max(1, candidate.priority))
    urgency = 0 if candidate.deadline_day is None else max(0, 15 - candidate.deadline_day) * 200
    return 10_000 + priority * 4_000 + urgency


def _schedule(index: _Index, v: int, order: Sequence[int]) -> list[Meeting] | None:
    """Earliest feasible times for candidates `order` on vehicle v (None: infeasible)."""
    p_index, person, day = index.vehicles[v]
    problem = index.problem
    meetings: list[Meeting] = []
    place, clock = p_index, day.start
    for c_index in order:
        node = index.node(c_index)
        travel = index.travel(place, node)
        start = _earliest(index.starts[c_index].get(v, []), clock + travel)
        if start is None:
            return None
        candidate = problem.candidates[c_index]
        meetings.append(
            Meeting(candidate.key, person.key, day.day, start, start + candidate.duration, travel)
        )
        place, clock = node, start + candidate.duration
    if order and clock + index.travel(place, p_index) > day.end:
        return None
    return meetings


def _total(index: _Index, routes: dict[int, list[int]]) -> int:
    total = 0
    for v, order in routes.items():
        p_index = index.vehicles[v][0]
        place = p_index
        for c_index in order:
            node = index.node(c_index)
            total += index.travel(place, node)
            place = node
        if order:
            total += index.travel(place, p_index)
    return total


def _finish(index: _Index, routes: dict[int, list[int]], started: float, method: str) -> Solution:
    meetings: list[Meeting] = []
    counts: dict[int, int] = {}
    for v, order in routes.items():
        scheduled = _schedule(index, v, order)
        if scheduled is None:  # cannot happen for a solver's feasible route; never plan it
            continue
        meetings += scheduled
        counts[v] = len(order)
    planned = {m.key for m in meetings}
    unplanned = []
    for c_index, candidate in enumerate(index.problem.candidates):
        if candidate.key in planned:
            continue
        reason = index.reasons.get(c_index) or _reason_dropped(index, c_index, counts)
        unplanned.append((candidate.key, reason))
    return Solution(
        meetings=sorted(meetings, key=lambda m: (m.owner, m.day, m.start)),
        unplanned=unplanned,
        total_travel=_total(index, {v: o for v, o in routes.items() if v in counts}),
        seconds=time.perf_counter() - started,
        method=method,
    )


def greedy(problem: Problem) -> Solution:
    """The naive plan: each day, from the base, go to the nearest meeting that still fits
    (earliest-start, capacity, the way back), until none does."""
    started = time.perf_counter()
    index = _Index(problem)
    left = {c for c in range(len(problem.candidates)) if index.starts[c]}
    routes: dict[int, list[int]] = {}
    week_used: dict[tuple[int, int], int] = {}
    for v, (p_index, person, day) in enumerate(index.vehicles):
        order: list[int] = []
        place, clock = p_index, day.start
        while True:
            if len(order) >= day.capacity:
                break
            if week_used.get((p_index, day.week), 0) >= person.per_week.get(day.week, 10**6):
                break
            best = None
            for c_index in left:
                spans = index.starts[c_index].get(v)
                if not spans:
                    continue
                node = index.node(c_index)
                travel = index.travel(place, node)
                start = _earliest(spans, clock + travel)
                if start is None:
                    continue
                end = start + problem.candidates[c_index].duration
                if end + index.travel(node, p_index) > day.end:
                    continue
                rank = (travel, start, c_index)
                if best is None or rank < best[0]:
                    best = (rank, c_index, end)
            if best is None:
                break
            _, c_index, end = best
            order.append(c_index)
            left.discard(c_index)
            week_used[(p_index, day.week)] = week_used.get((p_index, day.week), 0) + 1
            place, clock = index.node(c_index), end
        if order:
            routes[v] = order
    return _finish(index, routes, started, "greedy")


def solve(
    problem: Problem,
    *,
    time_limit: float = 5.0,
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION",
) -> Solution:
    """The routing plan: OR-Tools with time windows, one vehicle per salesperson-day, guided
    local search for `time_limit` seconds. Falls back to the greedy plan when the solver finds
    nothing (it always can: dropping every meeting is a solution)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    started = time.perf_counter()
    index = _Index(problem)
    plannable = [c for c in range(len(problem.candidates)) if index.starts[c]]
    if not plannable or not index.vehicles:
        return _finish(index, {}, started, "routing")
    # Routing nodes: one per person (their base, a depot), then the plannable candidates.
    people = len(problem.people)
    nodes = list(range(people)) + [index.node(c) for c in plannable]
    candidate_of = {people + i: c for i, c in enumerate(plannable)}
    depots = [p_index for p_index, _, _ in index.vehicles]
    manager = pywrapcp.RoutingIndexManager(len(nodes), len(index.vehicles), depots, depots)
    routing = pywrapcp.RoutingModel(manager)
    duration = [0] * people + [problem.candidates[c].duration for c in plannable]

    def place(routing_index: int) -> int:
        return nodes[manager.IndexToNode(routing_index)]

    def travel_cb(i: int, j: int) -> int:
        return index.travel(place(i), place(j))

    def time_cb(i: int, j: int) -> int:
        return duration[manager.IndexToNode(i)] + index.travel(place(i), place(j))

    travel_index = routing.RegisterTransitCallback(travel_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(travel_index)
    time_index = routing.RegisterTransitCallback(time_cb)
    last_day = max(day.day for _, _, day in index.vehicles)
    horizon = (last_day + 1) * DAY
    routing.AddDimension(time_index, DAY, horizon, False, "time")
    clock = routing.GetDimensionOrDie("time")
    for v, (_, _, day) in enumerate(index.vehicles):
        offset = day.day * DAY
        clock.CumulVar(routing.Start(v)).SetRange(offset + day.start, offset + day.end)
        clock.CumulVar(routing.End(v)).SetRange(offset + day.start, offset + day.end)
        routing.AddVariableMaximizedByFinalizer(clock.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(clock.CumulVar(routing.End(v)))
    ones = routing.RegisterUnaryTransitCallback(
        lambda i: 0 if manager.IndexToNode(i) < people else 1
    )
    routing.AddDimensionWithVehicleCapacity(
        ones, 0, [day.capacity for _, _, day in index.vehicles], True, "meetings"
    )
    solver = routing.solver()
    for node in range(people, len(nodes)):
        c_index = candidate_of[node]
        r_index = manager.NodeToIndex(node)
        options = index.starts[c_index]
        allowed = sorted(options)
        routing.VehicleVar(r_index).SetValues([-1, *allowed])
        absolute = sorted(
            (index.vehicles[v][2].day * DAY + a, index.vehicles[v][2].day * DAY + b)
            for v, spans in options.items()
            for a, b in spans
        )
        merged: list[tuple[int, int]] = []
        for a, b in absolute:
            if merged and a <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        cumul = clock.CumulVar(r_index)
        cumul.SetRange(merged[0][0], merged[-1][1])
        for (_, b), (a, _) in zip(merged, merged[1:], strict=False):
            if a - 1 >= b + 1:
                cumul.RemoveInterval(b + 1, a - 1)
        # On a given day the start must also be one of that vehicle's intervals: the day's
        # offset keeps the vehicles apart, so the union above is exact per vehicle.
        routing.AddDisjunction([r_index], penalty(problem.candidates[c_index]))
    # The week's remaining capacity, where the days' capacities add up to more than it.
    weeks: dict[tuple[int, int], list[int]] = {}
    for v, (p_index, _, day) in enumerate(index.vehicles):
        weeks.setdefault((p_index, day.week), []).append(v)
    for (p_index, week), vehicles in weeks.items():
        limit = problem.people[p_index].per_week.get(week)
        if limit is None or limit >= sum(index.vehicles[v][2].capacity for v in vehicles):
            continue
        members = [
            solver.IsMemberVar(routing.VehicleVar(manager.NodeToIndex(node)), vehicles)
            for node in range(people, len(nodes))
            if any(v in index.starts[candidate_of[node]] for v in vehicles)
        ]
        if members:
            solver.Add(solver.Sum(members) <= limit)
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, first_solution
    )
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    remaining = max(0.05, time_limit - (time.perf_counter() - started))
    parameters.time_limit.FromMilliseconds(int(remaining * 1000))
    assignment = routing.SolveWithParameters(parameters)
    if assignment is None:
        fallback = greedy(problem)
        fallback.seconds = time.perf_counter() - started
        return fallback
    routes: dict[int, list[int]] = {}
    for v in range(len(index.vehicles)):
        order = []
        r_index = assignment.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(r_index):
            order.append(candidate_of[manager.IndexToNode(r_index)])
            r_index = assignment.Value(routing.NextVar(r_index))
        if order:
            routes[v] = order
    return _finish(index, routes, started, "routing")
