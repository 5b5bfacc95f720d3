"""The travel-time matrix: minutes between the organisation's places, entered by hand, and the
clock the planner measures journeys with — the matrix when both ends of a journey are known
places (a point's place is the Place nearest to it within 2 km), the haversine distance at the
person's speed plus their overhead otherwise.

Who may: every member reads; admins and sales coordinators change it (the places table's rule).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import transaction

from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, ProblemList
from salesline.core.ids import is_id

from . import routing
from .models import Place, TravelTime, WorkingPattern
from .places import require_edit

NEAR_KM = 2.0
MAX_MINUTES = 1440
MAX_ENTRIES = 10_000

Point = tuple[float | None, float | None] | None
Clock = Callable[[Point, Point], int]


def entry_out(row: TravelTime) -> dict:
    return {"from": row.from_place_id, "to": row.to_place_id, "minutes": row.minutes}


def travel_time_rows(*, actor: Actor) -> list[TravelTime]:
    """The entries as given, by the places' names."""
    return list(
        TravelTime.objects.filter(organisation=actor.organisation)
        .select_related("from_place", "to_place")
        .order_by("from_place__name", "to_place__name", "id")
    )


def travel_time_get_for(*, actor: Actor, entry_id: int) -> TravelTime:
    if not is_id(entry_id):
        raise NotFound(f"No travel time with id {entry_id}.")
    row = (
        TravelTime.objects.filter(organisation=actor.organisation, pk=entry_id)
        .select_related("from_place", "to_place")
        .first()
    )
    if row is None:
        raise NotFound(f"No travel time with id {entry_id}.")
    return row


