"""Reads of pipelines, process definitions and opportunity history, scoped by actor."""

from __future__ import annotations

from functools import lru_cache

from django.db.models import Prefetch, QuerySet

from salesline.core.actors import Actor
from salesline.core.errors import NotFound

from .definitions import ProcessDefinitionSpec, spec_from_dict
from .models import Opportunity, Pipeline, ProcessDefinition, Stage, StageChange

EMPTY_DEFINITION = ProcessDefinitionSpec(
    name="", description="", minimum_fields={}, custom_fields=(), pipelines=()
)


@lru_cache(maxsize=256)
def _parsed(definition_id: int, organisation_id: int, loaded_at) -> ProcessDefinitionSpec:
    # Definition rows are immutable (a new load writes a new version). The id alone is not a
    # safe key: SQLite hands a deleted or rolled-back row's id to the next insert, so the key
    # also names the organisation and the load time.
    return spec_from_dict(ProcessDefinition.objects.get(pk=definition_id).spec)


def definition_row_for(organisation) -> ProcessDefinition | None:
    return (
        ProcessDefinition.objects.filter(organisation=organisation)
        .order_by("-version")
        .only("id", "version", "organisation_id", "loaded_at")
        .first()
    )


def definition_for(organisation) -> ProcessDefinitionSpec:
    """The process definition in force for an organisation (empty before any load)."""
    row = definition_row_for(organisation)
    if row is None:
        return EMPTY_DEFINITION
    return _parsed(row.pk, row.organisation_id, row.loaded_at)


def pipeline_list(*, actor: Actor) -> QuerySet[Pipeline]:
    return Pipeline.objects.filter(organisation=actor.organisation).prefetch_related(
        Prefetch("stages", queryset=Stage.objects.order_by("position", "id"))
    )


def pipeline_get_for(*, actor: Actor, pipeline_id: int) -> Pipeline:
    pipeline = pipeline_list(actor=actor).filter(pk=pipeline_id).first()
    if pipeline is None:
        raise NotFound(f"No pipeline with id {pipeline_id}.")
    return pipeline


def opportunity_history(*, actor: Actor, opportunity_id: int) -> QuerySet[StageChange]:
    if not Opportunity.objects.filter(
        organisation=actor.organisation, pk=opportunity_id, deleted_at=None
    ).exists():
        raise NotFound(f"No opportunity with id {opportunity_id}.")
    return StageChange.objects.filter(
        organisation=actor.organisation, opportunity_id=opportunity_id
    ).order_by("at", "id")
