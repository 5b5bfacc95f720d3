"""A definition as JSON (kept with each version) and as YAML (downloaded, edited, loaded again).

Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import yaml

from .sections import sections
from .spec import Choice, CustomFieldSpec, ProcessDefinitionSpec


class Flow(list[Any]):
    """A list written inline: [a, b, c]."""


class FlowMap(dict[str, Any]):
    """A mapping written inline: {field: value, op: '>', value: 0}."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as the templates and the docs do.
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(
    Flow, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, True)
)
_Dumper.add_representer(
    FlowMap, lambda dumper, value: dumper.represent_mapping("tag:yaml.org,2002:map", value, True)
)


def plain_value(value: object) -> object:
    # Dates become ISO text so the spec stays JSON-able; gates compare ISO text with dates.
    if isinstance(value, list | tuple):
        return tuple(plain_value(item) for item in value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def spec_to_dict(spec: ProcessDefinitionSpec) -> dict[str, Any]:
    """A JSON-able dict with every key spelled out (defaults included)."""
    document: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "minimum_fields": {kind: list(names) for kind, names in spec.minimum_fields.items()},
        "custom_fields": [
            {
                "record": cf.record,
                "key": cf.key,
                "label": cf.label,
                "type": cf.type,
                "choices": list(cf.choices),
                "help": cf.help,
            }
            for cf in spec.custom_fields
        ],
        "choices": {
            kind: {
                name: [{"value": c.value, "label": c.label} for c in items]
                for name, items in by_field.items()
            }
            for kind, by_field in spec.choices.items()
        },
    }
    for section in sections():
        if section.key in spec.sections:
            document[section.key] = section.to_dict(spec.sections[section.key])
    return document


def spec_from_dict(data: Mapping[str, Any]) -> ProcessDefinitionSpec:
    """Rebuild a spec from spec_to_dict's output (trusted: it was validated when parsed)."""
    return ProcessDefinitionSpec(
        name=data["name"],
        description=data.get("description", ""),
        minimum_fields={
            kind: tuple(names) for kind, names in data.get("minimum_fields", {}).items()
        },
        custom_fields=tuple(
            CustomFieldSpec(
                record=cf["record"],
                key=cf["key"],
                label=cf["label"],
                type=cf["type"],
                choices=tuple(cf.get("choices", ())),
                help=cf.get("help", ""),
            )
            for cf in data.get("custom_fields", ())
        ),
        sections={
            section.key: (
                section.from_dict(data[section.key]) if section.key in data else section.default()
            )
            for section in sections()
        },
        choices={
            kind: {
                name: tuple(Choice(c["value"], c["label"]) for c in items)
                for name, items in by_field.items()
            }
            for kind, by_field in data.get("choices", {}).items()
        },
    )


def dump_definition(spec: ProcessDefinitionSpec) -> str:
    """YAML for a spec, leaving out defaults; parse_definition reads it back to an equal spec."""
    full = spec_to_dict(spec)
    document: dict[str, Any] = {"name": full["name"]}
    if full["description"]:
        document["description"] = full["description"]
    minimum = {kind: Flow(names) for kind, names in full["minimum_fields"].items() if names}
    if minimum:
        document["minimum_fields"] = minimum
    if full["custom_fields"]:
        document["custom_fields"] = [
            {key: Flow(value) if key == "choices" else value for key, value in cf.items() if value}
            for cf in full["custom_fields"]
        ]
    if full["choices"]:
        # A choice shown as it is stored is written as plain text.
        document["choices"] = {
            kind: {
                name: Flow(c["value"] if c["label"] == c["value"] else FlowMap(c) for c in items)
                for name, items in by_field.items()
            }
            for kind, by_field in full["choices"].items()
        }
    for section in sections():
        if section.key in full:
            compact = section.dump(full[section.key])
            if compact is not None:
                document[section.key] = compact
    return yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096, indent=2
    )
