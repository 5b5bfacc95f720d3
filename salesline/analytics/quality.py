"""The opportunity quality rating: how well an opportunity is worked, as a score from 0 to 100
and the reasons behind it, from specs a process definition configures (`quality:`).

Each spec checks one thing a sales manager expects of a well-kept opportunity (the gate fields
of the stages it has passed filled, their checklist ticked, a primary contact, recent activity,
a close date ahead, a value, or a condition on any field) and carries a weight. The score is
the weighted share of specs met; a spec about several items (gate fields, checklist) counts
the share of its items met. Every reason is a sentence a salesperson can act on.

Pure module: no Django. The gate requirements and conditions are evaluated by the pipeline's
`gates` module (one evaluation of a condition in the whole program).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from salesline.pipeline.gates import (
    CLOSED_KINDS,
    Condition,
    Gate,
    MoveFacts,
    Requirement,
    StageSpec,
    gate_requirements,
)

GATE_FIELDS = "gate_fields"
CHECKLIST = "checklist"
CONTACT = "contact"
RECENT_ACTIVITY = "recent_activity"
CLOSE_DATE = "close_date"
VALUE = "value"
CONDITION = "condition"
SPEC_KINDS = (GATE_FIELDS, CHECKLIST, CONTACT, RECENT_ACTIVITY, CLOSE_DATE, VALUE, CONDITION)

GOOD, FAIR, POOR = "good", "fair", "poor"
BANDS = (GOOD, FAIR, POOR)
DEFAULT_ACTIVITY_DAYS = 30


@dataclass(frozen=True)
class QualitySpec:
    key: str
    kind: str
    weight: int
    #: recent_activity: activity within this many days counts as recent.
    days: int = DEFAULT_ACTIVITY_DAYS
    #: condition: the rule (a gate condition: field, op, value, optional message).
    condition: Condition | None = None
    #: What the spec is called on the record page (empty: a sentence made from the kind).
    label: str = ""


@dataclass(frozen=True)
class QualityDefinition:
    specs: tuple[QualitySpec, ...]
    #: The lowest score of the good band and of the fair band; below fair is poor.
    good: int = 75
    fair: int = 50

    def band(self, score: int) -> str:
        if score >= self.good:
            return GOOD
        return FAIR if score >= self.fair else POOR

    @property
    def total_weight(self) -> int:
        return sum(spec.weight for spec in self.specs)


DEFAULT_QUALITY = QualityDefinition(
    specs=(
        QualitySpec("gate-fields", GATE_FIELDS, 25),
        QualitySpec("checklist", CHECKLIST, 15),
        QualitySpec("contact", CONTACT, 15),
        QualitySpec("recent-activity", RECENT_ACTIVITY, 20, days=DEFAULT_ACTIVITY_DAYS),
        QualitySpec("close-date", CLOSE_DATE, 15),
        QualitySpec("value", VALUE, 10),
    )
)


@dataclass(frozen=True)
class QualityFacts:
    """What the rating is computed from, gathered by the analytics app's rating service."""

    #: The opportunity's pipeline's stages, in order, and the key of the stage it is in.
    stages: Sequence[StageSpec]
    stage: str
    #: Field values (built-in and custom, by API name), ticked checklist items and labels, as a
    #: stage gate sees them (pipeline.selectors.stage_facts, registered facts included).
    move_facts: MoveFacts
    has_contact: bool
    #: The latest note, stage change or edit.
    last_activity: datetime | None
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass(frozen=True)
class Reason:
    key: str
    kind: str
    weight: int
    #: The share of the spec met, 0..1 (gate fields and checklists count their items).
    met_share: float
    #: What is good, or what to do about it.
    text: str

    @property
    def met(self) -> bool:
        return self.met_share >= 1.0

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "kind": self.kind,
            "weight": self.weight,
            "met": self.met,
            "met_share": round(self.met_share, 4),
            "text": self.text,
        }


@dataclass(frozen=True)
class Rating:
    score: int
    band: str
    reasons: tuple[Reason, ...]

    @property
    def unmet(self) -> tuple[Reason, ...]:
        return tuple(reason for reason in self.reasons if not reason.met)


def unmet_texts(reasons: Iterable[Mapping[str, Any]]) -> list[str]:
    """What to do about a stored rating (`Reason.as_dict` each), in the definition's order."""
    return [reason["text"] for reason in reasons if not reason["met"]]


def stages_passed(stages: Sequence[StageSpec], current: str) -> list[StageSpec]:
    """The stages whose gates an opportunity in `current` has passed: the open stages up to and
    including it; a won opportunity passed them all and the won stage; a lost one is judged on
    the open stages."""
    passed: list[StageSpec] = []
    for stage in stages:
        if stage.kind not in CLOSED_KINDS or stage.key == current and stage.kind == "won":
            passed.append(stage)
        if stage.key == current and stage.kind not in CLOSED_KINDS:
            break
    return passed


def stages_ahead(stages: Sequence[StageSpec], current: str) -> list[StageSpec]:
    """The stages passed and, for an open opportunity, the next open stage: the one it is
    working towards, whose checklist is the work in hand."""
    passed = stages_passed(stages, current)
    if any(stage.key == current and stage.kind in CLOSED_KINDS for stage in stages):
        return passed
    following = [s for s in stages[len(passed) :] if s.kind not in CLOSED_KINDS]
    return passed + following[:1]


