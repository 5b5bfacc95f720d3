"""Process definitions: the YAML a sales manager writes to configure minimum fields, custom
fields, pipelines, stages and their gates.

Pure module: no Django. The caller passes the built-in fields of each record kind, so this module
knows no model. Validation reports every problem at once, each with its YAML line and a path such
as ``pipelines[0].stages[2].gate.require[1]``; see docs/process-definitions.md.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from salesline.pipeline.gates import (
    CLOSED_KINDS,
    LIST_OPERATORS,
    OPERATORS,
    STAGE_KINDS,
    ChecklistItem,
    Condition,
    Gate,
    NamePattern,
    StageSpec,
)

RECORD_KINDS = ("company", "person", "lead", "opportunity")
FIELD_TYPES = ("text", "number", "decimal", "date", "choice", "boolean", "reference")
CUSTOM_FIELD_TYPES = ("text", "number", "date", "choice", "boolean")
ORDERING_OPERATORS = frozenset({">", ">=", "<", "<="})

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
_SNAKE_CASE = re.compile(r"[a-z][a-z0-9_]*")
_TEMPLATES_PACKAGE = "salesline.pipeline"


# --- public data types -------------------------------------------------------------------------


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
class PipelineSpec:
    key: str
    name: str
    stages: tuple[StageSpec, ...]


@dataclass(frozen=True)
class ProcessDefinitionSpec:
    name: str
    description: str
    minimum_fields: Mapping[str, tuple[str, ...]]
    custom_fields: tuple[CustomFieldSpec, ...]
    pipelines: tuple[PipelineSpec, ...]

    def pipeline(self, key: str) -> PipelineSpec:
        for pipeline in self.pipelines:
            if pipeline.key == key:
                return pipeline
        raise KeyError(key)

    def labels(self, record: str, builtin: Mapping[str, Mapping[str, FieldInfo]]) -> dict[str, str]:
        """Labels of a record kind's fields: the built-in ones plus this file's custom ones."""
        labels = {name: info.label for name, info in builtin.get(record, {}).items()}
        labels.update({cf.key: cf.label for cf in self.custom_fields if cf.record == record})
        return labels


@dataclass(frozen=True)
class DefinitionProblem:
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        if self.line is None:
            return f"{where}{self.message}"
        return f"line {self.line}: {where}{self.message}"


class DefinitionError(Exception):
    def __init__(self, problems: list[DefinitionProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


# --- document structure (pydantic) -------------------------------------------------------------


class _Document(BaseModel):
    # strict: YAML already gives typed scalars; "10" for a probability is a mistake to report.
    model_config = ConfigDict(extra="forbid", strict=True)


# "require:" with nothing after it (or every entry commented out) means an empty list.
_NoneIsEmpty = BeforeValidator(lambda value: [] if value is None else value)
_NoneIsEmptyMap = BeforeValidator(lambda value: {} if value is None else value)
type _Names = Annotated[list[str], _NoneIsEmpty]


class _ConditionDoc(_Document):
    field: str
    op: str
    value: Any
    message: str | None = None


class _NamePatternDoc(_Document):
    regex: str
    message: str


class _ChecklistItemDoc(_Document):
    key: str
    label: str


class _GateDoc(_Document):
    require: _Names = []
    conditions: Annotated[list[_ConditionDoc], _NoneIsEmpty] = []
    name_pattern: _NamePatternDoc | None = None
    checklist: Annotated[list[_ChecklistItemDoc], _NoneIsEmpty] = []
    reason_required: bool = False


class _StageDoc(_Document):
    key: str
    name: str
    kind: str = "open"
    probability: int
    gate: _GateDoc | None = None


class _PipelineDoc(_Document):
    key: str
    name: str
    stages: list[_StageDoc]


class _MinimumFieldsDoc(_Document):
    company: _Names = []
    person: _Names = []
    lead: _Names = []
    opportunity: _Names = []


class _CustomFieldDoc(_Document):
    record: str
    key: str
    label: str
    type: str
    choices: _Names = []
    help: str = ""


class _DefinitionDoc(_Document):
    name: str
    description: str = ""
    minimum_fields: Annotated[_MinimumFieldsDoc, _NoneIsEmptyMap] = _MinimumFieldsDoc()
    custom_fields: Annotated[list[_CustomFieldDoc], _NoneIsEmpty] = []
    pipelines: list[_PipelineDoc]


# --- paths and lines ---------------------------------------------------------------------------

type _Path = tuple[str | int, ...]
type _Raw = dict[str, Any]  # a mapping as YAML gave it, before validation


def _format_path(path: _Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _index_lines(
    node: yaml.Node, path: _Path, lines: dict[_Path, int], problems: list[DefinitionProblem]
) -> None:
    """Record the line of every node by path (a mapping entry by its key's line)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                # PyYAML silently keeps the last value; a manager deserves to hear about it.
                problems.append(
                    DefinitionProblem(line, _format_path(child), f"duplicate key '{key}'")
                )
            seen.add(key)
            _index_lines(value_node, child, lines, problems)
            lines[child] = line  # after the value's own line: a block value starts lower
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines, problems)


