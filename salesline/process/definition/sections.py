"""Sections other apps add to the process definition, each with its schema and its checks.

An app registers its `Section` once, in its AppConfig.ready(); the loader then accepts that
top-level key, validates it with the section's pydantic schema, runs its checks with the same
line-numbered problems, and keeps what it builds in ``spec.sections[key]``. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checker import Checker


@dataclass(frozen=True)
class Section:
    key: str
    #: The pydantic type of the section's YAML (e.g. ``list[PipelineDoc]``).
    schema: Any
    #: What the section is when the file leaves it out (ignored when required).
    default: Callable[[], Any]
    #: (checker, raw YAML value) -> None; report problems with ``checker.report(path, message)``.
    check: Callable[[Checker, Any], None]
    #: The validated pydantic value -> the frozen value kept in the spec.
    build: Callable[[Any], Any]
    #: The spec value -> JSON (every key spelled out; stored with each definition version).
    to_dict: Callable[[Any], Any]
    #: JSON from to_dict -> the spec value.
    from_dict: Callable[[Any], Any]
    #: JSON from to_dict -> what the YAML dump writes (defaults left out), or None to omit it.
    dump: Callable[[Any], Any]
    required: bool = False


_SECTIONS: dict[str, Section] = {}

CORE_KEYS = frozenset({"name", "description", "minimum_fields", "custom_fields", "choices"})


def register_section(section: Section) -> None:
    """Add an app's section; registering the same section again changes nothing."""
    if section.key in CORE_KEYS:
        raise ValueError(f"'{section.key}' is a core key of the process definition")
    existing = _SECTIONS.get(section.key)
    if existing is not None and existing != section:
        raise ValueError(f"another app already registered the section '{section.key}'")
    _SECTIONS[section.key] = section


def sections() -> tuple[Section, ...]:
    """The registered sections, in the order they were registered (the order of the YAML)."""
    return tuple(_SECTIONS.values())
