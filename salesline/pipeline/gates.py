"""Stage gates: which criteria an opportunity must meet to enter a stage.

Pure module: no Django. The service layer gathers the facts (field values, ticked checklist
items, the reason typed in) and turns the returned unmet criteria into a user-facing error.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from salesline.process.definition.values import is_blank

OPERATORS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in")
LIST_OPERATORS = frozenset({"in", "not_in"})
STAGE_KINDS = ("open", "won", "lost")
CLOSED_KINDS = frozenset({"won", "lost"})


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any
    message: str | None = None


@dataclass(frozen=True)
class NamePattern:
    regex: str
    message: str


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str


@dataclass(frozen=True)
class Gate:
    require: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    name_pattern: NamePattern | None = None
    checklist: tuple[ChecklistItem, ...] = ()
    reason_required: bool = False


DEFAULT_STALLED_DAYS = 30


@dataclass(frozen=True)
class StageSpec:
    key: str
    name: str
    kind: str
    probability: int
    gate: Gate = Gate()
    # An open opportunity with no activity and no stage change for this many days is stalled
    # (None: DEFAULT_STALLED_DAYS).
    stalled_after_days: int | None = None

    @property
    def stalled_days(self) -> int:
        return self.stalled_after_days or DEFAULT_STALLED_DAYS


@dataclass(frozen=True)
class MoveFacts:
    fields: Mapping[str, Any]
    ticked: frozenset[str] = frozenset()
    reason: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    # A `require` name's own refusal, where "is required" says too little (an engine app's
    # fact: "The service agreement must be signed ..."); "{stage}" is the stage's name.
    messages: Mapping[str, str] = field(default_factory=dict)

    def label(self, field_name: str) -> str:
        if label := self.labels.get(field_name):
            return label
        return fallback_label(field_name)


@dataclass(frozen=True)
class UnmetCriterion:
    stage: str
    kind: str
    field: str | None
    message: str


class UnknownStage(ValueError):
    """The stage key is not one of the pipeline's stages."""


def fallback_label(field_name: str) -> str:
    """'expected_close_date' -> 'Expected close date', 'company_id' -> 'Company'."""
    base = field_name.removesuffix("_id") or field_name
    return base.replace("_", " ").capitalize()


# --- comparisons -------------------------------------------------------------------------------


class _Incomparable(Exception):
    """The actual value has the wrong type for the comparison; args[0] names the wanted type."""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _as_number(value: object) -> Decimal:
    if _is_number(value):
        # str() first so 0.1 becomes Decimal("0.1"), not its binary expansion.
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise _Incomparable("a number") from None
    else:
        raise _Incomparable("a number")
    if not number.is_finite():
        raise _Incomparable("a number")
    return number


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).date()
        except ValueError:
            raise _Incomparable("a date (YYYY-MM-DD)") from None
    raise _Incomparable("a date (YYYY-MM-DD)")


def _wanted(expected: object) -> str:
    if isinstance(expected, bool):
        return "true or false"
    if _is_number(expected):
        return "a number"
    if isinstance(expected, date):
        return "a date (YYYY-MM-DD)"
    return "text"


