"""The parsed process definition: what every part of Salesline reads. Pure: no Django."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CUSTOM_FIELD_TYPES = ("text", "number", "date", "choice", "boolean")


@dataclass(frozen=True)
class FieldInfo:
    label: str
    type: str
    #: A built-in field's fixed values (the opportunity's sector), which a choice list may only
    #: relabel or narrow.
    choices: tuple[str, ...] = ()
    max_length: int | None = None


@dataclass(frozen=True)
class Choice:
    """One allowed value of a field: `value` is what is stored and sent, `label` what is shown."""

    value: str
    label: str


def match_choice(choices: tuple[Choice, ...], text: str) -> str | None:
    """The stored value `text` names, by value or label, ignoring case ("customer" is
    "Customer"; "Public sector" is "public"); None when it names none."""
    folded = text.strip().casefold()
    for choice in choices:
        if folded in (choice.value.casefold(), choice.label.casefold()):
            return choice.value
    return None


def choice_label(choices: tuple[Choice, ...], value: str) -> str:
    """How a stored value is shown: its choice's label, else the value itself (a value stored
    before the list was declared)."""
    for choice in choices:
        if choice.value == value:
            return choice.label
    return value


def allowed_values(choices: tuple[Choice, ...]) -> str:
    """The allowed values for a message: "Customer, Partner" or "public (Public sector), …"."""
    return ", ".join(c.value if c.label == c.value else f"{c.value} ({c.label})" for c in choices)


@dataclass(frozen=True)
class CustomFieldSpec:
    record: str
    key: str
    label: str
    type: str
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class ProcessDefinitionSpec:
    """The core sections (name, minimum and custom fields) plus each app's own section by key
    (``sections["pipelines"]`` is the pipeline app's); see `sections.Section`."""

    name: str
    description: str
    minimum_fields: Mapping[str, tuple[str, ...]]
    custom_fields: tuple[CustomFieldSpec, ...]
    sections: Mapping[str, Any] = field(default_factory=dict)
    #: record kind -> built-in field -> its allowed values, in the order forms offer them.
    choices: Mapping[str, Mapping[str, tuple[Choice, ...]]] = field(default_factory=dict)

    def field_choices(self, record: str, name: str) -> tuple[Choice, ...]:
        """The choice list declared for a built-in field (empty: the field is free text)."""
        return self.choices.get(record, {}).get(name, ())

    def section(self, key: str, default: Any = None) -> Any:
        return self.sections.get(key, default)

    def labels(self, record: str, builtin: Mapping[str, Mapping[str, FieldInfo]]) -> dict[str, str]:
        """Labels of a record kind's fields: the built-in ones plus this file's custom ones."""
        labels = {name: info.label for name, info in builtin.get(record, {}).items()}
        labels.update({cf.key: cf.label for cf in self.custom_fields if cf.record == record})
        return labels
