"""Forecast writes: taking a forecast snapshot (now, or weekly by the worker), and backfilling
the snapshots of past weeks from the history as it stood then."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from salesline.accounts.models import Organisation, Role
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, PermissionDenied, ProblemList
from salesline.pipeline.definition import PipelineSpec, pipelines_of
from salesline.process.selectors import definition_for

from .extract import flow_history
from .forecast_selectors import (
    DEFAULT_HORIZON,
    DEFAULT_TRIALS,
    forecast_as_of,
    forecast_result,
    term_changes_since,
)
from .history import epoch_seconds
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
    return _store(actor, pipeline, now, report)


def _store(
    actor: Actor,
    pipeline: PipelineSpec,
    moment: datetime,
    report: dict,
    backfilled_at: datetime | None = None,
) -> tuple[ForecastSnapshot, bool]:
    """Store the forecast `report` as the snapshot of the ISO week of `moment`, unless that
    week has one already (then that one, and False)."""
    iso_year, iso_week, _ = moment.isocalendar()
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
                taken_at=moment,
                iso_year=iso_year,
                iso_week=iso_week,
                periods=periods,
                quarters=report["quarters"],
                trials=report["trials"],
                seed=report["seed"],
                backfilled_at=backfilled_at,
            )
            changes = {
                "pipeline": pipeline.key,
                "week": snapshot.week,
                "trials": snapshot.trials,
                "seed": snapshot.seed,
            }
            if backfilled_at is not None:
                changes["as_of"] = moment.isoformat()
                changes["backfilled"] = True
            audit.record(actor=actor, action="forecast.snapshot", obj=snapshot, changes=changes)
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


#: Weeks a backfill may go back: two years of weekly snapshots.
MAX_BACKFILL_WEEKS = 104


@dataclass(frozen=True)
class Backfill:
    taken: list[ForecastSnapshot]  # oldest first
    kept: int  # weeks that had a snapshot already
    before_history: int  # weeks before the pipeline's first stage change


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week of `moment`."""
    day = moment.astimezone(UTC).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def forecast_snapshot_backfill(
    *,
    actor: Actor,
    pipeline_key: str,
    weeks: int,
    trials: int = SNAPSHOT_TRIALS,
    seed: int | None = None,
    now: datetime | None = None,
) -> Backfill:
    """The snapshots the worker would have taken in the `weeks` ISO weeks before the current
    one, had it been running: each computed from the history as it stood at the start of its
    week (Monday 00:00 UTC; later changes ignored, the deals open then with the stage, value
    and close date they had then) and stored as that week's, marked as backfilled. A week that
    has a snapshot keeps it; weeks before the pipeline's first stage change are skipped (there
    was nothing to forecast). For an organisation whose past came in later (a stage-history
    import, the demo), so the accuracy of past months can be read at once."""
    if not actor.has_role(*SNAPSHOT_ROLES):
        raise PermissionDenied("Only admins and sales coordinators take forecast snapshots.")
    if (
        isinstance(weeks, bool)
        or not isinstance(weeks, int)
        or not 1 <= weeks <= MAX_BACKFILL_WEEKS
    ):
        problems = ProblemList()
        problems.add(("weeks",), f"'weeks' must be a whole number from 1 to {MAX_BACKFILL_WEEKS}.")
        problems.raise_if_any("The backfill cannot be run with these settings.")
    pipeline = _pipeline(actor, pipeline_key)
    now = now or timezone.now()
    this_week = week_start(now)
    moments = [this_week - timedelta(weeks=back) for back in range(weeks, 0, -1)]
    stored = {
        (year, week)
        for year, week in ForecastSnapshot.objects.filter(
            organisation=actor.organisation, pipeline_key=pipeline.key
        ).values_list("iso_year", "iso_week")
    }
    history = flow_history(actor.organisation)
    in_pipeline = np.isin(history.stage, history.pipeline_codes(pipeline.key))
    began = int(history.at[in_pipeline].min()) if in_pipeline.any() else None
    kept = before_history = 0
    wanted = []
    for moment in moments:
        if tuple(moment.isocalendar()[:2]) in stored:
            kept += 1
        elif began is None or epoch_seconds(moment) < began:
            before_history += 1
        else:
            wanted.append(moment)
    taken: list[ForecastSnapshot] = []
    if not wanted:
        return Backfill(taken=taken, kept=kept, before_history=before_history)
    # Read once for every week: the audit trail's changes of values and close dates since the
    # first of them.
    changes = term_changes_since(actor.organisation, wanted[0])
    backfilled_at = timezone.now()
    for moment in wanted:
        report = forecast_as_of(
            actor=actor,
            pipeline=pipeline,
            as_of=moment,
            history=history,
            changes=changes,
            trials=trials,
            seed=seed,
            horizon=SNAPSHOT_HORIZON,
        )
        snapshot, new = _store(actor, pipeline, moment, report, backfilled_at=backfilled_at)
        if new:
            taken.append(snapshot)
        else:
            kept += 1
    return Backfill(taken=taken, kept=kept, before_history=before_history)


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