def _coerce_pair(actual: object, expected: object) -> tuple[Any, Any]:
    """Bring both sides to one comparable type; the rule's value decides which type that is."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        if type(actual) is not type(expected):
            raise _Incomparable(_wanted(expected))
        return actual, expected
    if _is_number(expected):
        return _as_number(actual), _as_number(expected)
    if isinstance(expected, date):
        return _as_date(actual), _as_date(expected)
    if isinstance(expected, str) and not isinstance(actual, str):
        # A number or date field against a quoted value in the definition ("0", "2025-01-01").
        try:
            if _is_number(actual):
                return _as_number(actual), _as_number(expected)
            if isinstance(actual, date):
                return _as_date(actual), _as_date(expected)
        except _Incomparable:
            pass
        raise _Incomparable("text")
    return actual, expected


def _equals(actual: object, expected: object) -> bool:
    try:
        left, right = _coerce_pair(actual, expected)
    except _Incomparable:
        return False
    return bool(left == right)


def _condition_holds(actual: object, op: str, expected: object) -> bool:
    """Evaluate one condition; raises _Incomparable when the types cannot be compared."""
    if op in LIST_OPERATORS:
        options = expected if isinstance(expected, list | tuple | set | frozenset) else (expected,)
        found = any(_equals(actual, option) for option in options)
        return found if op == "in" else not found
    left, right = _coerce_pair(actual, expected)
    try:
        match op:
            case "==":
                return bool(left == right)
            case "!=":
                return bool(left != right)
            case ">":
                return bool(left > right)
            case ">=":
                return bool(left >= right)
            case "<":
                return bool(left < right)
            case "<=":
                return bool(left <= right)
    except TypeError:
        raise _Incomparable(_wanted(expected)) from None
    raise ValueError(f"unknown operator {op!r}")


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        shown = [_show(item) for item in value]
        if len(shown) <= 1:
            return "".join(shown) or "(nothing)"
        return ", ".join(shown[:-1]) + " or " + shown[-1]
    return str(value)


_OP_PHRASES = {
    "==": "be {}",
    "!=": "not be {}",
    ">": "be greater than {}",
    ">=": "be at least {}",
    "<": "be less than {}",
    "<=": "be at most {}",
    "in": "be one of {}",
    "not_in": "not be {}",
}


# --- gates -------------------------------------------------------------------------------------


def evaluate_gate(stage: StageSpec, facts: MoveFacts) -> list[UnmetCriterion]:
    """Every criterion of the stage's gate that the facts do not meet, in rule order."""
    gate = stage.gate
    unmet: list[UnmetCriterion] = []

    def add(kind: str, field_name: str | None, message: str) -> None:
        unmet.append(UnmetCriterion(stage.key, kind, field_name, message))

    for name in gate.require:
        if is_blank(facts.fields.get(name)):
            own = facts.messages.get(name)
            message = own.replace("{stage}", stage.name) if own else None
            add(
                "require",
                name,
                message or f"{facts.label(name)} is required to enter {stage.name}.",
            )

    for condition in gate.conditions:
        actual = facts.fields.get(condition.field)
        label = facts.label(condition.field)
        if is_blank(actual):
            # One complaint per empty field: the require rule already says "required".
            if condition.field not in gate.require:
                add("condition", condition.field, f"{label} must be set to enter {stage.name}.")
            continue
        rule = _rule_phrase(condition)
        try:
            holds = _condition_holds(actual, condition.op, condition.value)
        except _Incomparable as wrong_type:
            wanted = wrong_type.args[0]
            if isinstance(actual, list | tuple | set | frozenset | dict):
                problem = f"it holds several values, not {wanted}"
            else:
                problem = f"{_show(actual)!r} is not {wanted}"
            add(
                "condition",
                condition.field,
                f"{label} must {rule} to enter {stage.name}, but {problem}.",
            )
            continue
        except ValueError:  # an operator the definition validator would have refused
            holds = False
        if not holds:
            # A manager's own message is kept verbatim but still names the stage it guards.
            if condition.message:
                message = f"To enter {stage.name}: {condition.message}"
            else:
                message = f"{label} must {rule} to enter {stage.name}."
            add("condition", condition.field, message)

    if gate.name_pattern is not None:
        opportunity_name = facts.fields.get("name")
        if not (is_blank(opportunity_name) and "name" in gate.require) and not name_matches(
            gate.name_pattern.regex, opportunity_name
        ):
            message = f"To enter {stage.name}: {gate.name_pattern.message}"
            add(
                "name_pattern",
                "name",
                message + _dash_hint(gate.name_pattern.regex, opportunity_name),
            )

    for item in gate.checklist:
        if item.key not in facts.ticked:
            add("checklist", item.key, f"Tick '{item.label}' to enter {stage.name}.")

    if gate.reason_required and is_blank(facts.reason):
        add("reason", "reason", f"A reason is required to enter {stage.name}.")
    return unmet


@dataclass(frozen=True)
class Requirement:
    """One criterion of a gate as a user reads it before a move, and whether it is met."""

    stage: str
    kind: str  # require | condition | name_pattern | checklist | reason
    field: str | None
    text: str
    met: bool
    message: str = ""  # what a refused move would say, when it is not met
    box: str = ""  # a checklist item's own label, for a box to tick


