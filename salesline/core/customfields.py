"""Validation of custom-field values against their definitions; values are stored as JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import Problem
from .text import CUSTOM_TEXT_MAX, scrub, text_problem


@dataclass(frozen=True)
class CustomFieldDef:
    key: str
    label: str
    type: str
    choices: tuple[str, ...] = ()


def coerce_custom_value(definition: CustomFieldDef, value: Any) -> Any:
    """The JSON value to store, or ValueError with a message naming what was expected."""
    kind = definition.type
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError("must be text")
        value = value.strip()
        reason = text_problem(value, max_length=CUSTOM_TEXT_MAX)
        if reason:
            raise ValueError(reason)
        return value
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("must be a number")
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            # JSON allows NaN and Infinity through Python's parser; no database stores them.
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError("must be a finite number")
            return value
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite():
            raise ValueError("must be a finite number")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "date":
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().casefold()
        if text in {"true", "yes", "1"}:
            return True
        if text in {"false", "no", "0"}:
            return False
        raise ValueError("must be true or false")
    if kind == "choice":
        if value not in definition.choices:
            raise ValueError(f"must be one of: {', '.join(definition.choices)}")
        return value
    raise ValueError(f"has an unknown type '{kind}'")


def clean_custom_values(
    definitions: Iterable[CustomFieldDef],
    values: Mapping[str, Any],
    *,
    loc: tuple[str | int, ...] = ("custom_fields",),
) -> tuple[dict[str, Any], list[Problem]]:
    """Coerce each value; `None` or "" removes it. Returns (cleaned, problems)."""
    by_key = {d.key: d for d in definitions}
    cleaned: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in values.items():
        definition = by_key.get(key)
        if definition is None:
            # The key is echoed back: only as much of it as is worth reading, and encodable.
            shown = scrub(key[:60])
            problems.append(Problem(loc=(*loc, shown), msg=f"Unknown custom field '{shown}'."))
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            cleaned[key] = None
            continue
        try:
            cleaned[key] = coerce_custom_value(definition, value)
        except ValueError as exc:
            problems.append(Problem(loc=(*loc, key), msg=f"{definition.label} {exc}."))
    return cleaned, problems
