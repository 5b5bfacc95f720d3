"""The analytics app's `quality:` section of the process definition: the specs an opportunity's
quality rating is computed from, with their weights, and the bands.

    quality:
      bands: {good: 75, fair: 50}
      specs:
        - {key: gate-fields, check: gate_fields, weight: 25}
        - {key: recent, check: recent_activity, weight: 20, days: 14}
        - key: big-enough
          check: condition
          weight: 10
          condition: {field: value, op: ">=", value: 10000}

Without the section every organisation is rated by `quality.DEFAULT_QUALITY`. Pure module: no
Django. See docs/process-definitions.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from salesline.pipeline.definition import check_condition
from salesline.pipeline.gates import Condition
from salesline.process.definition import Checker, ProcessDefinitionSpec, Section, plain_value
from salesline.process.definition.checker import entries, or_list
from salesline.process.definition.schema import Document, NoneIsEmpty

from .quality import (
    CONDITION,
    DEFAULT_QUALITY,
    RECENT_ACTIVITY,
    SPEC_KINDS,
    QualityDefinition,
    QualitySpec,
)

SECTION_KEY = "quality"
MAX_WEIGHT = 100
MAX_DAYS = 3650


def quality_of(spec: ProcessDefinitionSpec) -> QualityDefinition:
    return spec.section(SECTION_KEY, DEFAULT_QUALITY)


# --- YAML shape -------------------------------------------------------------------------------


class _ConditionDoc(Document):
    field: str
    op: str
    value: Any
    message: str | None = None


class _SpecDoc(Document):
    key: str
    check: str
    weight: int
    days: int | None = None
    condition: _ConditionDoc | None = None
    label: str = ""


class _BandsDoc(Document):
    good: int = DEFAULT_QUALITY.good
    fair: int = DEFAULT_QUALITY.fair


class _QualityDoc(Document):
    bands: _BandsDoc | None = None
    specs: Annotated[list[_SpecDoc], NoneIsEmpty] = []


# --- checks -----------------------------------------------------------------------------------


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def check_quality(checker: Checker, quality: object) -> None:
    if not isinstance(quality, dict):
        return  # pydantic reports the wrong type
    bands = quality.get("bands")
    if isinstance(bands, dict):
        good = bands.get("good", DEFAULT_QUALITY.good)
        fair = bands.get("fair", DEFAULT_QUALITY.fair)
        for name, value in (("good", good), ("fair", fair)):
            if isinstance(value, int) and not _whole(value, 1, 100):
                checker.report((SECTION_KEY, "bands", name), "must be between 1 and 100")
        if _whole(good, 1, 100) and _whole(fair, 1, 100) and fair >= good:
            checker.report(
                (SECTION_KEY, "bands", "fair"),
                f"the fair band must start below the good band ({good})",
            )
    specs = quality.get("specs")
    if isinstance(specs, list) and not specs or (specs is None and "specs" in quality):
        checker.report((SECTION_KEY, "specs"), "a quality section needs at least one spec")
    seen: set[str] = set()
    total = 0
    for index, item in entries(quality, "specs"):
        path = (SECTION_KEY, "specs", index)
        key = checker.slug(item, path, "quality spec")
        if key in seen:
            checker.report((*path, "key"), f"duplicate quality spec key '{key}'")
        seen.add(key or "")
        checker.one_line(item, path, "label", 200)
        kind = item.get("check")
        if isinstance(kind, str) and kind not in SPEC_KINDS:
            checker.report((*path, "check"), f"unknown check '{kind}' (use {or_list(SPEC_KINDS)})")
        weight = item.get("weight")
        if isinstance(weight, int) and not isinstance(weight, bool):
            if not _whole(weight, 1, MAX_WEIGHT):
                checker.report((*path, "weight"), f"must be between 1 and {MAX_WEIGHT}")
            else:
                total += weight
        days = item.get("days")
        if days is not None:
            if kind != RECENT_ACTIVITY:
                checker.report((*path, "days"), "only a recent_activity check takes days")
            elif isinstance(days, int) and not _whole(days, 1, MAX_DAYS):
                checker.report((*path, "days"), f"must be between 1 and {MAX_DAYS}")
        condition = item.get("condition")
        if kind == CONDITION and condition is None:
            checker.report(path, "a condition check needs a condition: {field, op, value}")
        elif condition is not None and kind != CONDITION:
            checker.report((*path, "condition"), "only a condition check takes a condition")
        elif isinstance(condition, dict):
            check_condition(checker, condition, (*path, "condition"))


# --- build, JSON and YAML -----------------------------------------------------------------------


def build_quality(document: _QualityDoc) -> QualityDefinition:
    bands = document.bands or _BandsDoc()
    specs = tuple(
        QualitySpec(
            key=item.key,
            kind=item.check,
            weight=item.weight,
            days=item.days if item.days is not None else QualitySpec("", "", 0).days,
            condition=(
                Condition(
                    item.condition.field,
                    item.condition.op,
                    plain_value(item.condition.value),
                    item.condition.message,
                )
                if item.condition
                else None
            ),
            label=item.label,
        )
        for item in document.specs
    )
    return QualityDefinition(specs=specs or DEFAULT_QUALITY.specs, good=bands.good, fair=bands.fair)


def quality_to_dict(quality: QualityDefinition) -> dict[str, Any]:
    return {
        "bands": {"good": quality.good, "fair": quality.fair},
        "specs": [
            {
                "key": spec.key,
                "check": spec.kind,
                "weight": spec.weight,
                "days": spec.days,
                "condition": (
                    {
                        "field": spec.condition.field,
                        "op": spec.condition.op,
                        "value": (
                            list(spec.condition.value)
                            if isinstance(spec.condition.value, tuple)
                            else spec.condition.value
                        ),
                        "message": spec.condition.message,
                    }
                    if spec.condition
                    else None
                ),
                "label": spec.label,
            }
            for spec in quality.specs
        ],
    }


def quality_from_dict(data: Mapping[str, Any]) -> QualityDefinition:
    bands = data.get("bands") or {}
    return QualityDefinition(
        specs=tuple(
            QualitySpec(
                key=item["key"],
                kind=item["check"],
                weight=item["weight"],
                days=item.get("days") or QualitySpec("", "", 0).days,
                condition=(
                    Condition(
                        item["condition"]["field"],
                        item["condition"]["op"],
                        plain_value(item["condition"]["value"]),
                        item["condition"].get("message"),
                    )
                    if item.get("condition")
                    else None
                ),
                label=item.get("label", ""),
            )
            for item in data["specs"]
        ),
        good=bands.get("good", DEFAULT_QUALITY.good),
        fair=bands.get("fair", DEFAULT_QUALITY.fair),
    )


_DEFAULT_DICT = quality_to_dict(DEFAULT_QUALITY)


def dump_quality(full: dict[str, Any]) -> dict[str, Any] | None:
    """The YAML of the section, defaults left out; nothing when it is the default rating."""
    if full == _DEFAULT_DICT:
        return None
    compact: dict[str, Any] = {}
    if full["bands"] != _DEFAULT_DICT["bands"]:
        compact["bands"] = dict(full["bands"])
    specs = []
    for item in full["specs"]:
        entry: dict[str, Any] = {"key": item["key"], "check": item["check"]}
        entry["weight"] = item["weight"]
        if item["check"] == RECENT_ACTIVITY:
            entry["days"] = item["days"]
        if item["condition"]:
            entry["condition"] = {
                key: value
                for key, value in item["condition"].items()
                if not (key == "message" and value is None)
            }
        if item["label"]:
            entry["label"] = item["label"]
        specs.append(entry)
    compact["specs"] = specs
    return compact


QUALITY_SECTION = Section(
    key=SECTION_KEY,
    schema=_QualityDoc,
    default=lambda: DEFAULT_QUALITY,
    check=check_quality,
    build=build_quality,
    to_dict=quality_to_dict,
    from_dict=quality_from_dict,
    dump=dump_quality,
)
