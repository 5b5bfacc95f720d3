"""Checks of a process definition that pydantic cannot express, with line-numbered problems.

The core checks cover the name, custom fields and minimum fields; each registered section runs
its own with the same `Checker` (its helpers and the fields it collected). Pure: no Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from pydantic import ValidationError

from salesline.core.text import text_problem

from .loader import DefinitionProblem, Lines, Path, format_path, line_for
from .spec import CUSTOM_FIELD_TYPES, FieldInfo

# Lengths of the columns the definition is materialised into (process.CustomField,
# pipeline.Pipeline and Stage); a choice is a custom-field value.
KEY_MAX = 60
NAME_MAX = 200
LABEL_MAX = 120
HELP_MAX = 255
CHOICE_MAX = 120
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
_SNAKE_CASE = re.compile(r"[a-z][a-z0-9_]*")

type Raw = dict[str, Any]  # a mapping as YAML gave it, before validation

_TYPE_MESSAGES = {
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
}


def or_list(items: tuple[str, ...] | list[str]) -> str:
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else "".join(items)


def structure_problems(exc: ValidationError, lines: Lines) -> list[DefinitionProblem]:
    problems = []
    for error in exc.errors():
        path: Path = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            message = f"unknown key '{path[-1]}'"
        elif kind == "missing":
            path, message = path[:-1], f"missing required key '{path[-1]}'"
        else:
            message = _TYPE_MESSAGES.get(kind, error["msg"])
            # Unquoted yes/no/on/off are booleans in YAML, and 2025-01-31 is a date.
            if kind == "string_type" and isinstance(error["input"], bool):
                message += " (put it in quotes: unquoted yes, no, on and off mean true or false)"
            elif kind == "string_type" and isinstance(error["input"], date):
                message += " (put it in quotes: an unquoted date is read as a date)"
        problems.append(DefinitionProblem(line_for(path, lines), format_path(path), message))
    return problems


def entries(container: object, key: str) -> Iterator[tuple[int, Raw]]:
    """(index, mapping) for each well-formed mapping in container[key]; the rest was reported."""
    items = container.get(key) if isinstance(container, dict) else None
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield index, item


def strings(container: object, key: str) -> Iterator[tuple[int, str]]:
    items = container.get(key) if isinstance(container, dict) else None
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, str):
                yield index, item


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_date(value: object) -> bool:
    if isinstance(value, date):
        return True
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


class Checker:
    """Walks the raw data defensively so that every problem is found even when parts of the
    document are malformed (those parts pydantic reports)."""

    def __init__(self, builtin: Mapping[str, Mapping[str, FieldInfo]], lines: Lines) -> None:
        self.builtin = builtin
        self.lines = lines
        self.record_kinds: tuple[str, ...] = tuple(builtin)
        self.problems: list[DefinitionProblem] = []
        # record kind -> field name -> field type, built-in and custom alike
        self.fields: dict[str, dict[str, str]] = {
            kind: {name: info.type for name, info in builtin.get(kind, {}).items()}
            for kind in self.record_kinds
        }
        self.choices: dict[tuple[str, str], list[str]] = {}
        # The whole raw document, for sections that refer to another's keys (a playbook names
        # a pipeline's stage).
        self.document: Raw = {}

    def report(self, path: Path, message: str) -> None:
        problem = DefinitionProblem(line_for(path, self.lines), format_path(path), message)
        if problem not in self.problems:  # the text rule and a field's own check may agree
            self.problems.append(problem)

    def not_blank(self, mapping: Raw, path: Path, key: str, max_length: int = NAME_MAX) -> None:
        value = mapping.get(key)
        if isinstance(value, str) and not value.strip():
            self.report((*path, key), "must not be blank")
        else:
            self.one_line(mapping, path, key, max_length)

    def one_line(self, mapping: Raw, path: Path, key: str, max_length: int) -> None:
        """The one text rule (core.text) for a name, label or message shown on one line."""
        value = mapping.get(key)
        if isinstance(value, str):
            reason = text_problem(value.strip(), max_length=max_length)
            if reason:
                self.report((*path, key), reason)

    def check_text(self, data: object) -> None:
        """Every string anywhere in the document is storable text (multi-line allowed): a
        control character or a lone surrogate in a condition's value is refused like one in a
        name. Iterative, so no nesting depth exhausts the stack."""
        pending: list[tuple[Path, object]] = [((), data)]
        while pending:
            path, item = pending.pop()
            if isinstance(item, str):
                reason = text_problem(item, multiline=True)
                if reason:
                    self.report(path, reason)
            elif isinstance(item, dict):
                for key, value in item.items():
                    if isinstance(key, str) and text_problem(key, multiline=True):
                        self.report(path, f"a key {text_problem(key, multiline=True)}")
                        continue
                    pending.append(((*path, key), value))
            elif isinstance(item, list):
                pending.extend(((*path, index), value) for index, value in enumerate(item))

    def slug(self, mapping: Raw, path: Path, what: str) -> str | None:
        key = mapping.get("key")
        if not isinstance(key, str):
            return None
        if len(key) > KEY_MAX:
            self.report((*path, "key"), f"{what} key must be at most {KEY_MAX} characters")
        elif not _SLUG.fullmatch(key):
            self.report(
                (*path, "key"),
                f"{what} key '{key}' may use only lowercase letters, digits, '-' and '_'",
            )
        return key

    def check_core(self, data: Raw) -> None:
        self.document = data
        self.check_text(data)
        self.not_blank(data, (), "name")
        for index, custom in entries(data, "custom_fields"):
            self.check_custom_field(custom, ("custom_fields", index))
        self.check_choices(data.get("choices"))
        minimum = data.get("minimum_fields")
        if isinstance(minimum, dict):
            for kind in minimum:
                if kind not in self.record_kinds:
                    self.report(
                        ("minimum_fields", kind),
                        f"unknown key '{kind}' (record kinds are {or_list(self.record_kinds)})",
                    )
        for kind in self.record_kinds:
            self.check_field_list(minimum, ("minimum_fields",), kind, kind)

    def check_custom_field(self, custom: Raw, path: Path) -> None:
        record, key, kind = custom.get("record"), custom.get("key"), custom.get("type")
        self.not_blank(custom, path, "label", LABEL_MAX)
        self.one_line(custom, path, "help", HELP_MAX)
        if isinstance(record, str) and record not in self.record_kinds:
            self.report(
                (*path, "record"),
                f"unknown record kind '{record}' (use {or_list(self.record_kinds)})",
            )
        if isinstance(kind, str) and kind not in CUSTOM_FIELD_TYPES:
            self.report(
                (*path, "type"), f"unknown field type '{kind}' (use {or_list(CUSTOM_FIELD_TYPES)})"
            )
        choices = custom.get("choices")
        if kind == "choice" and not choices:
            self.report(path, "a choice field needs a list of choices")
        elif isinstance(kind, str) and kind != "choice" and choices:
            self.report((*path, "choices"), "only choice fields take choices")
        seen_choices: set[str] = set()
        for index, choice in strings(custom, "choices"):
            reason = text_problem(choice, max_length=CHOICE_MAX)
            if reason:
                self.report((*path, "choices", index), reason)
            elif choice in seen_choices:
                self.report((*path, "choices", index), f"choice '{choice}' is listed twice")
            seen_choices.add(choice)
        if not isinstance(key, str):
            return
        if len(key) > KEY_MAX:
            self.report((*path, "key"), f"custom field key must be at most {KEY_MAX} characters")
        elif not _SNAKE_CASE.fullmatch(key):
            self.report(
                (*path, "key"),
                f"custom field key '{key}' must be snake_case: lowercase letters, digits and "
                "underscores, starting with a letter",
            )
        elif record in self.record_kinds:
            if key in self.builtin.get(record, {}):
                self.report(
                    (*path, "key"), f"custom field '{key}' would hide the built-in {record} field"
                )
            elif key in self.fields[record]:
                self.report((*path, "key"), f"duplicate custom field '{key}' for {record}")
            else:
                self.fields[record][key] = kind if isinstance(kind, str) else "text"
                self.choices[(record, key)] = [c for _, c in strings(custom, "choices")]

    def check_choices(self, declared: object) -> None:
        """`choices`: record kind -> built-in one-line text field -> its allowed values, each
        text or {value, label}. Imports match values ignoring case, so two values that differ
        only in case (or a label equal to another value) would be ambiguous."""
        if not isinstance(declared, dict):
            return  # absent, or pydantic reports the wrong type
        for kind, by_field in declared.items():
            if kind not in self.record_kinds:
                self.report(
                    ("choices", kind),
                    f"unknown record kind '{kind}' (use {or_list(self.record_kinds)})",
                )
                continue
            if not isinstance(by_field, dict):
                continue
            for name, items in by_field.items():
                path: Path = ("choices", kind, name)
                info = self._choice_field(path, kind, name)
                if info is None:
                    continue
                if not items:
                    self.report(path, f"'{name}' needs at least one choice")
                    continue
                if isinstance(items, list):
                    values = self._check_choice_items(path, name, items, info)
                    self.choices[(kind, name)] = values

    def _choice_field(self, path: Path, kind: str, name: object) -> FieldInfo | None:
        """The built-in field a choice list is declared for, or None (reported) when it cannot
        take one."""
        info = self.builtin.get(kind, {}).get(name) if isinstance(name, str) else None
        if info is None:
            if name in self.fields.get(kind, {}):
                self.report(
                    path,
                    f"'{name}' is a custom field: list its choices under custom_fields",
                )
            else:
                self.report(path, f"unknown {kind} field '{name}'")
            return None
        if info.type == "text" or (info.type == "choice" and info.choices):
            return info
        self.report(path, f"'{name}' is not a one-line text field, so it cannot take choices")
        return None

    def _check_choice_items(self, path: Path, name: str, items: list, info: FieldInfo) -> list[str]:
        values: list[str] = []
        seen: dict[str, str] = {}  # folded value or label -> the value it belongs to
        for index, item in enumerate(items):
            item_path: Path = (*path, index)
            if isinstance(item, dict):
                for key in item:
                    if key not in ("value", "label"):
                        self.report((*item_path, key), f"unknown key '{key}' (use value and label)")
                value, label = item.get("value"), item.get("label", item.get("value"))
                if "value" not in item:
                    self.report(item_path, "missing required key 'value'")
                    continue
                text_path: Path = (*item_path, "value")
            else:
                value, label, text_path = item, item, item_path
            if not isinstance(value, str) or not isinstance(label, str):
                bad_path = text_path if not isinstance(value, str) else (*item_path, "label")
                hint = " (put it in quotes)" if isinstance(value, bool | int | float | date) else ""
                self.report(bad_path, f"must be text{hint}")
                continue
            value, label = value.strip(), label.strip()
            reason = text_problem(value, max_length=info.max_length or CHOICE_MAX)
            if not value or not label:
                self.report(item_path, "must not be blank")
                continue
            if reason:
                self.report(text_path, reason)
                continue
            if info.choices and value not in info.choices:
                self.report(
                    text_path,
                    f"'{name}' only takes {or_list(info.choices)}: a choice list may relabel "
                    "or narrow them",
                )
                continue
            keys = {value.casefold(), label.casefold()}
            clash = next((seen[key] for key in keys if key in seen), None)
            if clash == value:
                self.report(item_path, f"choice '{value}' is listed twice")
            elif clash is not None:
                self.report(
                    item_path, f"choice '{value}' could be read as '{clash}' (case is ignored)"
                )
            else:
                seen.update(dict.fromkeys(keys, value))
                values.append(value)
                if isinstance(item, dict):
                    self.one_line(item, item_path, "label", LABEL_MAX)
        return values

    def check_field_list(self, container: object, path: Path, key: str, record: str) -> None:
        seen: set[str] = set()
        for index, name in strings(container, key):
            if name not in self.fields.get(record, {}):
                self.report((*path, key, index), f"unknown field '{name}'")
            elif name in seen:
                self.report((*path, key, index), f"field '{name}' is listed twice")
            seen.add(name)
