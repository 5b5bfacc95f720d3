"""List queries — filters, search, ordering, pagination — parsed once for the API and the web."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from salesline.core import cursors
from salesline.core.customfields import CustomFieldDef, clean_custom_values
from salesline.core.errors import ProblemList
from salesline.core.ids import fits_in_64_bits
from salesline.process.kinds import list_columns

from .fields import KindDef

RESERVED = frozenset({"q", "ordering", "limit", "offset", "cursor", "deleted"})
DEFAULT_LIMIT, MAX_LIMIT = 50, 500
# Deeper than this, use the cursor; past 64 bits SQLite cannot even take the OFFSET.
MAX_OFFSET = 10**9
RANGE_TYPES = frozenset({"decimal", "number", "date", "coordinate"})
# A bound that keeps a filter value inside what both databases can compare without an error.
MAX_DECIMAL = Decimal(10) ** 14


@dataclass
class ListQuery:
    lookups: dict[str, Any] = field(default_factory=dict)  # ORM lookups, already typed
    q: str = ""
    ordering: str = "-created_at"
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    # (value of the ordering field, id) to continue after; in a ranked search the value is
    # (rank, name).
    cursor: tuple[Any, int] | None = None
    deleted: bool = False


# Orderings by a timestamp: their cursor values are datetimes.
DATETIME_ORDERINGS = frozenset({"created_at", "updated_at", "stage_entered_at"})


# The cursor key of a ranked search: its positions are (rank, name, id), not (name, id) (see
# records.selectors._ranked_cursor).
RANKED_KEY = "rank,last-word,name"


def ranked(kind: KindDef, query: ListQuery) -> bool:
    """A search in name order lists whole-name matches first, then word matches (see
    records.selectors.record_list); an e-mail search ('@' in q) is one prefix, unranked."""
    return (
        bool(query.q)
        and query.ordering == "name"
        and not ("@" in query.q and "email" in kind.fields)
    )


def encode_cursor(ordering: str, value: Any, pk: int) -> str:
    """A list's cursor: the position after a row, bound to the list's ordering."""
    return cursors.encode_cursor(value, pk, key=ordering)


def encode_ranked_cursor(rank: int, name: str, pk: int) -> str:
    return cursors.encode_cursor(f"{rank}{name}", pk, key=RANKED_KEY)


def _decode_cursor(text: str, ordering: str) -> tuple[Any, int]:
    raw, pk = cursors.decode_cursor(text, key=ordering)
    column = ordering.lstrip("-")
    try:
        if ordering == RANKED_KEY:
            if raw[:1] not in ("0", "1", "2") or "\x00" in raw:
                raise ValueError
            return (int(raw[0]), raw[1:]), pk
        if column == "id":
            return _whole(raw), pk
        if "\x00" in raw:
            raise ValueError
        if column in DATETIME_ORDERINGS:
            return dt.datetime.fromisoformat(raw), pk
        return raw, pk
    except ValueError:
        raise ValueError("is not a cursor of this list and ordering") from None


def _whole(raw: str) -> int:
    number = int(raw)
    if not fits_in_64_bits(number):
        raise ValueError("is out of range")
    return number


def _typed(field_type: str, raw: str) -> Any:
    if field_type == "reference":
        return None if raw in ("", "null") else _whole(raw)
    if field_type == "decimal":
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite() or abs(number) >= MAX_DECIMAL:
            raise ValueError("must be a finite number below 10^14")
        return number
    if field_type == "number":
        return _whole(raw)
    if field_type == "date":
        return dt.date.fromisoformat(raw)
    if field_type == "coordinate":
        try:
            degrees = float(raw)
        except ValueError:
            raise ValueError("must be a number") from None
        if not math.isfinite(degrees):
            raise ValueError("must be a finite number")
        return degrees
    return raw


def _first(value: Any) -> str:
    if isinstance(value, list | tuple):
        return str(value[-1]) if value else ""
    return str(value)


def parse_list_query(
    kind: KindDef, params: Mapping[str, Any], custom_defs: Callable[[], list[CustomFieldDef]]
) -> ListQuery:
    """Every unknown parameter or bad value is reported (422), naming the parameter.

    `custom_defs` is called only when a `cf_<key>` filter is present.
    """
    problems = ProblemList()
    query = ListQuery()
    fields = kind.fields
    extra = kind.extra_filters
    # Only a custom-field filter needs the definitions: plain lists skip that query.
    has_custom = any(name.startswith("cf_") for name in params)
    custom_by_key = {d.key: d for d in custom_defs()} if has_custom else {}
    columns = list_columns(kind.key)
    choice_filters = {
        c.choice_filter[0]: c.choice_filter for c in columns.values() if c.choice_filter
    }
    for name, value in params.items():
        raw = _first(value).strip()
        if name in RESERVED:
            continue
        if "\x00" in raw:
            problems.add(("query", name), f"Filter '{name}' must not contain NUL (U+0000).")
            continue
        base, _, op = name.partition("__")
        try:
            if base.startswith("cf_") and not op:
                key = base[3:]
                if key not in custom_by_key:
                    raise KeyError
                cleaned, custom_problems = clean_custom_values([custom_by_key[key]], {key: raw})
                if custom_problems:
                    raise ValueError(custom_problems[0].msg.rstrip("."))
                query.lookups[f"custom_fields__{key}"] = cleaned[key]
            elif base in extra and not op:
                lookup = extra[base]
                if lookup.endswith("__isnull"):
                    if raw not in {"true", "false"}:
                        raise ValueError("must be true or false")
                    query.lookups[lookup] = raw == "false"
                else:
                    query.lookups[lookup] = raw
            elif base in fields and op in ("", "gte", "lte"):
                field_def = fields[base]
                if op and field_def.type not in RANGE_TYPES:
                    raise KeyError
                typed = _typed(field_def.type, raw)
                lookup = field_def.attr + (f"__{op}" if op else "")
                if typed is None:
                    lookup = f"{field_def.attr}__isnull"
                    typed = True
                query.lookups[lookup] = typed
            elif base in columns and op in ("", "gte", "lte"):
                query.lookups[columns[base].path + (f"__{op}" if op else "")] = _whole(raw)
            elif base in choice_filters and not op:
                _, path, allowed = choice_filters[base]
                if raw not in allowed:
                    raise ValueError(f"must be one of {', '.join(allowed)}")
                query.lookups[path] = raw
            else:
                raise KeyError
        except KeyError:
            problems.add(("query", name), f"Unknown filter '{name}'.", type="unknown_filter")
        except ValueError as exc:
            reason = str(exc) if "must" in str(exc) or "is " in str(exc) else "has the wrong type"
            problems.add(("query", name), f"Filter '{name}' {reason}.")

    query.q = _first(params.get("q", "")).strip()
    if "\x00" in query.q:
        problems.add(("query", "q"), "'q' must not contain NUL (U+0000).")
    # A search lists matches alphabetically unless told otherwise: the index that finds a
    # prefix also yields them in name order, so the first page costs the same at any size.
    default_ordering = "name" if query.q else "-created_at"
    ordering = _first(params.get("ordering", "")).strip() or default_ordering
    if ordering.lstrip("-") in columns:
        # Only the records that have the column: an inner join the other app's index serves.
        query.lookups.setdefault(f"{columns[ordering.lstrip('-')].path}__isnull", False)
    elif ordering.lstrip("-") not in kind.orderings:
        problems.add(
            ("query", "ordering"),
            f"Cannot order by '{ordering}'. Choose one of: "
            f"{', '.join((*kind.orderings, *columns))} (prefix '-' for descending).",
        )
    query.ordering = ordering
    for name, lower, upper in (("limit", 1, MAX_LIMIT), ("offset", 0, MAX_OFFSET)):
        if name in params:
            try:
                number = int(_first(params[name]))
                if number < lower or (upper is not None and number > upper):
                    raise ValueError
                setattr(query, name, number)
            except ValueError:
                bound = f"between {lower} and {upper}" if upper else f"{lower} or more"
                problems.add(("query", name), f"'{name}' must be a whole number {bound}.")
    if params.get("cursor"):
        if ordering.lstrip("-") not in kind.cursor_orderings:
            problems.add(
                ("query", "cursor"), f"A cursor cannot be used with ordering '{ordering}'."
            )
        else:
            try:
                key = RANKED_KEY if ranked(kind, query) else ordering
                query.cursor = _decode_cursor(_first(params["cursor"]), key)
            except ValueError as exc:
                problems.add(("query", "cursor"), f"Cursor {exc}.")
    deleted = _first(params.get("deleted", "false")).lower()
    if deleted not in {"true", "false"}:
        problems.add(("query", "deleted"), "'deleted' must be true or false.")
    query.deleted = deleted == "true"
    problems.raise_if_any("The list query is not valid.")
    return query
