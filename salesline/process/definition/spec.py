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

    def section(self, key: str, default: Any = None) -> Any:
        return self.sections.get(key, default)

    def labels(self, record: str, builtin: Mapping[str, Mapping[str, FieldInfo]]) -> dict[str, str]:
        """Labels of a record kind's fields: the built-in ones plus this file's custom ones."""
        labels = {name: info.label for name, info in builtin.get(record, {}).items()}
        labels.update({cf.key: cf.label for cf in self.custom_fields if cf.record == record})
        return labels
