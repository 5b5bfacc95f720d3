"""What the record services do for opportunities that records, below pipeline, cannot know:
the pipeline's own update (stages, gates, events) for bulk changes, and the anonymising of the
flow history when a purge removes opportunities (registered in PipelineConfig.ready())."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import F

from salesline.core.actors import Actor
from salesline.records.services import register_kind_hooks

from .models import Opportunity, Pipeline, StageChange
from .services import opportunity_update


def stage_changes_anonymise(opportunity_ids: list[int]) -> int:
    """Blank the reasons (free text: personal data) of the purged opportunities' moves. The
    rows stay as flow history: the purge's delete empties their link (SET_NULL) and
    `opportunity_ref` still groups one deal's moves. The pipelines whose history loses its
    links have their `history_revision` raised, so copies of it are read again. Returns the
    rows changed."""
    moves = StageChange.objects.filter(opportunity_id__in=opportunity_ids)
    pipelines = set(moves.values_list("pipeline_id", flat=True)) | set(
        moves.values_list("from_pipeline_id", flat=True)
    )
    Pipeline.objects.filter(pk__in=sorted(pipelines - {None})).update(
        history_revision=F("history_revision") + 1
    )
    return moves.update(reason="")


def _update(*, actor: Actor, record_id: Any, data: Mapping[str, Any]) -> Opportunity:
    return opportunity_update(actor=actor, opportunity_id=record_id, data=data)


def register() -> None:
    register_kind_hooks("opportunity", update=_update, before_purge=stage_changes_anonymise)