def _and_list(items: Sequence[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


type RequirementsOf = dict[str, list[Requirement]]


def _gate_items(
    spec: QualitySpec, facts: QualityFacts, kinds: frozenset[str], known: RequirementsOf
) -> Reason:
    # Fields: what the gates passed asked for (and may have been emptied since); the
    # checklist: those gates' items and the next one's, the work in hand.
    judged = stages_passed if spec.kind == GATE_FIELDS else stages_ahead
    requirements = []
    for stage in judged(facts.stages, facts.stage):
        # A gate is evaluated once per rating, whichever specs look at it.
        if stage.key not in known:
            known[stage.key] = gate_requirements(stage, facts.move_facts)
        requirements += [r for r in known[stage.key] if r.kind in kinds]
    # A field several stages require is one thing to fill in.
    by_item: dict[tuple[str, str | None], Requirement] = {}
    for requirement in requirements:
        by_item.setdefault((requirement.kind, requirement.field), requirement)
    items = list(by_item.values())
    if not items:
        what = "fields" if spec.kind == GATE_FIELDS else "checklist items"
        return Reason(spec.key, spec.kind, spec.weight, 1.0, f"No gate asks for {what} so far.")
    missing = [item for item in items if not item.met]
    share = (len(items) - len(missing)) / len(items)
    if spec.kind == GATE_FIELDS:
        if not missing:
            return Reason(
                spec.key, spec.kind, spec.weight, share, "Every field the gates ask for is filled."
            )
        names = [facts.move_facts.label(item.field or "") for item in missing]
        return Reason(
            spec.key,
            spec.kind,
            spec.weight,
            share,
            f"Fill in {_and_list(names)}: the stage gates passed ask for "
            f"{'it' if len(names) == 1 else 'them'}.",
        )
    if not missing:
        return Reason(spec.key, spec.kind, spec.weight, share, "Every checklist item is ticked.")
    boxes = [f"'{item.box}'" for item in missing]
    return Reason(
        spec.key, spec.kind, spec.weight, share, f"Tick {_and_list(boxes)} on the checklist."
    )


def _check(spec: QualitySpec, facts: QualityFacts, known: RequirementsOf) -> Reason:
    """One spec's reason: met or not, and the sentence to show."""

    def reason(met: bool, good: str, action: str) -> Reason:
        return Reason(
            spec.key, spec.kind, spec.weight, 1.0 if met else 0.0, good if met else action
        )

    fields = facts.move_facts.fields
    is_open = not any(s.key == facts.stage and s.kind in CLOSED_KINDS for s in facts.stages)
    match spec.kind:
        case "gate_fields":
            return _gate_items(spec, facts, frozenset({"require"}), known)
        case "checklist":
            return _gate_items(spec, facts, frozenset({"checklist"}), known)
        case "contact":
            return reason(
                facts.has_contact,
                "A primary contact is named.",
                "Name a primary contact: who speaks for the customer?",
            )
        case "recent_activity":
            if facts.last_activity is None:
                return reason(False, "", f"Log a note or a call: nothing in {spec.days} days.")
            idle = (facts.now - facts.last_activity).total_seconds() / 86_400
            days = int(idle)
            return reason(
                idle <= spec.days,
                f"Worked on within the last {spec.days} days.",
                f"Log a call, a meeting or a note: the last activity was {days} days ago "
                f"(more than {spec.days}).",
            )
        case "close_date":
            close = fields.get("expected_close_date")
            if close is None or close == "":
                return reason(False, "", "Set the expected close date.")
            if not is_open:
                return reason(True, "The opportunity is closed.", "")
            closing = close if isinstance(close, date) else date.fromisoformat(str(close))
            if isinstance(closing, datetime):
                closing = closing.date()
            return reason(
                closing >= facts.today,
                f"Expected to close on {closing.isoformat()}.",
                f"The expected close date {closing.isoformat()} has passed: set a new one.",
            )
        case "value":
            value = fields.get("value")
            return reason(
                value is not None and value != "" and value > 0,
                "The estimated value is set.",
                "Estimate the value of the opportunity.",
            )
        case "condition":
            condition = spec.condition
            if condition is None:  # the definition checker refuses it
                return reason(False, "", "This check has no condition.")
            stage = StageSpec("quality", "quality", "open", 0, Gate(conditions=(condition,)))
            (requirement,) = gate_requirements(stage, facts.move_facts)
            text = spec.label or requirement.text
            return reason(requirement.met, f"{text}: yes.", f"{text}.")
    raise ValueError(f"unknown quality spec kind {spec.kind!r}")


def rate(definition: QualityDefinition, facts: QualityFacts) -> Rating:
    """The opportunity's score (0..100, the weighted share of specs met, rounded half up) and
    the reasons, in the definition's order."""
    known: RequirementsOf = {}
    reasons = tuple(_check(spec, facts, known) for spec in definition.specs)
    total = definition.total_weight
    earned = sum(reason.weight * reason.met_share for reason in reasons)
    score = int(100 * earned / total + 0.5) if total else 100
    return Rating(score=score, band=definition.band(score), reasons=reasons)
