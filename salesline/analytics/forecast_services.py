"""Forecast writes: taking a forecast snapshot (now, or weekly by the worker)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from salesline.accounts.models import Organisation, Role
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, PermissionDenied
from salesline.pipeline.definition import PipelineSpec, pipelines_of
from salesline.process.selectors import definition_for

from .forecast_selectors import DEFAULT_HORIZON, DEFAULT_TRIALS, forecast_result
from .models import ForecastSnapshot

logger = logging.getLogger(__name__)

#: Months a snapshot forecasts: enough for a quarter ahead whichever week it is taken in.
SNAPSHOT_HORIZON = DEFAULT_HORIZON
SNAPSHOT_TRIALS = DEFAULT_TRIALS
WORKER_LABEL = "forecast snapshots"
SNAPSHOT_ROLES = (Role.ADMIN, Role.SALES_COORDINATOR, Role.SALES_SUPPORT_MANAGER)


def _pipeline(actor: Actor, pipeline_key: str) -> PipelineSpec:
    for pipeline in pipelines_of(definition_for(actor.organisation)):
        if pipeline.key == pipeline_key:
            return pipeline
    raise NotFound(f"No pipeline '{pipeline_key}'.")


def forecast_snapshot_take(
    *,
    actor: Actor,
    pipeline_key: str,
    trials: int = SNAPSHOT_TRIALS,
    seed: int | None = None,
    now: datetime | None = None,
) -> tuple[ForecastSnapshot, bool]:
    """The snapshot of this ISO week for the pipeline, and whether this call took it. A week
    already taken (by this or another worker) is kept as it is: the unique constraint decides
    who stored it. The forecast is computed before the short transaction that stores it, so no
    lock is held while it runs; a loser only wastes its computation."""
    if not actor.has_role(*SNAPSHOT_ROLES):
        raise PermissionDenied("Only admins and sales coordinators take forecast snapshots.")
    pipeline = _pipeline(actor, pipeline_key)
    now = now or timezone.now()
    iso_year, iso_week, _ = now.isocalendar()
    existing = ForecastSnapshot.objects.filter(
        organisation=actor.organisation,
        pipeline_key=pipeline.key,
        iso_year=iso_year,
        iso_week=iso_week,
    ).first()
    if existing is not None:
        return existing, False
    report = forecast_result(
        actor=actor, pipeline=pipeline, trials=trials, seed=seed, horizon=SNAPSHOT_HORIZON
    )
    counts = {row["period"]: row for row in report["counts"]}
    periods = [
        period | {k: counts[period["period"]][k] for k in ("count_p10", "count_p90")}
        for period in report["periods"]
    ]
    try:
        with transaction.atomic():
            snapshot = ForecastSnapshot.objects.create(
                organisation=actor.organisation,
                pipeline_key=pipeline.key,
                taken_at=now,
                iso_year=iso_year,
                iso_week=iso_week,
                periods=periods,
                quarters=report["quarters"],
                trials=report["trials"],
                seed=report["seed"],
            )
            audit.record(
                actor=actor,
                action="forecast.snapshot",
                obj=snapshot,
                changes={
                    "pipeline": pipeline.key,
                    "week": snapshot.week,
                    "trials": snapshot.trials,
                    "seed": snapshot.seed,
                },
            )
    except IntegrityError:
        # Another worker stored this week first: theirs stands.
        return (
            ForecastSnapshot.objects.get(
                organisation=actor.organisation,
                pipeline_key=pipeline.key,
                iso_year=iso_year,
                iso_week=iso_week,
            ),
            False,
        )
    return snapshot, True


def take_weekly_snapshots(now: datetime | None = None) -> dict[str, int]:
    """The worker's periodic callback: each organisation's pipelines whose week has no
    snapshot yet get one. One organisation's failure is logged and never stops the others."""
    from salesline.accounts.services import system_actor

    now = now or timezone.now()
    iso_year, iso_week, _ = now.isocalendar()
    taken = failed = 0
    # One query says which weeks are stored already: most minutes there is nothing to do.
    done: dict[int, set[str]] = {}
    for organisation_id, pipeline_key in ForecastSnapshot.objects.filter(
        iso_year=iso_year, iso_week=iso_week
    ).values_list("organisation_id", "pipeline_key"):
        done.setdefault(organisation_id, set()).add(pipeline_key)
    for organisation in Organisation.objects.order_by("id"):
        try:
            pipelines = [
                pipeline
                for pipeline in pipelines_of(definition_for(organisation))
                if pipeline.key not in done.get(organisation.pk, set())
            ]
            if not pipelines:
                continue
            actor = system_actor(organisation, WORKER_LABEL)
            for pipeline in pipelines:
                _, stored = forecast_snapshot_take(actor=actor, pipeline_key=pipeline.key, now=now)
                taken += int(stored)
        except Exception:
            failed += 1
            logger.exception("Forecast snapshot of organisation %s failed", organisation.pk)
    return {"taken": taken, "failed": failed}
