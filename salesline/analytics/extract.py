"""Reading the flow history out of the database into columns (history.FlowHistory).

Only live opportunities count: a stage change whose opportunity was deleted (in the trash) or
purged is left out (docs/metrics.md). The metrics, the forecast and the dashboard all read the
history through `flow_history`, so how it is read and kept (see docs/metrics.md, "How the
numbers are computed") is decided here alone.
"""

from __future__ import annotations

import numpy as np
from django.utils import timezone

from salesline.pipeline.models import StageChange

from .history import KIND_CODES, OPEN, FlowHistory, epoch_seconds


def flow_history(organisation) -> FlowHistory:
    """Every stage change of the organisation's live opportunities, sorted by (opportunity,
    at, id)."""
    now = timezone.now()
    rows = (
        StageChange.objects.filter(
            organisation=organisation,
            opportunity__isnull=False,
            opportunity__deleted_at__isnull=True,
        )
        .order_by("opportunity_ref", "at", "id")
        .values_list("opportunity_ref", "at", "to_pipeline_key", "to_stage", "to_stage_kind")
    )
    stages: dict[tuple[str, str], int] = {}
    opportunity: list[int] = []
    at: list[int] = []
    stage: list[int] = []
    kind: list[int] = []
    for ref, moment, pipeline, stage_key, stage_kind in rows.iterator(chunk_size=10_000):
        opportunity.append(ref)
        at.append(epoch_seconds(moment))
        stage.append(stages.setdefault((pipeline, stage_key), len(stages)))
        kind.append(KIND_CODES.get(stage_kind, OPEN))
    return FlowHistory(
        opportunity=np.array(opportunity, dtype=np.int64),
        at=np.array(at, dtype=np.int64),
        stage=np.array(stage, dtype=np.int32),
        kind=np.array(kind, dtype=np.int8),
        stages=tuple(stages),
        as_of=epoch_seconds(now),
    )
