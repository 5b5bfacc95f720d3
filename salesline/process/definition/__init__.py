"""Process definitions: the YAML a sales manager writes to configure minimum fields, custom
fields and — through the sections other apps register — pipelines, stages and their gates.

Pure package: no Django. The caller passes the built-in fields of each record kind, so it knows
no model. Validation reports every problem at once, each with its YAML line and a path such as
``pipelines[0].stages[2].gate.require[1]``; see docs/process-definitions.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from .checker import Checker, structure_problems
from .loader import (
    MAX_DEFINITION_CHARS,
    DefinitionError,
    DefinitionProblem,
    line_for,
    line_index,
    load_yaml,
)
from .schema import CoreDocument, document_model
from .sections import Section, register_section, sections
from .serialise import Flow, FlowMap, dump_definition, plain_value, spec_from_dict, spec_to_dict
from .spec import (
    CUSTOM_FIELD_TYPES,
    Choice,
    CustomFieldSpec,
    FieldInfo,
    ProcessDefinitionSpec,
    allowed_values,
    choice_label,
    match_choice,
)
from .templates import template_names, template_text

__all__ = [
    "CUSTOM_FIELD_TYPES",
    "MAX_DEFINITION_CHARS",
    "Checker",
    "Choice",
    "CustomFieldSpec",
    "DefinitionError",
    "DefinitionProblem",
    "FieldInfo",
    "Flow",
    "FlowMap",
    "ProcessDefinitionSpec",
    "Section",
    "allowed_values",
    "choice_label",
    "dump_definition",
    "line_index",
    "match_choice",
    "parse_definition",
    "plain_value",
    "register_section",
    "sections",
    "spec_from_dict",
    "spec_to_dict",
    "template_names",
    "template_text",
]


def parse_definition(
    text: str, *, builtin_fields: Mapping[str, Mapping[str, FieldInfo]]
) -> ProcessDefinitionSpec:
    """Parse and validate a YAML process definition; raise DefinitionError listing every problem."""
    data, lines, problems = load(text)
    registered = sections()
    document: CoreDocument | None = None
    try:
        document = document_model(registered).model_validate(data)
    except ValidationError as exc:
        problems.extend(structure_problems(exc, lines))
    checker = Checker(builtin_fields, lines)
    checker.check_core(data)
    for section in registered:
        if section.key in data:
            section.check(checker, data[section.key])
    problems.extend(checker.problems)
    if problems or document is None:
        raise DefinitionError(sorted(problems, key=lambda p: (p.line is not None, p.line or 0)))
    return _build_spec(document, tuple(builtin_fields))


def load(text: str) -> tuple[dict, dict, list[DefinitionProblem]]:
    """The document as a mapping, its line index and duplicate-key problems, or DefinitionError
    when it is empty, not YAML or not a mapping."""
    data, lines, problems = load_yaml(text)
    if data is None:
        raise DefinitionError([DefinitionProblem(None, "", "the definition is empty")])
    if not isinstance(data, dict):
        raise DefinitionError(
            [
                DefinitionProblem(
                    line_for((), lines),
                    "",
                    "the definition must be a mapping with keys such as name and pipelines",
                )
            ]
        )
    return data, lines, problems


def _build_spec(document: CoreDocument, record_kinds: tuple[str, ...]) -> ProcessDefinitionSpec:
    built = {}
    for section in sections():
        value = getattr(document, section.key, None)
        built[section.key] = section.default() if value is None else section.build(value)
    return ProcessDefinitionSpec(
        name=document.name,
        description=document.description,
        minimum_fields={
            kind: tuple(document.minimum_fields.get(kind, ())) for kind in record_kinds
        },
        custom_fields=tuple(
            CustomFieldSpec(cf.record, cf.key, cf.label, cf.type, tuple(cf.choices), cf.help)
            for cf in document.custom_fields
        ),
        sections=built,
        choices={
            kind: {name: _choices(items) for name, items in by_field.items()}
            for kind, by_field in document.choices.items()
        },
    )


def _choices(items: list) -> tuple[Choice, ...]:
    # Checked already: each item is text or {value, label?}.
    return tuple(
        Choice(item["value"].strip(), str(item.get("label", item["value"])).strip())
        if isinstance(item, dict)
        else Choice(item.strip(), item.strip())
        for item in items
    )
