"""Reads of the process definition in force and of the custom fields it declares."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db.models import QuerySet

from salesline.core.actors import Actor
from salesline.core.errors import NotFound

from .definition import ProcessDefinitionSpec, spec_from_dict
from .models import CustomField, ProcessDefinition

EMPTY_DEFINITION = ProcessDefinitionSpec(
    name="", description="", minimum_fields={}, custom_fields=(), sections={}
)


@lru_cache(maxsize=256)
def _parsed(definition_id: int, organisation_id: int, loaded_at: Any) -> ProcessDefinitionSpec:
    # Definition rows are immutable (a new load writes a new version), so a parsed version is
    # cached per process. The id alone is not a safe key: SQLite hands a deleted or rolled-back
    # row's id to the next insert, so the key also names the organisation and the load time.
    return spec_from_dict(ProcessDefinition.objects.get(pk=definition_id).spec)


def definition_row_for(organisation: Any) -> ProcessDefinition | None:
    return (
        ProcessDefinition.objects.filter(organisation=organisation)
        .order_by("-version")
        .only("id", "version", "organisation_id", "loaded_at")
        .first()
    )


type VersionKey = tuple[int, int, Any]


def definition_in_force(organisation: Any) -> tuple[VersionKey | None, ProcessDefinitionSpec]:
    """The key of the version in force (None before any load) and its parsed definition: one
    indexed query, the parse from the per-version cache. Rows other apps keep in step with a
    version (stages) may be cached by the same key: they change only when a version is loaded."""
    row = definition_row_for(organisation)
    if row is None:
        return None, EMPTY_DEFINITION
    key = (row.pk, row.organisation_id, row.loaded_at)
    return key, _parsed(*key)


def definition_for(organisation: Any) -> ProcessDefinitionSpec:
    """The process definition in force for an organisation (empty before any load)."""
    return definition_in_force(organisation)[1]


def custom_field_list(*, actor: Actor) -> QuerySet[CustomField]:
    """The organisation's custom fields (the definition's order: record kind, then position)."""
    return CustomField.objects.filter(organisation=actor.organisation)


def custom_field_get_for(*, actor: Actor, field_id: int) -> CustomField:
    field = custom_field_list(actor=actor).filter(pk=field_id).first()
    if field is None:
        raise NotFound(f"No custom field with id {field_id}.")
    return field
