"""The meeting planner's solver on random instances: whatever it plans keeps every rule (no
overlaps, inside windows and working hours, per-day and per-week capacity, travel time between
consecutive meetings and from and to the base), and every candidate left out has a reason."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesline.scheduling import routing

CENTRE = (52.2, -1.0)


def km(a, b) -> float:
    """An independent great-circle distance (spherical law of cosines)."""
    lat1, lon1, lat2, lon2 = (math.radians(x) for x in (*a, *b))
    cos = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return 6371.0088 * math.acos(max(-1.0, min(1.0, cos)))


def travel(problem, a, b) -> int:
    if a is None or b is None:
        return 0
    distance = km(a, b)
    if distance < 0.05:
        return 0
    return math.ceil(distance / problem.speed_kmh * 60) + problem.overhead_minutes


@st.composite
def instances(draw):
    n_days = draw(st.integers(1, 6))
    people = []
    for key in (1, 2)[: draw(st.integers(1, 2))]:
        days = []
        for d in range(n_days):
            if draw(st.booleans()) or d == 0:
                start = draw(st.sampled_from((8 * 60, 9 * 60, 10 * 60)))
                end = draw(st.sampled_from((15 * 60, 17 * 60, 18 * 60)))
                days.append(routing.Day(d, start, end, draw(st.integers(0, 4)), d // 3))
        busy = tuple(
            routing.Window(d, s, s + length)
            for d, s, length in draw(
                st.lists(
                    st.tuples(
                        st.integers(0, n_days - 1),
                        st.integers(8 * 60, 16 * 60),
                        st.integers(15, 120),
                    ),
                    max_size=3,
                )
            )
        )
        base = draw(
            st.one_of(
                st.none(),
                st.tuples(st.floats(-0.4, 0.4), st.floats(-0.6, 0.6)).map(
                    lambda o: (CENTRE[0] + o[0], CENTRE[1] + o[1])
                ),
            )
        )
        per_week = {w: draw(st.integers(0, 6)) for w in {day.week for day in days}}
        people.append(routing.Person(key, tuple(days), base, busy, per_week))
    candidates = []
    for i in range(draw(st.integers(0, 14))):
        lat = CENTRE[0] + draw(st.floats(-0.5, 0.5))
        lon = CENTRE[1] + draw(st.floats(-0.8, 0.8))
        windows = draw(
            st.one_of(
                st.none(),
                st.lists(
                    st.tuples(
                        st.integers(0, n_days - 1),
                        st.integers(8 * 60, 16 * 60),
                        st.integers(30, 300),
                    ).map(lambda t: routing.Window(t[0], t[1], t[1] + t[2])),
                    max_size=3,
                ).map(tuple),
            )
        )
        candidates.append(
            routing.Candidate(
                key=100 + i,
                owner=draw(st.sampled_from([p.key for p in people])),
                lat=lat,
                lon=lon,
                duration=draw(st.sampled_from((30, 45, 60, 90))),
                priority=draw(st.integers(1, 5)),
                windows=windows,
                deadline_day=draw(st.one_of(st.none(), st.integers(-1, n_days - 1))),
            )
        )
    return routing.Problem(
        people=tuple(people),
        candidates=tuple(candidates),
        speed_kmh=draw(st.sampled_from((30.0, 50.0, 80.0))),
        overhead_minutes=draw(st.sampled_from((0, 10))),
    )


def assert_keeps_every_rule(problem: routing.Problem, solution: routing.Solution) -> None:
    people = {p.key: p for p in problem.people}
    candidates = {c.key: c for c in problem.candidates}
    planned = [m.key for m in solution.meetings]
    assert len(planned) == len(set(planned)), "a meeting planned twice"
    unplanned = dict(solution.unplanned)
    assert set(planned) | set(unplanned) == set(candidates)
    assert not set(planned) & set(unplanned)
    assert all(reason.strip() for reason in unplanned.values())
    total = 0
    week_counts: dict[tuple[int, int], int] = {}
    for (owner, d), route in solution.by_route().items():
        person = people[owner]
        day = next(day for day in person.days if day.day == d)
        assert len(route) <= day.capacity
        week_counts[(owner, day.week)] = week_counts.get((owner, day.week), 0) + len(route)
        place, clock = person.base, day.start
        for meeting in route:
            c = candidates[meeting.key]
            assert c.owner == owner
            assert meeting.end - meeting.start == c.duration
            assert day.start <= meeting.start and meeting.end <= day.end
            if c.deadline_day is not None:
                assert d <= c.deadline_day
            if c.windows is not None:
                assert any(
                    w.day == d and w.start <= meeting.start and meeting.end <= w.end
                    for w in c.windows
                )
            for b in person.busy:
                assert b.day != d or meeting.end <= b.start or meeting.start >= b.end
            here = (c.lat, c.lon)
            need = travel(problem, place, here)
            assert meeting.travel_before == need
            assert meeting.start >= clock + need  # no overlap, and time to get there
            total += need
            place, clock = here, meeting.end
        back = travel(problem, place, person.base)
        assert clock + back <= day.end
        total += back
    for (owner, week), count in week_counts.items():
        assert count <= people[owner].per_week.get(week, 10**6)
    assert solution.total_travel == total


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(instances())
def test_the_solver_keeps_every_rule(problem):
    assert_keeps_every_rule(problem, routing.solve(problem, time_limit=0.3))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_the_greedy_plan_keeps_every_rule(problem):
    assert_keeps_every_rule(problem, routing.greedy(problem))


def test_batches_meetings_by_town_and_beats_the_greedy_plan():
    """Two towns 100 km apart, four meetings in each: the solver spends one day in each town;
    going to the nearest meeting first, greedily, zigzags."""
    base = (52.0, -1.0)
    east, west = (52.0, 0.47), (52.0, -2.47)
    people = (
        routing.Person(
            1,
            tuple(routing.Day(d, 8 * 60, 18 * 60, 4, 0) for d in range(2)),
            base,
            per_week={0: 20},
        ),
    )
    candidates = tuple(
        routing.Candidate(i, 1, town[0] + 0.001 * i, town[1], duration=60)
        for i, town in enumerate([east, west] * 4)
    )
    problem = routing.Problem(people, candidates, speed_kmh=80, overhead_minutes=0)
    plan = routing.solve(problem, time_limit=1)
    assert_keeps_every_rule(problem, plan)
    assert len(plan.meetings) == 8
    for route in plan.by_route().values():
        assert len({round(candidates[m.key].lon) for m in route}) == 1, "one town a day"
    naive = routing.greedy(problem)
    assert plan.total_travel <= naive.total_travel


def test_unplannable_meetings_are_reported_with_their_reason():
    day = routing.Day(0, 9 * 60, 17 * 60, 1, 0)
    person = routing.Person(1, (day,), (52.0, -1.0), per_week={0: 20})
    candidates = (
        routing.Candidate(1, 1, 52.0, -1.0, priority=5),
        routing.Candidate(2, 1, 52.0, -1.01, priority=1),  # the day's one slot is taken
        routing.Candidate(3, 1, 52.0, -1.0, deadline_day=-1),
        routing.Candidate(4, 1, 52.0, -1.0, windows=(routing.Window(0, 18 * 60, 20 * 60),)),
        routing.Candidate(5, 1, 40.0, 20.0),  # too far to go and come back in a day
        routing.Candidate(6, 9, 52.0, -1.0),
    )
    plan = routing.solve(routing.Problem((person,), candidates), time_limit=0.5)
    assert [m.key for m in plan.meetings] == [1]
    reasons = dict(plan.unplanned)
    assert "Capacity" in reasons[2]
    assert "deadline" in reasons[3]
    assert "availability windows" in reasons[4]
    assert "Travel" in reasons[5]
    assert "not part of this plan" in reasons[6]


def test_existing_appointments_block_their_time_and_the_week_limit_holds():
    days = tuple(routing.Day(d, 9 * 60, 12 * 60, 4, 0) for d in range(3))
    busy = (routing.Window(0, 9 * 60, 12 * 60),)  # day 0 is full
    person = routing.Person(1, days, None, busy, per_week={0: 2})
    candidates = tuple(routing.Candidate(i, 1, 52.0, -1.0) for i in range(5))
    plan = routing.solve(routing.Problem((person,), candidates), time_limit=0.5)
    assert_keeps_every_rule(routing.Problem((person,), candidates), plan)
    assert len(plan.meetings) == 2
    assert all(m.day != 0 for m in plan.meetings)


def test_a_travel_time_matrix_replaces_the_distances():
    day = routing.Day(0, 9 * 60, 17 * 60, 4, 0)
    person = routing.Person(1, (day,), (0.0, 0.0), per_week={0: 20})
    candidates = (routing.Candidate(1, 1, 0.0, 0.0), routing.Candidate(2, 1, 0.0, 0.0))
    matrix = [[0, 30, 40], [30, 0, 25], [40, 25, 0]]
    plan = routing.solve(routing.Problem((person,), candidates, matrix=matrix), time_limit=0.5)
    assert plan.total_travel == 30 + 25 + 40
    first, second = plan.meetings
    assert second.travel_before == 25  # either way round: 30 + 25 + 40
    assert first.travel_before in (30, 40)
    assert second.start >= first.end + 25
