"""Opportunity facts: what an engine app knows about an opportunity that a stage gate may ask
for by name (`require: [signed_agreement]`), without the pipeline importing that app.

Each engine app registers its facts in its AppConfig.ready(); the process-definition checker
accepts a registered fact wherever a gate's `require` names a field, and the move services ask
only the facts the gates of the stages being entered name, so a move into a stage that needs
none costs nothing more. Pure module: no Django (the provider is the app's own code).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .gates import StageSpec


@dataclass(frozen=True)
class OpportunityFact:
    key: str  # the name a gate's `require` uses, e.g. "signed_agreement"
    label: str  # how a list of a stage's needs names it
    # (opportunity) -> a value; anything falsy (None, False, "") counts as not met.
    provider: Callable[[Any], Any]
    # What a refused move says; "{stage}" is replaced by the stage's name.
    message: str

    def unmet_message(self, stage_name: str) -> str:
        return self.message.replace("{stage}", stage_name)


_FACTS: dict[str, OpportunityFact] = {}


def register_fact(fact: OpportunityFact) -> None:
    """Add a fact (from the owning app's ready()); registering the same one again is harmless."""
    existing = _FACTS.get(fact.key)
    if existing is not None and existing != fact:
        raise ValueError(f"the opportunity fact '{fact.key}' is registered already")
    _FACTS[fact.key] = fact


def registered_facts() -> Mapping[str, OpportunityFact]:
    return dict(_FACTS)


def fact_keys() -> frozenset[str]:
    return frozenset(_FACTS)


def facts_named(stages: Iterable[StageSpec]) -> list[OpportunityFact]:
    """The registered facts the gates of `stages` require, each once, in gate order."""
    named: dict[str, OpportunityFact] = {}
    for stage in stages:
        for name in stage.gate.require:
            if name in _FACTS:
                named.setdefault(name, _FACTS[name])
    return list(named.values())


def fact_values(opportunity: Any, stages: Iterable[StageSpec]) -> dict[str, Any]:
    """The values of the facts the gates of `stages` require: None where a fact is not met, so
    that `require` reports it."""
    return {fact.key: fact.provider(opportunity) or None for fact in facts_named(stages)}