def _line_for(path: _Path, lines: Mapping[_Path, int]) -> int | None:
    # A missing key has no node of its own: point at the nearest enclosing one.
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _load_yaml(text: str) -> tuple[Any, dict[_Path, int], list[DefinitionProblem]]:
    """The document's data, the line of each path, and any duplicate-key problems.

    Raises DefinitionError for a YAML syntax error: nothing further can be checked then.
    """
    loader = yaml.SafeLoader(text)
    lines: dict[_Path, int] = {}
    problems: list[DefinitionProblem] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines, problems
        _index_lines(node, (), lines, problems)
        return loader.construct_document(node), lines, problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or "invalid YAML"
        if exc.context:
            message = f"{message} ({exc.context})"
        line = mark.line + 1 if mark else None
        raise DefinitionError([DefinitionProblem(line, "", f"invalid YAML: {message}")]) from None
    except yaml.YAMLError as exc:
        raise DefinitionError([DefinitionProblem(None, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()


# --- structural errors -------------------------------------------------------------------------

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


def _structure_problems(
    exc: ValidationError, lines: Mapping[_Path, int]
) -> list[DefinitionProblem]:
    problems = []
    for error in exc.errors():
        path: _Path = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            message = f"unknown key '{path[-1]}'"
            if path[:1] == ("minimum_fields",) and len(path) == 2:
                message += f" (record kinds are {_or_list(RECORD_KINDS)})"
        elif kind == "missing":
            path, message = path[:-1], f"missing required key '{path[-1]}'"
        else:
            message = _TYPE_MESSAGES.get(kind, error["msg"])
            # Unquoted yes/no/on/off are booleans in YAML, and 2025-01-31 is a date.
            if kind == "string_type" and isinstance(error["input"], bool):
                message += " (put it in quotes: unquoted yes, no, on and off mean true or false)"
            elif kind == "string_type" and isinstance(error["input"], date):
                message += " (put it in quotes: an unquoted date is read as a date)"
        problems.append(DefinitionProblem(_line_for(path, lines), _format_path(path), message))
    return problems


def _or_list(items: tuple[str, ...] | list[str]) -> str:
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else "".join(items)


# --- semantic checks ---------------------------------------------------------------------------


def _entries(container: object, key: str) -> Iterator[tuple[int, _Raw]]:
    """(index, mapping) for each well-formed mapping in container[key]; the rest was reported."""
    items = container.get(key) if isinstance(container, dict) else None
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield index, item


def _strings(container: object, key: str) -> Iterator[tuple[int, str]]:
    items = container.get(key) if isinstance(container, dict) else None
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, str):
                yield index, item


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_date(value: object) -> bool:
    if isinstance(value, date):
        return True
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


class _Checker:
    """Rules pydantic cannot express; walks the raw data defensively so that every problem is
    found even when parts of the document are malformed (those parts pydantic reports)."""

    def __init__(
        self, builtin: Mapping[str, Mapping[str, FieldInfo]], lines: Mapping[_Path, int]
    ) -> None:
        self.builtin = builtin
        self.lines = lines
        self.problems: list[DefinitionProblem] = []
        # record kind -> field name -> field type, built-in and custom alike
        self.fields: dict[str, dict[str, str]] = {
            kind: {name: info.type for name, info in builtin.get(kind, {}).items()}
            for kind in RECORD_KINDS
        }
        self.choices: dict[tuple[str, str], list[str]] = {}

    def report(self, path: _Path, message: str) -> None:
        self.problems.append(
            DefinitionProblem(_line_for(path, self.lines), _format_path(path), message)
        )

    def not_blank(self, mapping: _Raw, path: _Path, key: str) -> None:
        value = mapping.get(key)
        if isinstance(value, str) and not value.strip():
            self.report((*path, key), "must not be blank")

    def slug(self, mapping: _Raw, path: _Path, what: str) -> str | None:
        key = mapping.get("key")
        if not isinstance(key, str):
            return None
        if not _SLUG.fullmatch(key):
            self.report(
                (*path, "key"),
                f"{what} key '{key}' may use only lowercase letters, digits, '-' and '_'",
            )
        return key

    def check(self, data: _Raw) -> list[DefinitionProblem]:
        self.not_blank(data, (), "name")
        for index, custom in _entries(data, "custom_fields"):
            self.check_custom_field(custom, ("custom_fields", index))
        minimum = data.get("minimum_fields")
        for kind in RECORD_KINDS:
            self.check_field_list(minimum, ("minimum_fields",), kind, kind)
        pipelines = data.get("pipelines")
        if isinstance(pipelines, list) and not pipelines:
            self.report(("pipelines",), "a definition needs at least one pipeline")
        seen: set[str] = set()
        for index, pipeline in _entries(data, "pipelines"):
            path = ("pipelines", index)
            key = self.slug(pipeline, path, "pipeline")
            if key in seen:
                self.report((*path, "key"), f"duplicate pipeline key '{key}'")
            seen.add(key or "")
            self.not_blank(pipeline, path, "name")
            self.check_stages(pipeline, path)
        return self.problems

    def check_custom_field(self, custom: _Raw, path: _Path) -> None:
        record, key, kind = custom.get("record"), custom.get("key"), custom.get("type")
        self.not_blank(custom, path, "label")
        if isinstance(record, str) and record not in RECORD_KINDS:
            self.report(
                (*path, "record"),
                f"unknown record kind '{record}' (use {_or_list(RECORD_KINDS)})",
            )
        if isinstance(kind, str) and kind not in CUSTOM_FIELD_TYPES:
            self.report(
                (*path, "type"), f"unknown field type '{kind}' (use {_or_list(CUSTOM_FIELD_TYPES)})"
            )
        choices = custom.get("choices")
        if kind == "choice" and not choices:
            self.report(path, "a choice field needs a list of choices")
        elif isinstance(kind, str) and kind != "choice" and choices:
            self.report((*path, "choices"), "only choice fields take choices")
        seen_choices: set[str] = set()
        for index, choice in _strings(custom, "choices"):
            if choice in seen_choices:
                self.report((*path, "choices", index), f"choice '{choice}' is listed twice")
            seen_choices.add(choice)
        if not isinstance(key, str):
            return
        if not _SNAKE_CASE.fullmatch(key):
            self.report(
                (*path, "key"),
                f"custom field key '{key}' must be snake_case: lowercase letters, digits and "
                "underscores, starting with a letter",
            )
        elif record in RECORD_KINDS:
            if key in self.builtin.get(record, {}):
                self.report(
                    (*path, "key"), f"custom field '{key}' would hide the built-in {record} field"
                )
            elif key in self.fields[record]:
                self.report((*path, "key"), f"duplicate custom field '{key}' for {record}")
            else:
                self.fields[record][key] = kind if isinstance(kind, str) else "text"
                self.choices[(record, key)] = [c for _, c in _strings(custom, "choices")]

    def check_field_list(self, container: object, path: _Path, key: str, record: str) -> None:
        seen: set[str] = set()
        for index, name in _strings(container, key):
            if name not in self.fields[record]:
                self.report((*path, key, index), f"unknown field '{name}'")
            elif name in seen:
                self.report((*path, key, index), f"field '{name}' is listed twice")
            seen.add(name)

    def check_stages(self, pipeline: _Raw, path: _Path) -> None:
        stages = pipeline.get("stages")
        if (
            isinstance(stages, list)
            and all(isinstance(stage, dict) for stage in stages)  # else already reported
            and not any(stage.get("kind", "open") == "open" for stage in stages)
        ):
            self.report((*path, "stages"), "a pipeline needs at least one open stage")
        seen: set[str] = set()
        checklist_keys: set[str] = set()  # unique per pipeline: ticks are stored by key
        first_closing: str | None = None
        for index, stage in _entries(pipeline, "stages"):
            stage_path = (*path, "stages", index)
            key = self.slug(stage, stage_path, "stage")
            if key in seen:
                self.report((*stage_path, "key"), f"duplicate stage key '{key}'")
            seen.add(key or "")
            self.not_blank(stage, stage_path, "name")
            kind = stage.get("kind", "open")
            if isinstance(kind, str) and kind not in STAGE_KINDS:
                self.report(
                    (*stage_path, "kind"), f"unknown stage kind '{kind}' (use open, won or lost)"
                )
            elif kind == "open" and first_closing is not None:
                self.report(
                    stage_path,
                    f"open stage '{key}' comes after closing stage '{first_closing}': "
                    "list the open stages first, then won and lost",
                )
            elif kind in CLOSED_KINDS and first_closing is None:
                first_closing = key or "?"
            probability = stage.get("probability")
            if isinstance(probability, int) and not 0 <= probability <= 100:
                self.report((*stage_path, "probability"), "must be between 0 and 100")
            gate = stage.get("gate")
            if isinstance(gate, dict):
                self.check_gate(gate, (*stage_path, "gate"), checklist_keys)

    def check_gate(self, gate: _Raw, path: _Path, checklist_keys: set[str]) -> None:
        self.check_field_list(gate, path, "require", "opportunity")
        for index, condition in _entries(gate, "conditions"):
            self.check_condition(condition, (*path, "conditions", index))
        pattern = gate.get("name_pattern")
        if isinstance(pattern, dict):
            self.not_blank(pattern, (*path, "name_pattern"), "message")
            regex = pattern.get("regex")
            if isinstance(regex, str):
                try:
                    re.compile(regex)
                except re.error as exc:
                    self.report(
                        (*path, "name_pattern", "regex"), f"invalid regular expression: {exc}"
                    )
        for index, item in _entries(gate, "checklist"):
            item_path = (*path, "checklist", index)
            key = self.slug(item, item_path, "checklist item")
            if key in checklist_keys:
                self.report(
                    (*item_path, "key"),
                    f"duplicate checklist item key '{key}' (keys must be unique in a pipeline)",
                )
            checklist_keys.add(key or "")
            self.not_blank(item, item_path, "label")

    def check_condition(self, condition: _Raw, path: _Path) -> None:
        name, op, value = condition.get("field"), condition.get("op"), condition.get("value")
        field_type = None
        if isinstance(name, str):
            field_type = self.fields["opportunity"].get(name)
            if field_type is None:
                self.report((*path, "field"), f"unknown field '{name}'")
        if not isinstance(op, str) or "value" not in condition:
            return  # pydantic reports the wrong type or missing key
        if op not in OPERATORS:
            self.report((*path, "op"), f"unknown operator '{op}' (use {_or_list(OPERATORS)})")
            return
        if op in LIST_OPERATORS:
            if not isinstance(value, list) or not value:
                self.report(
                    (*path, "value"), f"operator '{op}' needs a list of values, e.g. [a, b]"
                )
                return
            values: list[tuple[int | None, object]] = list(enumerate(value))
        elif isinstance(value, list | dict):
            self.report((*path, "value"), f"operator '{op}' needs a single value, not a list")
            return
        else:
            values = [(None, value)]
        for index, item in values:
            item_path = (*path, "value") if index is None else (*path, "value", index)
            if not isinstance(item, str | int | float | date):
                self.report(item_path, "must be text, a number, a date or true/false")
            elif isinstance(name, str) and field_type is not None:
                self.check_value_fits(item, item_path, name, field_type, op)

    def check_value_fits(
        self, value: object, path: _Path, name: str, field_type: str, op: object
    ) -> None:
        expected = None
        if field_type in ("number", "decimal") and not _is_number(value):
            expected = "a number"
        elif field_type == "date" and not _is_date(value):
            expected = "a date (YYYY-MM-DD)"
        elif field_type == "boolean" and not isinstance(value, bool):
            expected = "true or false"
        elif field_type == "boolean" and op in ORDERING_OPERATORS:
            expected = "compared with == or !="
        elif (choices := self.choices.get(("opportunity", name))) and value not in choices:
            expected = f"one of its choices ({', '.join(choices)})"
        if expected:
            self.report(path, f"'{name}' is a {field_type} field: the value must be {expected}")


# --- parsing -----------------------------------------------------------------------------------


def parse_definition(
    text: str, *, builtin_fields: Mapping[str, Mapping[str, FieldInfo]]
) -> ProcessDefinitionSpec:
    """Parse and validate a YAML process definition; raise DefinitionError listing every problem."""
    data, lines, problems = _load_yaml(text)
    if data is None:
        raise DefinitionError([DefinitionProblem(None, "", "the definition is empty")])
    if not isinstance(data, dict):
        raise DefinitionError(
            [
                DefinitionProblem(
                    _line_for((), lines),
                    "",
                    "the definition must be a mapping with keys such as name and pipelines",
                )
            ]
        )
    document: _DefinitionDoc | None = None
    try:
        document = _DefinitionDoc.model_validate(data)
    except ValidationError as exc:
        problems.extend(_structure_problems(exc, lines))
    problems.extend(_Checker(builtin_fields, lines).check(data))
    if problems or document is None:
        raise DefinitionError(sorted(problems, key=lambda p: (p.line is not None, p.line or 0)))
    return _build_spec(document)


def _plain_value(value: object) -> object:
    # Dates become ISO text so the spec stays JSON-able; gates compare ISO text with dates.
    if isinstance(value, list | tuple):
        return tuple(_plain_value(item) for item in value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _build_gate(gate: _GateDoc | None) -> Gate:
    if gate is None:
        return Gate()
    return Gate(
        require=tuple(gate.require),
        conditions=tuple(
            Condition(c.field, c.op, _plain_value(c.value), c.message) for c in gate.conditions
        ),
        name_pattern=(
            NamePattern(gate.name_pattern.regex, gate.name_pattern.message)
            if gate.name_pattern
            else None
        ),
        checklist=tuple(ChecklistItem(item.key, item.label) for item in gate.checklist),
        reason_required=gate.reason_required,
    )


def _build_spec(document: _DefinitionDoc) -> ProcessDefinitionSpec:
    return ProcessDefinitionSpec(
        name=document.name,
        description=document.description,
        minimum_fields={
            kind: tuple(getattr(document.minimum_fields, kind)) for kind in RECORD_KINDS
        },
        custom_fields=tuple(
            CustomFieldSpec(cf.record, cf.key, cf.label, cf.type, tuple(cf.choices), cf.help)
            for cf in document.custom_fields
        ),
        pipelines=tuple(
            PipelineSpec(
                key=pipeline.key,
                name=pipeline.name,
                stages=tuple(
                    StageSpec(s.key, s.name, s.kind, s.probability, _build_gate(s.gate))
                    for s in pipeline.stages
                ),
            )
            for pipeline in document.pipelines
        ),
    )


# --- dict form (JSONField) and YAML dump -------------------------------------------------------


def spec_to_dict(spec: ProcessDefinitionSpec) -> dict[str, Any]:
    """A JSON-able dict with every key spelled out (defaults included)."""
    return {
        "name": spec.name,
        "description": spec.description,
        "minimum_fields": {kind: list(spec.minimum_fields.get(kind, ())) for kind in RECORD_KINDS},
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
        "pipelines": [
            {
                "key": pipeline.key,
                "name": pipeline.name,
                "stages": [_stage_to_dict(stage) for stage in pipeline.stages],
            }
            for pipeline in spec.pipelines
        ],
    }


def _stage_to_dict(stage: StageSpec) -> dict[str, Any]:
    gate = stage.gate
    return {
        "key": stage.key,
        "name": stage.name,
        "kind": stage.kind,
        "probability": stage.probability,
        "gate": {
            "require": list(gate.require),
            "conditions": [
                {
                    "field": c.field,
                    "op": c.op,
                    "value": list(c.value) if isinstance(c.value, tuple) else c.value,
                    "message": c.message,
                }
                for c in gate.conditions
            ],
            "name_pattern": (
                {"regex": gate.name_pattern.regex, "message": gate.name_pattern.message}
                if gate.name_pattern
                else None
            ),
            "checklist": [{"key": item.key, "label": item.label} for item in gate.checklist],
            "reason_required": gate.reason_required,
        },
    }


def spec_from_dict(data: Mapping[str, Any]) -> ProcessDefinitionSpec:
    """Rebuild a spec from spec_to_dict's output (trusted: it was validated when parsed)."""
    minimum = data.get("minimum_fields", {})
    return ProcessDefinitionSpec(
        name=data["name"],
        description=data.get("description", ""),
        minimum_fields={kind: tuple(minimum.get(kind, ())) for kind in RECORD_KINDS},
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
        pipelines=tuple(
            PipelineSpec(
                key=pipeline["key"],
                name=pipeline["name"],
                stages=tuple(_stage_from_dict(stage) for stage in pipeline["stages"]),
            )
            for pipeline in data["pipelines"]
        ),
    )


def _stage_from_dict(data: Mapping[str, Any]) -> StageSpec:
    gate = data.get("gate") or {}
    pattern = gate.get("name_pattern")
    return StageSpec(
        key=data["key"],
        name=data["name"],
        kind=data.get("kind", "open"),
        probability=data["probability"],
        gate=Gate(
            require=tuple(gate.get("require", ())),
            conditions=tuple(
                Condition(c["field"], c["op"], _plain_value(c["value"]), c.get("message"))
                for c in gate.get("conditions", ())
            ),
            name_pattern=NamePattern(pattern["regex"], pattern["message"]) if pattern else None,
            checklist=tuple(
                ChecklistItem(item["key"], item["label"]) for item in gate.get("checklist", ())
            ),
            reason_required=gate.get("reason_required", False),
        ),
    )


class _Flow(list[Any]):
    """A list written inline: [a, b, c]."""


class _FlowMap(dict[str, Any]):
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
    _Flow, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, True)
)
_Dumper.add_representer(
    _FlowMap, lambda dumper, value: dumper.represent_mapping("tag:yaml.org,2002:map", value, True)
)


def _compact_gate(gate: dict[str, Any]) -> dict[str, Any]:
    compact: dict[str, Any] = {}
    if gate["require"]:
        compact["require"] = _Flow(gate["require"])
    if gate["conditions"]:
        compact["conditions"] = [
            _FlowMap(
                {
                    key: _Flow(value) if isinstance(value, list) else value
                    for key, value in condition.items()
                    if not (key == "message" and value is None)
                }
            )
            for condition in gate["conditions"]
        ]
    if gate["name_pattern"]:
        compact["name_pattern"] = gate["name_pattern"]
    if gate["checklist"]:
        compact["checklist"] = gate["checklist"]
    if gate["reason_required"]:
        compact["reason_required"] = True
    return compact


def dump_definition(spec: ProcessDefinitionSpec) -> str:
    """YAML for a spec, leaving out defaults; parse_definition reads it back to an equal spec."""
    full = spec_to_dict(spec)
    document: dict[str, Any] = {"name": full["name"]}
    if full["description"]:
        document["description"] = full["description"]
    minimum = {kind: _Flow(names) for kind, names in full["minimum_fields"].items() if names}
    if minimum:
        document["minimum_fields"] = minimum
    if full["custom_fields"]:
        document["custom_fields"] = [
            {key: _Flow(value) if key == "choices" else value for key, value in cf.items() if value}
            for cf in full["custom_fields"]
        ]
    pipelines = []
    for pipeline in full["pipelines"]:
        stages = []
        for stage in pipeline["stages"]:
            compact = {key: stage[key] for key in ("key", "name", "kind", "probability")}
            if compact["kind"] == "open":
                del compact["kind"]
            if gate := _compact_gate(stage["gate"]):
                compact["gate"] = gate
            stages.append(compact)
        pipelines.append({"key": pipeline["key"], "name": pipeline["name"], "stages": stages})
    document["pipelines"] = pipelines
    return yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096, indent=2
    )


# --- built-in templates ------------------------------------------------------------------------


def template_names() -> list[str]:
    folder = resources.files(_TEMPLATES_PACKAGE).joinpath("templates")
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def template_text(name: str) -> str:
    # Checked against the listing so a name can never reach outside the templates folder.
    if name not in template_names():
        raise KeyError(name)
    folder = resources.files(_TEMPLATES_PACKAGE).joinpath("templates")
    return folder.joinpath(f"{name}.yaml").read_text(encoding="utf-8")