def gate_requirements(stage: StageSpec, facts: MoveFacts) -> list[Requirement]:
    """Every criterion of the stage's gate in rule order, each marked met or not for `facts`:
    what a form or the opportunity page shows before the move, in the words of the refusal."""
    gate = stage.gate
    unmet = {(c.kind, c.field): c.message for c in evaluate_gate(stage, facts)}
    found: list[Requirement] = []

    def add(
        kind: str, field_name: str | None, text: str, met: bool | None = None, box: str = ""
    ) -> None:
        message = unmet.get((kind, field_name), "")
        is_met = not message if met is None else met
        if not is_met and not message:
            message = f"{text} to enter {stage.name}."
        found.append(Requirement(stage.key, kind, field_name, text, is_met, message, box))

    for name in gate.require:
        add("require", name, facts.label(name))
    for condition in gate.conditions:
        text = condition.message or f"{facts.label(condition.field)} must {_rule_phrase(condition)}"
        # An empty field meets no condition, even where "required" is the only complaint made.
        blank = is_blank(facts.fields.get(condition.field))
        add("condition", condition.field, text, False if blank else None)
    if gate.name_pattern is not None:
        add("name_pattern", "name", gate.name_pattern.message)
    for item in gate.checklist:
        add("checklist", item.key, f"Tick '{item.label}'", box=item.label)
    if gate.reason_required:
        add("reason", "reason", "A reason")
    return found


def _rule_phrase(condition: Condition) -> str:
    template = _OP_PHRASES.get(condition.op)
    if template is None:
        return f"satisfy {condition.op} {_show(condition.value)}"
    return template.format(_show(condition.value))


# Dashes that word processors and phones put where a hyphen was typed, by the names people know.
_DASHES = {
    "\u2013": "an en dash (–)",
    "\u2014": "an em dash (—)",
    "\u2010": "a Unicode hyphen (‐)",
    "\u2011": "a non-breaking hyphen (‑)",
    "\u2012": "a figure dash (‒)",
    "\u2015": "a horizontal bar (―)",
    "\u2212": "a minus sign (−)",
}


def _dash_hint(regex: str, name: object) -> str:
    """When the name would match with plain hyphens for its typographic dashes, say so and give
    the name that would: ' – ' looks like ' - ' and nobody sees why the pattern refuses it."""
    if not isinstance(name, str):
        return ""
    found = [label for dash, label in _DASHES.items() if dash in name]
    fixed = name.translate({ord(dash): "-" for dash in _DASHES})
    if not found or not name_matches(regex, fixed):
        return ""
    return (
        f" The name has {' and '.join(found)} where the pattern expects a hyphen (-): "
        f"'{fixed.strip()}' would do."
    )


def name_matches(regex: str, name: object) -> bool:
    if not isinstance(name, str):
        return False
    try:
        return re.fullmatch(regex, name.strip()) is not None
    except re.error:
        return False  # an invalid pattern can never be satisfied; definitions refuse them


def stages_entered(
    stages: Sequence[StageSpec], current: str | None, target: str
) -> list[StageSpec]:
    """The stages whose gates a move from `current` to `target` must pass, in stage order.

    A closed current stage (won/lost) counts as None: reopening starts before the first stage.
    """
    positions = {stage.key: index for index, stage in enumerate(stages)}
    if target not in positions:
        raise UnknownStage(f"unknown stage {target!r}")
    if current is not None and current not in positions:
        raise UnknownStage(f"unknown stage {current!r}")
    if current == target:
        return []
    target_stage = stages[positions[target]]
    if target_stage.kind == "lost":
        return [target_stage]

    start = -1  # position after which open stages are entered
    if current is not None and stages[positions[current]].kind not in CLOSED_KINDS:
        start = positions[current]
    # Winning passes every open stage still ahead; an open target passes those up to itself.
    end = len(stages) if target_stage.kind == "won" else positions[target] + 1
    entered = [
        stage
        for index, stage in enumerate(stages[:end])
        if index > start and stage.kind not in CLOSED_KINDS
    ]
    if target_stage.kind == "won":
        entered.append(target_stage)
    return entered


def evaluate_move(
    stages: Sequence[StageSpec], current: str | None, target: str, facts: MoveFacts
) -> list[UnmetCriterion]:
    """All unmet criteria of every stage the move enters (stage order, then rule order)."""
    return [
        criterion
        for stage in stages_entered(stages, current, target)
        for criterion in evaluate_gate(stage, facts)
    ]
