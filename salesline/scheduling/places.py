"""The geocoding table's services and selectors: places (a town's coordinates, per organisation)
that a meeting's or a request's address is located by when it has no coordinates of its own.

Who may: every member reads; admins and sales coordinators add, change and remove places (and
upload them as CSV). Another organisation's places are NotFound.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from salesline.accounts.models import Role
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, PermissionDenied, ProblemList
from salesline.core.ids import is_id
from salesline.core.text import text_problem
from salesline.records.location import clean_coordinate, clean_country

from .models import Place

NAME_MAX = 120
FIELDS = ("name", "country", "latitude", "longitude")
CSV_HEADER = list(FIELDS)
MAX_CSV_ROWS = 10_000
DEFAULT_LIMIT, MAX_LIMIT = 50, 500


def may_edit(actor: Actor) -> bool:
    return actor.has_role(Role.ADMIN, Role.SALES_COORDINATOR)


def require_edit(actor: Actor) -> None:
    if not may_edit(actor):
        raise PermissionDenied("Only admins and sales coordinators may change the places table.")


def place_out(place: Place) -> dict:
    return {
        "id": place.pk,
        "name": place.name,
        "country": place.country,
        "latitude": place.latitude,
        "longitude": place.longitude,
    }


def _clean(data: Mapping[str, Any], problems: ProblemList, *, creating: bool) -> dict:
    """The given fields cleaned; on creating, name, latitude and longitude are required. Each
    problem names its field (loc prefixed by nothing: the caller adds a row's line)."""
    fields: dict[str, Any] = {}
    for name in sorted(set(data) - set(FIELDS)):
        problems.add((name,), f"Unknown field '{name}'.")
    if "name" in data or creating:
        value = data.get("name")
        if not isinstance(value, str) or not value.strip():
            problems.add(("name",), "Name is required.", type="missing")
        else:
            reason = text_problem(value.strip(), max_length=NAME_MAX)
            if reason:
                problems.add(("name",), f"Name {reason}.")
            else:
                fields["name"] = value.strip()
    if "country" in data:
        value = data.get("country")
        if value is None:
            fields["country"] = ""
        elif not isinstance(value, str):
            problems.add(("country",), "Country must be a two-letter ISO 3166 code or blank.")
        else:
            try:
                fields["country"] = clean_country(value)
            except ValueError as error:
                problems.add(("country",), f"Country {error}.")
    elif creating:
        fields["country"] = ""
    for name in ("latitude", "longitude"):
        if name not in data and not creating:
            continue
        value = data.get(name)
        if value in (None, "") or (isinstance(value, str) and not value.strip()):
            problems.add((name,), f"{name.capitalize()} is required.", type="missing")
            continue
        if isinstance(value, str):
            value = value.strip()
        try:
            fields[name] = clean_coordinate(name, value)
        except ValueError as error:
            problems.add((name,), f"{name.capitalize()} {error}.")
    return fields


def _duplicate(actor: Actor, name: str, country: str, exclude: int | None = None) -> bool:
    rows = Place.objects.filter(organisation=actor.organisation, name__iexact=name, country=country)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return rows.exists()


def _duplicate_message(name: str, country: str) -> str:
    where = f" in {country}" if country else " without a country"
    return f"There is a place named “{name}”{where} already."


def place_create(*, actor: Actor, data: Mapping[str, Any]) -> Place:
    require_edit(actor)
    problems = ProblemList()
    fields = _clean(data, problems, creating=True)
    if (
        "name" in fields
        and "country" in fields
        and _duplicate(actor, fields["name"], fields["country"])
    ):
        problems.add(
            ("name",), _duplicate_message(fields["name"], fields["country"]), type="duplicate"
        )
    problems.raise_if_any()
    try:
        with transaction.atomic():
            place = Place.objects.create(organisation=actor.organisation, **fields)
            audit.record(actor=actor, action="place.create", obj=place, changes=place_out(place))
    except IntegrityError:  # a concurrent create of the same place
        problems.add(
            ("name",), _duplicate_message(fields["name"], fields["country"]), type="duplicate"
        )
        problems.raise_if_any()
        raise
    return place


def place_update(*, actor: Actor, place_id: int, data: Mapping[str, Any]) -> Place:
    require_edit(actor)
    if not is_id(place_id):
        raise NotFound(f"No place with id {place_id}.")
    problems = ProblemList()
    fields = _clean(data, problems, creating=False)
    try:
        with transaction.atomic():
            place = (
                Place.objects.select_for_update()
                .filter(organisation=actor.organisation, pk=place_id)
                .first()
            )
            if place is None:
                raise NotFound(f"No place with id {place_id}.")
            name = fields.get("name", place.name)
            country = fields.get("country", place.country)
            if ("name" in fields or "country" in fields) and _duplicate(
                actor, name, country, exclude=place.pk
            ):
                problems.add(("name",), _duplicate_message(name, country), type="duplicate")
            problems.raise_if_any()
            before = place_out(place)
            for key, value in fields.items():
                setattr(place, key, value)
            place.save()
            after = place_out(place)
            audit.record(
                actor=actor,
                action="place.update",
                obj=place,
                changes={k: [before[k], v] for k, v in after.items() if before[k] != v},
            )
    except IntegrityError:
        problems.add(("name",), _duplicate_message(name, country), type="duplicate")
        problems.raise_if_any()
        raise
    return place


def place_delete(*, actor: Actor, place_id: int) -> None:
    """Removes the place; addresses located by it keep their coordinates."""
    require_edit(actor)
    if not is_id(place_id):
        raise NotFound(f"No place with id {place_id}.")
    with transaction.atomic():
        place = (
            Place.objects.select_for_update()
            .filter(organisation=actor.organisation, pk=place_id)
            .first()
        )
        if place is None:
            raise NotFound(f"No place with id {place_id}.")
        audit.record(actor=actor, action="place.delete", obj=place, changes=place_out(place))
        place.delete()


def place_get_for(*, actor: Actor, place_id: int) -> Place:
    if not is_id(place_id):
        raise NotFound(f"No place with id {place_id}.")
    place = Place.objects.filter(organisation=actor.organisation, pk=place_id).first()
    if place is None:
        raise NotFound(f"No place with id {place_id}.")
    return place


def place_rows(*, actor: Actor, search: str = "") -> QuerySet[Place]:
    """The organisation's places by name then country (for a paginated page)."""
    rows: QuerySet[Place] = Place.objects.filter(organisation=actor.organisation)
    if search:
        rows = rows.filter(name__istartswith=search)
    return rows.order_by("name", "country", "id")


def place_list(
    *, actor: Actor, limit: int = DEFAULT_LIMIT, offset: int = 0, search: str = ""
) -> tuple[list[Place], int]:
    """The organisation's places by name then country; `search` matches the start of a name."""
    rows = place_rows(actor=actor, search=search)
    return list(rows[offset : offset + limit]), rows.count()


def parse_paging(raw: Mapping[str, Any]) -> tuple[int, int]:
    """`limit` (1..500, default 50) and `offset` of a list query; 422 naming each."""
    problems = ProblemList()
    values = {"limit": DEFAULT_LIMIT, "offset": 0}
    for name, low, high in (("limit", 1, MAX_LIMIT), ("offset", 0, 10**9)):
        value = raw.get(name)
        if value in (None, ""):
            continue
        try:
            number = int(value)
            if not low <= number <= high:
                raise ValueError
            values[name] = number
        except (TypeError, ValueError):
            problems.add(("query", name), f"'{name}' must be a whole number from {low} to {high}.")
    problems.raise_if_any()
    return values["limit"], values["offset"]


# -- CSV upload ------------------------------------------------------------------------------


@dataclass
class RowProblem:
    line: int
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def places_import_csv(*, actor: Actor, text: str) -> ImportResult:
    """Loads places from CSV text with the header `name,country,latitude,longitude` (country
    may be blank). A row naming a place already in the table updates its coordinates; a bad
    row is reported by its line number and skipped, never stopping the good ones."""
    require_edit(actor)
    result = ImportResult()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        result.problems.append(RowProblem(1, "The file is empty: the first line is the header."))
        return result
    except csv.Error as error:
        result.problems.append(RowProblem(1, f"The header cannot be read: {error}."))
        return result
    columns = [h.strip().lower() for h in header]
    missing = [c for c in ("name", "latitude", "longitude") if c not in columns]
    unknown = [c for c in columns if c not in FIELDS]
    if missing or unknown:
        words = []
        if missing:
            words.append(f"missing {', '.join(missing)}")
        if unknown:
            words.append(f"unknown {', '.join(unknown)}")
        result.problems.append(
            RowProblem(
                1,
                f"The header must be {','.join(CSV_HEADER)} ({'; '.join(words)}).",
            )
        )
        return result
    seen: dict[tuple[str, str], int] = {}
    rows = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            result.problems.append(RowProblem(reader.line_num, f"Cannot be read: {error}."))
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        rows += 1
        if rows > MAX_CSV_ROWS:
            result.problems.append(
                RowProblem(line, f"At most {MAX_CSV_ROWS:,} places per file: the rest skipped.")
            )
            break
        if len(row) != len(columns):
            result.problems.append(
                RowProblem(line, f"Has {len(row)} values; the header has {len(columns)}.")
            )
            continue
        data = dict(zip(columns, row, strict=True))
        problems = ProblemList()
        fields = _clean(data, problems, creating=True)
        if problems:
            result.problems.append(RowProblem(line, " ".join(p.msg for p in problems.problems)))
            continue
        key = (fields["name"].casefold(), fields["country"])
        if key in seen:
            result.problems.append(
                RowProblem(line, f"The same place as line {seen[key]}: skipped.")
            )
            continue
        seen[key] = line
        try:
            _load_row(actor, fields, result)
        except IntegrityError:  # the same place added meanwhile by someone else
            result.problems.append(
                RowProblem(line, _duplicate_message(fields["name"], fields["country"]))
            )
    return result


def _load_row(actor: Actor, fields: dict, result: ImportResult) -> None:
    """One good CSV row: a new place, or new coordinates for the one already there."""
    with transaction.atomic():
        place = (
            Place.objects.select_for_update()
            .filter(
                organisation=actor.organisation,
                name__iexact=fields["name"],
                country=fields["country"],
            )
            .first()
        )
        if place is None:
            place = Place.objects.create(organisation=actor.organisation, **fields)
            audit.record(actor=actor, action="place.create", obj=place, changes=place_out(place))
            result.created += 1
            return
        before = place_out(place)
        place.latitude, place.longitude = fields["latitude"], fields["longitude"]
        place.save(update_fields=["latitude", "longitude"])
        after = place_out(place)
        changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
        if changes:
            audit.record(actor=actor, action="place.update", obj=place, changes=changes)
            result.updated += 1
        else:
            result.unchanged += 1