def _clean_minutes(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isdecimal():
            return None
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_MINUTES:
        return None
    return value


def _clean_entries(actor: Actor, items: Any) -> list[tuple[int, int, int]]:
    problems = ProblemList()
    if not isinstance(items, list):
        problems.add((), "Give a list of {from, to, minutes}.")
        problems.raise_if_any()
    if len(items) > MAX_ENTRIES:
        problems.add((), f"At most {MAX_ENTRIES:,} travel times.")
        problems.raise_if_any()
    wanted: set[int] = set()
    for item in items:
        if isinstance(item, Mapping):
            for key in ("from", "to"):
                value = item.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    wanted.add(value)
    known = set(
        Place.objects.filter(organisation=actor.organisation, pk__in=wanted).values_list(
            "pk", flat=True
        )
    )
    out: list[tuple[int, int, int]] = []
    seen: dict[tuple[int, int], int] = {}
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            problems.add((i,), "A travel time is {from, to, minutes}.")
            continue
        for name in sorted(set(item) - {"from", "to", "minutes"}):
            problems.add((i, name), f"Unknown field '{name}'.")
        ends: list[int | None] = []
        for key in ("from", "to"):
            value = item.get(key)
            if value is None:
                problems.add((i, key), f"'{key}' is required: a place's id.", type="missing")
                ends.append(None)
            elif isinstance(value, bool) or not isinstance(value, int) or value not in known:
                problems.add((i, key), f"No place with id {value}.", type="not_found")
                ends.append(None)
            else:
                ends.append(value)
        minutes = _clean_minutes(item.get("minutes"))
        if minutes is None:
            problems.add(
                (i, "minutes"), f"'minutes' must be a whole number from 0 to {MAX_MINUTES}."
            )
        a, b = ends
        if a is not None and b is not None:
            if a == b:
                problems.add((i, "to"), "A travel time is between two different places.")
            elif (a, b) in seen:
                problems.add((i, "to"), f"The same journey as item {seen[(a, b)]}.")
            else:
                seen[(a, b)] = i
                if minutes is not None:
                    out.append((a, b, minutes))
    problems.raise_if_any()
    return out


def travel_times_replace(*, actor: Actor, items: Any) -> list[TravelTime]:
    """The whole matrix becomes `items` ([{"from": place id, "to": place id, "minutes": m}]);
    an entry without its reverse also counts for the way back."""
    require_edit(actor)
    entries = _clean_entries(actor, items)
    with transaction.atomic():
        before = {
            (r.from_place_id, r.to_place_id): r.minutes
            for r in TravelTime.objects.select_for_update().filter(organisation=actor.organisation)
        }
        TravelTime.objects.filter(organisation=actor.organisation).delete()
        TravelTime.objects.bulk_create(
            TravelTime(organisation=actor.organisation, from_place_id=a, to_place_id=b, minutes=m)
            for a, b, m in entries
        )
        after = {(a, b): m for a, b, m in entries}
        audit.record(
            actor=actor,
            action="travel_times.replace",
            object_type="scheduling.traveltime",
            object_repr="travel-time matrix",
            changes={
                "entries": [len(before), len(after)],
                "changed": sorted(
                    f"{a}->{b}"
                    for a, b in set(before) | set(after)
                    if before.get((a, b)) != after.get((a, b))
                )[:100],
            },
        )
    return travel_time_rows(actor=actor)


def travel_time_set(*, actor: Actor, from_id: Any, to_id: Any, minutes: Any) -> TravelTime:
    """Adds one journey or changes its minutes (the page's form)."""
    require_edit(actor)
    ((a, b, m),) = _clean_entries(actor, [{"from": from_id, "to": to_id, "minutes": minutes}])
    with transaction.atomic():
        row = (
            TravelTime.objects.select_for_update()
            .filter(organisation=actor.organisation, from_place_id=a, to_place_id=b)
            .first()
        )
        old = row.minutes if row else None
        if row is None:
            row = TravelTime.objects.create(
                organisation=actor.organisation, from_place_id=a, to_place_id=b, minutes=m
            )
        else:
            row.minutes = m
            row.save(update_fields=["minutes"])
        audit.record(
            actor=actor,
            action="travel_time.set",
            obj=row,
            changes={"from": a, "to": b, "minutes": [old, m]},
        )
    return travel_time_get_for(actor=actor, entry_id=row.pk)


def travel_time_delete(*, actor: Actor, entry_id: int) -> None:
    require_edit(actor)
    with transaction.atomic():
        row = (
            TravelTime.objects.select_for_update()
            .filter(organisation=actor.organisation, pk=entry_id)
            .first()
        )
        if row is None:
            raise NotFound(f"No travel time with id {entry_id}.")
        audit.record(actor=actor, action="travel_time.delete", obj=row, changes=entry_out(row))
        row.delete()


# -- the planner's clock ----------------------------------------------------------------------


def haversine_minutes(pattern: WorkingPattern, a: Point, b: Point) -> int:
    """Door to door at the person's speed, plus their overhead (0 for the same spot)."""
    if a is None or b is None or a[0] is None or a[1] is None or b[0] is None or b[1] is None:
        return 0
    km = routing.haversine_km((a[0], a[1]), (b[0], b[1]))
    if km < 0.05:
        return 0
    return math.ceil(km / (pattern.travel_speed_kmh or 50) * 60) + pattern.travel_overhead_minutes


class TravelClock:
    """Travel minutes between two points for one person: the organisation's matrix when both
    points are within 2 km of places it names, else `haversine_minutes`."""

    def __init__(self, organisation, pattern: WorkingPattern):
        self.pattern = pattern
        self.table: dict[tuple[int, int], int] = {}
        rows = list(
            TravelTime.objects.filter(organisation=organisation).values_list(
                "from_place_id", "to_place_id", "minutes"
            )
        )
        for a, b, m in rows:
            self.table[(a, b)] = m
        for a, b, m in rows:
            self.table.setdefault((b, a), m)
        self.places: list[tuple[int, float, float]] = []
        if self.table:
            self.places = list(
                Place.objects.filter(organisation=organisation).values_list(
                    "pk", "latitude", "longitude"
                )
            )
        self._place_of: dict[tuple[float, float], int | None] = {}

    def place_of(self, point: Point) -> int | None:
        """The id of the place nearest `point` within 2 km (None: none)."""
        if point is None or point[0] is None or point[1] is None:
            return None
        key = (point[0], point[1])
        if key not in self._place_of:
            best: tuple[float, int] | None = None
            for pk, lat, lon in self.places:
                if abs(lat - key[0]) > 0.05:  # 2 km is ~0.018 degrees of latitude
                    continue
                km = routing.haversine_km(key, (lat, lon))
                if km <= NEAR_KM and (best is None or km < best[0]):
                    best = (km, pk)
            self._place_of[key] = best[1] if best else None
        return self._place_of[key]

    def __call__(self, a: Point, b: Point) -> int:
        if self.table:
            pa, pb = self.place_of(a), self.place_of(b)
            if pa is not None and pb is not None and (pa, pb) in self.table:
                return self.table[(pa, pb)]
        return haversine_minutes(self.pattern, a, b)

    def matrix(self, points: Sequence[Point]) -> list[list[int]] | None:
        """The minutes between every two of `points` (None when the organisation has no
        matrix: the solver then measures by itself, the same way)."""
        if not self.table:
            return None
        return [
            [0 if i == j else self(a, b) for j, b in enumerate(points)]
            for i, a in enumerate(points)
        ]
