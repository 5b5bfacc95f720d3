"""The pipeline app's section of the process definition: pipelines, their stages and gates.

Registered with the process definition in PipelineConfig.ready(). Pure module: no Django.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from salesline.process.definition import (
    Checker,
    Flow,
    FlowMap,
    ProcessDefinitionSpec,
    Section,
    plain_value,
)
from salesline.process.definition.checker import Raw, entries, is_date, is_number, or_list
from salesline.process.definition.loader import Path
from salesline.process.definition.schema import Document, Names, NoneIsEmpty

from .facts import fact_keys
from .gates import (
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

SECTION_KEY = "pipelines"
ORDERING_OPERATORS = frozenset({">", ">=", "<", "<="})


@dataclass(frozen=True)
class PipelineSpec:
    key: str
    name: str
    stages: tuple[StageSpec, ...]


def pipelines_of(spec: ProcessDefinitionSpec) -> tuple[PipelineSpec, ...]:
    """The pipelines of a definition (none before any definition is loaded)."""
    return spec.section(SECTION_KEY, ())


def pipeline_of(spec: ProcessDefinitionSpec, key: str) -> PipelineSpec:
    for pipeline in pipelines_of(spec):
        if pipeline.key == key:
            return pipeline
    raise KeyError(key)


# --- YAML shape -------------------------------------------------------------------------------


class _ConditionDoc(Document):
    field: str
    op: str
    value: Any
    message: str | None = None


class _NamePatternDoc(Document):
    regex: str
    message: str


class _ChecklistItemDoc(Document):
    key: str
    label: str


class _GateDoc(Document):
    require: Names = []
    conditions: Annotated[list[_ConditionDoc], NoneIsEmpty] = []
    name_pattern: _NamePatternDoc | None = None
    checklist: Annotated[list[_ChecklistItemDoc], NoneIsEmpty] = []
    reason_required: bool = False


class _StageDoc(Document):
    key: str
    name: str
    kind: str = "open"
    probability: int
    gate: _GateDoc | None = None
    stalled_after_days: int | None = None


class _PipelineDoc(Document):
    key: str
    name: str
    stages: list[_StageDoc]


# --- checks -----------------------------------------------------------------------------------


def check_pipelines(checker: Checker, pipelines: object) -> None:
    if isinstance(pipelines, list) and not pipelines:
        checker.report((SECTION_KEY,), "a definition needs at least one pipeline")
    seen: set[str] = set()
    for index, pipeline in entries({SECTION_KEY: pipelines}, SECTION_KEY):
        path = (SECTION_KEY, index)
        key = checker.slug(pipeline, path, "pipeline")
        if key in seen:
            checker.report((*path, "key"), f"duplicate pipeline key '{key}'")
        seen.add(key or "")
        checker.not_blank(pipeline, path, "name")
        _check_stages(checker, pipeline, path)


def _check_stages(checker: Checker, pipeline: Raw, path: Path) -> None:
    stages = pipeline.get("stages")
    if (
        isinstance(stages, list)
        and all(isinstance(stage, dict) for stage in stages)  # else already reported
        and not any(stage.get("kind", "open") == "open" for stage in stages)
    ):
        checker.report((*path, "stages"), "a pipeline needs at least one open stage")
    seen: set[str] = set()
    checklist_keys: set[str] = set()  # unique per pipeline: ticks are stored by key
    first_closing: str | None = None
    for index, stage in entries(pipeline, "stages"):
        stage_path = (*path, "stages", index)
        key = checker.slug(stage, stage_path, "stage")
        if key in seen:
            checker.report((*stage_path, "key"), f"duplicate stage key '{key}'")
        seen.add(key or "")
        checker.not_blank(stage, stage_path, "name")
        kind = stage.get("kind", "open")
        if isinstance(kind, str) and kind not in STAGE_KINDS:
            checker.report(
                (*stage_path, "kind"), f"unknown stage kind '{kind}' (use open, won or lost)"
            )
        elif kind == "open" and first_closing is not None:
            checker.report(
                stage_path,
                f"open stage '{key}' comes after closing stage '{first_closing}': "
                "list the open stages first, then won and lost",
            )
        elif kind in CLOSED_KINDS and first_closing is None:
            first_closing = key or "?"
        probability = stage.get("probability")
        if isinstance(probability, int) and not 0 <= probability <= 100:
            checker.report((*stage_path, "probability"), "must be between 0 and 100")
        stalled = stage.get("stalled_after_days")
        if isinstance(stalled, int) and not 1 <= stalled <= 3650:
            checker.report((*stage_path, "stalled_after_days"), "must be between 1 and 3650")
        elif stalled is not None and kind in CLOSED_KINDS:
            checker.report(
                (*stage_path, "stalled_after_days"),
                "only an open stage can stall: a won or lost opportunity is closed",
            )
        gate = stage.get("gate")
        if isinstance(gate, dict):
            _check_gate(checker, gate, (*stage_path, "gate"), checklist_keys)


def _check_gate(checker: Checker, gate: Raw, path: Path, checklist_keys: set[str]) -> None:
    # Besides fields, a gate may require what an engine app knows (a signed agreement).
    checker.check_field_list(gate, path, "require", "opportunity", also=fact_keys())
    for index, condition in entries(gate, "conditions"):
        _check_condition(checker, condition, (*path, "conditions", index))
    pattern = gate.get("name_pattern")
    if isinstance(pattern, dict):
        checker.not_blank(pattern, (*path, "name_pattern"), "message", max_length=500)
        regex = pattern.get("regex")
        if isinstance(regex, str):
            try:
                re.compile(regex)
            except re.error as exc:
                checker.report(
                    (*path, "name_pattern", "regex"), f"invalid regular expression: {exc}"
                )
    for index, item in entries(gate, "checklist"):
        item_path = (*path, "checklist", index)
        key = checker.slug(item, item_path, "checklist item")
        if key in checklist_keys:
            checker.report(
                (*item_path, "key"),
                f"duplicate checklist item key '{key}' (keys must be unique in a pipeline)",
            )
        checklist_keys.add(key or "")
        checker.not_blank(item, item_path, "label")


def _check_condition(checker: Checker, condition: Raw, path: Path) -> None:
    name, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    field_type = None
    if isinstance(name, str):
        field_type = checker.fields.get("opportunity", {}).get(name)
        if field_type is None:
            checker.report((*path, "field"), f"unknown field '{name}'")
    if not isinstance(op, str) or "value" not in condition:
        return  # pydantic reports the wrong type or missing key
    if op not in OPERATORS:
        checker.report((*path, "op"), f"unknown operator '{op}' (use {or_list(OPERATORS)})")
        return
    if op in LIST_OPERATORS:
        if not isinstance(value, list) or not value:
            checker.report((*path, "value"), f"operator '{op}' needs a list of values, e.g. [a, b]")
            return
        values: list[tuple[int | None, object]] = list(enumerate(value))
    elif isinstance(value, list | dict):
        checker.report((*path, "value"), f"operator '{op}' needs a single value, not a list")
        return
    else:
        values = [(None, value)]
    for index, item in values:
        item_path = (*path, "value") if index is None else (*path, "value", index)
        if not isinstance(item, str | int | float | date):
            checker.report(item_path, "must be text, a number, a date or true/false")
        elif isinstance(name, str) and field_type is not None:
            _check_value_fits(checker, item, item_path, name, field_type, op)


#: A condition's checks, for another section's conditions on opportunity fields (the quality
#: rating's custom checks): one set of rules for every condition in the definition.
check_condition = _check_condition


def _check_value_fits(
    checker: Checker, value: object, path: Path, name: str, field_type: str, op: object
) -> None:
    expected = None
    if field_type in ("number", "decimal") and not is_number(value):
        expected = "a number"
    elif field_type == "date" and not is_date(value):
        expected = "a date (YYYY-MM-DD)"
    elif field_type == "boolean" and not isinstance(value, bool):
        expected = "true or false"
    elif field_type == "boolean" and op in ORDERING_OPERATORS:
        expected = "compared with == or !="
    elif (choices := checker.choices.get(("opportunity", name))) and value not in choices:
        expected = f"one of its choices ({', '.join(choices)})"
    if expected:
        checker.report(path, f"'{name}' is a {field_type} field: the value must be {expected}")


# --- build, JSON and YAML -----------------------------------------------------------------------


def _build_gate(gate: _GateDoc | None) -> Gate:
    if gate is None:
        return Gate()
    return Gate(
        require=tuple(gate.require),
        conditions=tuple(
            Condition(c.field, c.op, plain_value(c.value), c.message) for c in gate.conditions
        ),
        name_pattern=(
            NamePattern(gate.name_pattern.regex, gate.name_pattern.message)
            if gate.name_pattern
            else None
        ),
        checklist=tuple(ChecklistItem(item.key, item.label) for item in gate.checklist),
        reason_required=gate.reason_required,
    )


def build_pipelines(documents: list[_PipelineDoc]) -> tuple[PipelineSpec, ...]:
    return tuple(
        PipelineSpec(
            key=pipeline.key,
            name=pipeline.name,
            stages=tuple(
                StageSpec(
                    s.key, s.name, s.kind, s.probability, _build_gate(s.gate), s.stalled_after_days
                )
                for s in pipeline.stages
            ),
        )
        for pipeline in documents
    )


def _stage_to_dict(stage: StageSpec) -> dict[str, Any]:
    gate = stage.gate
    return {
        "key": stage.key,
        "name": stage.name,
        "kind": stage.kind,
        "probability": stage.probability,
        "stalled_after_days": stage.stalled_after_days,
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


def pipelines_to_dict(pipelines: tuple[PipelineSpec, ...]) -> list[dict[str, Any]]:
    return [
        {
            "key": pipeline.key,
            "name": pipeline.name,
            "stages": [_stage_to_dict(stage) for stage in pipeline.stages],
        }
        for pipeline in pipelines
    ]


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
                Condition(c["field"], c["op"], plain_value(c["value"]), c.get("message"))
                for c in gate.get("conditions", ())
            ),
            name_pattern=NamePattern(pattern["regex"], pattern["message"]) if pattern else None,
            checklist=tuple(
                ChecklistItem(item["key"], item["label"]) for item in gate.get("checklist", ())
            ),
            reason_required=gate.get("reason_required", False),
        ),
        stalled_after_days=data.get("stalled_after_days"),
    )


def pipelines_from_dict(data: list[Mapping[str, Any]]) -> tuple[PipelineSpec, ...]:
    return tuple(
        PipelineSpec(
            key=pipeline["key"],
            name=pipeline["name"],
            stages=tuple(_stage_from_dict(stage) for stage in pipeline["stages"]),
        )
        for pipeline in data
    )


def _compact_gate(gate: dict[str, Any]) -> dict[str, Any]:
    compact: dict[str, Any] = {}
    if gate["require"]:
        compact["require"] = Flow(gate["require"])
    if gate["conditions"]:
        compact["conditions"] = [
            FlowMap(
                {
                    key: Flow(value) if isinstance(value, list) else value
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


def dump_pipelines(full: list[dict[str, Any]]) -> list[dict[str, Any]]:
    pipelines = []
    for pipeline in full:
        stages = []
        for stage in pipeline["stages"]:
            compact = {key: stage[key] for key in ("key", "name", "kind", "probability")}
            if compact["kind"] == "open":
                del compact["kind"]
            if stage.get("stalled_after_days") is not None:
                compact["stalled_after_days"] = stage["stalled_after_days"]
            if gate := _compact_gate(stage["gate"]):
                compact["gate"] = gate
            stages.append(compact)
        pipelines.append({"key": pipeline["key"], "name": pipeline["name"], "stages": stages})
    return pipelines


PIPELINES_SECTION = Section(
    key=SECTION_KEY,
    schema=list[_PipelineDoc],
    default=tuple,
    check=check_pipelines,
    build=build_pipelines,
    to_dict=pipelines_to_dict,
    from_dict=pipelines_from_dict,
    dump=dump_pipelines,
    required=True,
)
