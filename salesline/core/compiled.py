"""`.values()` querysets compiled once per shape, run again with other parameters.

A list page's hot reads differ from one request to the next only in their parameters (the
organisation, a prefix, a cursor). Building and compiling the queryset every time cost more
than running it: about 0.5 ms of Python a queryset against 0.1 ms of SQLite for a page of 50
(docs/benchmarks.md). A `ValuesTemplate` builds the queryset once with stand-in values, keeps
the SQL the ORM compiled and where each stand-in landed among its parameters, and afterwards
only substitutes the values and applies the ORM's own converters to the rows — the rows are
exactly what `.values()` would have returned.

Compiled SQL is kept per database connection object (one per thread), a few hundred shapes at
most: the shape key must name everything the SQL depends on besides the values.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import QuerySet

_MAX_SHAPES = 256


class NotTemplatable(Exception):
    """A stand-in value did not reach the SQL as a parameter of its own."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    slots: tuple[int | None, ...]  # for each SQL parameter: the value's index, or None
    constants: tuple[Any, ...]  # the parameter itself where the slot is None
    names: tuple[str, ...]
    compiler: Any
    converters: dict


def _stand_ins(values: Sequence[Any]) -> list[Any]:
    stand_ins = []
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise NotTemplatable(f"value {index} is a {type(value).__name__}")
        # Values no real parameter takes: a negative id, a string of control characters.
        stand_ins.append(-(7_000_000_000 + index) if isinstance(value, int) else f"\x01{index}\x02")
    return stand_ins


def _compile(build: Callable[..., QuerySet], values: Sequence[Any], using: str) -> _Compiled:
    stand_ins = _stand_ins(values)
    queryset = build(*stand_ins)
    compiler = queryset.query.get_compiler(using)
    sql, params = compiler.as_sql()
    position = {(type(s), s): index for index, s in enumerate(stand_ins)}
    slots, constants = [], []
    for param in params:
        slot = position.get((type(param), param))
        if (
            slot is None
            and isinstance(param, str)
            and any(isinstance(s, str) and s in param for s in stand_ins)
        ):
            raise NotTemplatable("a value reached the SQL changed (pass it ready-made)")
        slots.append(slot)
        constants.append(None if slot is not None else param)
    query = queryset.query
    names = (*query.extra_select, *query.values_select, *query.annotation_select)
    fields = [select[0] for select in compiler.select[: compiler.col_count]]
    return _Compiled(
        sql, tuple(slots), tuple(constants), names, compiler, compiler.get_converters(fields)
    )


def values_rows(
    shape: Hashable,
    build: Callable[..., QuerySet],
    values: Sequence[Any],
    *,
    using: str = "default",
) -> list[dict[str, Any]]:
    """The rows of `build(*values)` (a `.values()` queryset) as dicts, compiled once per
    `shape` on this connection. `values` are ints or strings, each passed to the SQL
    unchanged (a derived value such as `prefix + "\\uffff"` must be a value of its own)."""
    connection = connections[using]
    cache: OrderedDict = connection.__dict__.setdefault("_salesline_compiled", OrderedDict())
    key = (shape, connection.vendor)
    compiled = cache.get(key)
    if compiled is None:
        compiled = _compile(build, values, using)
        cache[key] = compiled
        if len(cache) > _MAX_SHAPES:
            cache.popitem(last=False)
    params = [
        values[slot] if slot is not None else constant
        for slot, constant in zip(compiled.slots, compiled.constants, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        rows = cursor.fetchall()
    if compiled.converters:
        rows = compiled.compiler.apply_converters(rows, compiled.converters)
    names = compiled.names
    return [dict(zip(names, row, strict=True)) for row in rows]
