"""Writes of opportunities and pipelines: creating, editing and moving opportunities through the
stages of their pipeline, and keeping pipeline and stage rows in step with the definition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from salesline.accounts.models import Organisation
from salesline.core import audit, events
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, Problem, ProblemList
from salesline.core.text import LONG_TEXT_MAX, text_problem
from salesline.process import services as process_services
from salesline.process.definition import ProcessDefinitionSpec
from salesline.process.definition.loader import line_for
from salesline.process.selectors import VersionKey, definition_in_force
from salesline.records import services as record_services

from . import selectors
from .definition import pipeline_of, pipelines_of
from .fields import OPPORTUNITY
from .gates import UnknownStage, evaluate_gate, stages_entered
from .models import ChecklistTick, Opportunity, Pipeline, Stage, StageChange

# ---------------------------------------------------------------- the definition's pipelines


def pipelines_check_data_loss(
    organisation: Organisation, spec: ProcessDefinitionSpec, lines: Mapping
) -> list[Problem]:
    """Stages and pipelines the new definition drops that still hold opportunities."""
    problems: list[Problem] = []
    kept = {p.key: {s.key for s in p.stages} for p in pipelines_of(spec)}
    position = {p.key: index for index, p in enumerate(pipelines_of(spec))}
    for stage in Stage.objects.filter(pipeline__organisation=organisation).select_related(
        "pipeline"
    ):
        pipeline_key = stage.pipeline.key
        if pipeline_key in kept and stage.key in kept[pipeline_key]:
            continue
        held = Opportunity.objects.filter(stage=stage).order_by("id")
        count = held.count()
        if count:
            names = ", ".join(f"#{o.pk} {o.name}" for o in held[:10])
            more = f" and {count - 10} more" if count > 10 else ""
            what = "pipeline" if pipeline_key not in kept else "stage"
            key = pipeline_key if what == "pipeline" else f"{pipeline_key}/{stage.key}"
            # A pipeline still in the file (that lost a stage) has a line; a removed one none.
            line = (
                line_for(("pipelines", position[pipeline_key]), lines)
                if pipeline_key in position
                else None
            )
            problems.append(
                Problem(
                    loc=("definition", "pipelines", pipeline_key),
                    msg=f"Removing {what} '{key}' would orphan {count} "
                    f"{'opportunity' if count == 1 else 'opportunities'} in stage "
                    f"'{stage.key}': {names}{more}. Move or close them first.",
                    type="data_loss",
                    line=line,
                    path=f"pipelines.{pipeline_key}",
                )
            )
    return problems


def pipelines_materialise(organisation: Organisation, spec: ProcessDefinitionSpec) -> None:
    """Make pipeline and stage rows match the definition (by key), writing only what changed."""
    pipelines = {p.key: p for p in Pipeline.objects.filter(organisation=organisation)}
    for position, pipeline_spec in enumerate(pipelines_of(spec)):
        pipeline = pipelines.pop(pipeline_spec.key, None)
        if pipeline is None:
            pipeline = Pipeline.objects.create(
                organisation=organisation,
                key=pipeline_spec.key,
                name=pipeline_spec.name,
                position=position,
            )
        elif (pipeline.name, pipeline.position) != (pipeline_spec.name, position):
            pipeline.name, pipeline.position = pipeline_spec.name, position
            pipeline.save(update_fields=["name", "position"])
        stages = {s.key: s for s in pipeline.stages.all()}
        for stage_position, stage_spec in enumerate(pipeline_spec.stages):
            values = {
                "name": stage_spec.name,
                "kind": stage_spec.kind,
                "probability": stage_spec.probability,
                "position": stage_position,
            }
            stage = stages.pop(stage_spec.key, None)
            if stage is None:
                Stage.objects.create(pipeline=pipeline, key=stage_spec.key, **values)
            elif any(getattr(stage, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(stage, name, value)
                stage.save(update_fields=list(values))
        for removed in stages.values():
            removed.delete()
    for removed in pipelines.values():
        removed.delete()


# ---------------------------------------------------------------- opportunities


def _resolve_target(
    actor: Actor,
    version: VersionKey | None,
    spec: ProcessDefinitionSpec,
    pipeline_key: Any,
    stage_key: Any,
    problems: ProblemList,
) -> Stage | None:
    """The target stage (its pipeline read with it), or None with the problem added."""
    pipelines = pipelines_of(spec)
    if not pipelines:
        problems.add(("pipeline",), "This organisation has no pipeline: load a process definition.")
        return None
    if pipeline_key in (None, ""):
        pipeline_key = pipelines[0].key
    try:
        pipeline_spec = pipeline_of(spec, pipeline_key)
    except KeyError:
        known = ", ".join(p.key for p in pipelines)
        problems.add(("pipeline",), f"Unknown pipeline '{pipeline_key}' (known: {known}).")
        return None
    if stage_key in (None, ""):
        stage_key = next(s.key for s in pipeline_spec.stages if s.kind == "open")
    if stage_key not in {s.key for s in pipeline_spec.stages}:
        known = ", ".join(s.key for s in pipeline_spec.stages)
        problems.add(("stage",), f"Unknown stage '{stage_key}' in {pipeline_key} (known: {known}).")
        return None
    return selectors.stage_for(
        actor=actor, version=version, pipeline_key=pipeline_key, stage_key=stage_key
    )


def _checklist_owners(spec: ProcessDefinitionSpec, pipeline_key: str) -> dict[str, str]:
    """Checklist item key -> the stage whose gate holds it."""
    return {
        item.key: stage.key
        for stage in pipeline_of(spec, pipeline_key).stages
        for item in stage.gate.checklist
    }


def _check_keys(
    owners: Mapping[str, str], pipeline_key: str, checks: Sequence[str], problems: ProblemList
) -> None:
    for index, key in enumerate(checks):
        if key not in owners:
            problems.add(
                ("checks", index),
                f"'{key}' is not a checklist item of pipeline {pipeline_key}"
                + (f" (items: {', '.join(owners)})." if owners else "."),
            )


def _transition(
    *,
    opportunity: Opportunity,
    spec: ProcessDefinitionSpec,
    stage: Stage,
    ticked: frozenset[str],
    reason: str,
    is_new: bool,
    problems: ProblemList,
) -> bool:
    """Evaluate the gates a move crosses; on success set stage and status (caller saves).

    Returns whether the stage changed. Unmet criteria are added to `problems`, all of them.
    """
    pipeline = stage.pipeline
    same_pipeline = not is_new and opportunity.pipeline_id == pipeline.pk
    current = opportunity.stage.key if same_pipeline else None
    if same_pipeline and opportunity.stage.kind != Stage.Kind.OPEN:
        current = None  # reopening a closed opportunity enters the stages again
    if same_pipeline and opportunity.stage_id == stage.pk:
        return False
    stages = pipeline_of(spec, pipeline.key).stages
    try:
        entered = stages_entered(stages, current, stage.key)
    except UnknownStage as exc:  # the definition changed under an old row
        problems.add(("stage",), str(exc))
        return False
    facts = selectors.stage_facts(opportunity, spec, ticked, reason or "", entered)
    unmet = [
        criterion for entered_stage in entered for criterion in evaluate_gate(entered_stage, facts)
    ]
    # A field whose sent value was refused already has its problem; "X is required" on top
    # of "X must be one of ..." would tell the user to fill in what they just filled in.
    refused = {p.loc for p in problems.problems}
    for criterion in unmet:
        loc: tuple[str | int, ...] = (criterion.field,) if criterion.field else ("stage",)
        if criterion.kind == "checklist":
            loc = ("checks", criterion.field)
        if loc in refused:
            continue
        problems.add(loc, criterion.message, type=f"gate.{criterion.kind}", stage=criterion.stage)
    if unmet:
        return False
    now = timezone.now()
    opportunity.pipeline, opportunity.stage = pipeline, stage
    opportunity.stage_entered_at = now
    if stage.kind == Stage.Kind.OPEN:
        opportunity.status = Opportunity.Status.OPEN
        opportunity.closed_at, opportunity.close_reason = None, ""
    else:
        opportunity.status = stage.kind
        opportunity.closed_at, opportunity.close_reason = now, (reason or "").strip()
    return True


MOVED_FIELDS = ("pipeline", "stage", "stage_entered_at", "status", "closed_at", "close_reason")


def _record_move(
    *, actor: Actor, opportunity: Opportunity, before: Stage | None, reason: str
) -> list[tuple[str, dict[str, Any]]]:
    """Write the stage-change row (permanent flow history: pipeline, stage and kind on both
    sides, as they were); return the domain events the move means, for the caller to emit with
    the rest of its change."""
    after = opportunity.stage
    change = StageChange.objects.create(
        organisation=actor.organisation,
        opportunity=opportunity,
        opportunity_ref=opportunity.pk,
        pipeline=opportunity.pipeline,
        to_pipeline_key=opportunity.pipeline.key,
        to_stage=after.key,
        to_stage_kind=after.kind,
        from_pipeline=before.pipeline if before is not None else None,
        from_pipeline_key=before.pipeline.key if before is not None else "",
        from_stage=before.key if before is not None else "",
        from_stage_kind=before.kind if before is not None else "",
        actor=actor.user,
        actor_label=actor.label,
        reason=(reason or "").strip(),
        at=opportunity.stage_entered_at,
    )
    payload = {
        "pipeline": after.pipeline.key,
        "stage": after.key,
        "stage_kind": after.kind,
        "from_pipeline": before.pipeline.key if before is not None else None,
        "from_stage": before.key if before is not None else None,
        "from_stage_kind": before.kind if before is not None else None,
        "stage_change_id": change.pk,
    }
    kinds = []
    if before is not None:
        kinds.append("stage_left")
    kinds.append("stage_entered")
    if after.kind == Stage.Kind.WON:
        kinds.append("opportunity_won")
    elif after.kind == Stage.Kind.LOST:
        kinds.append("opportunity_lost")
    return [(kind, payload) for kind in kinds]


def _record_ticks(
    *,
    actor: Actor,
    opportunity: Opportunity,
    owners: Mapping[str, str],
    existing: set[str],
    checks: Sequence[str],
) -> list[str]:
    new = [key for key in dict.fromkeys(checks) if key in owners and key not in existing]
    if new:
        ChecklistTick.objects.bulk_create(
            [
                ChecklistTick(
                    organisation=actor.organisation,
                    opportunity=opportunity,
                    item=key,
                    stage=owners[key],
                    actor=actor.user,
                    actor_label=actor.label,
                )
                for key in new
            ]
        )
    return new


ROUTING_KEYS = frozenset({"pipeline", "stage", "checks", "reason"})


def _split(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    fields = {k: v for k, v in data.items() if k not in ROUTING_KEYS}
    routing = {k: v for k, v in data.items() if k in ROUTING_KEYS}
    return fields, routing


def _checks_list(value: Any, problems: ProblemList) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        problems.add(("checks",), "Checks must be a list of checklist item keys.")
        return []
    return list(value)


def _checked_reason(value: Any, problems: ProblemList) -> str:
    """The reason for closing won or lost, under the one text rule (long text)."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        problems.add(("reason",), "Reason must be text.")
        return ""
    reason = text_problem(value.strip(), max_length=LONG_TEXT_MAX, multiline=True)
    if reason:
        problems.add(("reason",), f"Reason {reason}.")
        return ""
    return value


def opportunity_create(*, actor: Actor, data: Mapping[str, Any]) -> Opportunity:
    """Create an opportunity in a pipeline stage (default: the first), passing every gate on
    the way there; fields, minimum fields and gates are all reported at once."""
    version, spec = definition_in_force(actor.organisation)
    fields, routing = _split(data)
    problems = ProblemList()
    opportunity = Opportunity(organisation=actor.organisation, owner=actor.user)
    changes = record_services.apply_changes(
        actor=actor, kind=OPPORTUNITY, obj=opportunity, data=fields, problems=problems, spec=spec
    )
    record_services.add_missing_minimum_fields(
        actor=actor, kind=OPPORTUNITY, obj=opportunity, problems=problems, spec=spec
    )
    checks = _checks_list(routing.get("checks"), problems)
    reason = _checked_reason(routing.get("reason"), problems)
    stage = _resolve_target(
        actor, version, spec, routing.get("pipeline"), routing.get("stage"), problems
    )
    owners: dict[str, str] = {}
    if stage is not None:
        owners = _checklist_owners(spec, stage.pipeline.key)
        _check_keys(owners, stage.pipeline.key, checks, problems)
        _transition(
            opportunity=opportunity,
            spec=spec,
            stage=stage,
            ticked=frozenset(key for key in checks if key in owners),
            reason=reason,
            is_new=True,
            problems=problems,
        )
    problems.raise_if_any("The opportunity was not saved.")
    assert stage is not None  # noqa: S101 - no problem means a target was resolved
    with transaction.atomic():
        opportunity.save()
        happened = _record_move(actor=actor, opportunity=opportunity, before=None, reason=reason)
        ticks = _record_ticks(
            actor=actor, opportunity=opportunity, owners=owners, existing=set(), checks=checks
        )
        changes |= {"pipeline": [None, stage.pipeline.key], "stage": [None, stage.key]}
        if ticks:
            changes["checks"] = [None, ticks]
        audit.record(
            actor=actor,
            action="create",
            obj=opportunity,
            changes=record_services.created(changes),
        )
        created = ("opportunity_created", {"pipeline": stage.pipeline.key, "stage": stage.key})
        events.emit_many(actor=actor, obj=opportunity, happened=[created, *happened])
    return opportunity


def _lock(actor: Actor, opportunity_id: Any) -> Opportunity:
    opportunity = record_services.locked_row(
        Opportunity.objects.select_related("pipeline", "stage"),
        actor=actor,
        pk=opportunity_id,
        what="opportunity",
    )
    if opportunity.stage.pipeline_id == opportunity.pipeline_id:
        opportunity.stage.pipeline = opportunity.pipeline  # read once, not again per use
    return opportunity


def opportunity_move(
    *,
    actor: Actor,
    opportunity_id: Any,
    stage: str | None = None,
    pipeline: str | None = None,
    checks: Sequence[str] = (),
    reason: str = "",
    fields: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Opportunity:
    """Move to `stage` (of `pipeline`, default the current one; a new pipeline without a stage
    means its first open stage), ticking `checks` and editing `fields` in the same change. Every
    gate crossed is evaluated against the edited values; a failure changes nothing and lists
    every unmet criterion."""
    return _change(
        actor=actor,
        opportunity_id=opportunity_id,
        fields=fields or {},
        checks=checks,
        reason=reason,
        target=(pipeline, stage),
        expected_version=expected_version,
    )


def opportunity_update(
    *,
    actor: Actor,
    opportunity_id: Any,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> Opportunity:
    """Edit fields (API names) and, when `stage` or `pipeline` is given, move: one atomic change
    (`opportunity_move` with the fields)."""
    fields, routing = _split(data)
    wants_move = "stage" in routing or "pipeline" in routing
    return _change(
        actor=actor,
        opportunity_id=opportunity_id,
        fields=fields,
        checks=routing.get("checks"),
        reason=routing.get("reason") or "",
        target=(routing.get("pipeline"), routing.get("stage")) if wants_move else None,
        expected_version=expected_version,
    )


def _change(
    *,
    actor: Actor,
    opportunity_id: Any,
    fields: Mapping[str, Any],
    checks: Any,
    reason: str,
    target: tuple[str | None, str | None] | None,
    expected_version: int | None,
) -> Opportunity:
    version, spec = definition_in_force(actor.organisation)
    with transaction.atomic():
        opportunity = _lock(actor, opportunity_id)
        record_services.check_version(opportunity, expected_version)
        from_stage = opportunity.stage
        problems = ProblemList()
        changes = record_services.apply_changes(
            actor=actor,
            kind=OPPORTUNITY,
            obj=opportunity,
            data=fields,
            problems=problems,
            spec=spec,
        )
        record_services.add_missing_minimum_fields(
            actor=actor, kind=OPPORTUNITY, obj=opportunity, problems=problems, spec=spec
        )
        checks = _checks_list(checks, problems)
        reason = _checked_reason(reason, problems)
        moved = False
        happened: list[tuple[str, dict[str, Any]]] = []
        owners: dict[str, str] = {}
        existing: set[str] = set()
        pipeline_key = from_stage.pipeline.key
        if target is not None:
            wanted_pipeline, stage_key = target
            pipeline_key = wanted_pipeline or from_stage.pipeline.key
            if wanted_pipeline and pipeline_key != from_stage.pipeline.key and not stage_key:
                stage_key = None  # first open stage of the new pipeline
            elif not stage_key:
                stage_key = from_stage.key
            stage = _resolve_target(actor, version, spec, pipeline_key, stage_key, problems)
            if stage is not None:
                owners = _checklist_owners(spec, stage.pipeline.key)
                _check_keys(owners, stage.pipeline.key, checks, problems)
                existing = selectors.ticked_items(opportunity)
                moved = _transition(
                    opportunity=opportunity,
                    spec=spec,
                    stage=stage,
                    ticked=frozenset(existing | {key for key in checks if key in owners}),
                    reason=reason,
                    is_new=False,
                    problems=problems,
                )
        elif checks:
            owners = _owners_or_none(spec, pipeline_key)
            _check_keys(owners, pipeline_key, checks, problems)
            existing = selectors.ticked_items(opportunity)
        problems.raise_if_any("The opportunity was not changed.")
        ticks = _record_ticks(
            actor=actor,
            opportunity=opportunity,
            owners=_owners_or_none(spec, opportunity.pipeline.key),
            existing=existing,
            checks=checks,
        )
        if moved:
            changes["stage"] = [from_stage.key, opportunity.stage.key]
            if opportunity.pipeline_id != from_stage.pipeline_id:
                changes["pipeline"] = [from_stage.pipeline.key, opportunity.pipeline.key]
            happened += _record_move(
                actor=actor, opportunity=opportunity, before=from_stage, reason=reason
            )
        if ticks:
            changes["checks"] = [None, ticks]
        if changes:
            field_changes = {
                k: v for k, v in changes.items() if k not in {"stage", "pipeline", "checks"}
            }
            record_services.save_changed(
                opportunity, field_changes, OPPORTUNITY, also=MOVED_FIELDS if moved else ()
            )
            audit.record(
                actor=actor, action="move" if moved else "update", obj=opportunity, changes=changes
            )
            if field_changes or ticks:
                # Ticks alone are a change too (the quality rating counts the checklist).
                changed = [*field_changes, *(["checks"] if ticks else [])]
                happened.append(record_services.record_changed_event("updated", changed))
        if happened:
            events.emit_many(actor=actor, obj=opportunity, happened=happened)
    return opportunity


def _owners_or_none(spec: ProcessDefinitionSpec, pipeline_key: str) -> dict[str, str]:
    try:
        return _checklist_owners(spec, pipeline_key)
    except KeyError:  # the opportunity's pipeline left the definition
        return {}


# ------------------------------------------------- pipelines, as definition edits


def pipeline_create(*, actor: Actor, data: Mapping[str, Any]) -> Pipeline:
    def add(document: dict) -> None:
        if any(p["key"] == data["key"] for p in document["pipelines"]):
            raise Conflict(f"A pipeline with key '{data['key']}' already exists.")
        document["pipelines"].append(dict(data))

    process_services.process_edit(actor=actor, edit=add)
    return Pipeline.objects.get(organisation=actor.organisation, key=data["key"])


def pipeline_update(*, actor: Actor, pipeline_id: int, data: Mapping[str, Any]) -> Pipeline:
    pipeline = selectors.pipeline_get_for(actor=actor, pipeline_id=pipeline_id)

    def change(document: dict) -> None:
        entry = next(p for p in document["pipelines"] if p["key"] == pipeline.key)
        entry.update({k: v for k, v in data.items() if v is not None})

    process_services.process_edit(actor=actor, edit=change)
    return selectors.pipeline_get_for(actor=actor, pipeline_id=pipeline_id)


def pipeline_delete(*, actor: Actor, pipeline_id: int) -> None:
    """Refused (409, listing them) while the pipeline holds opportunities."""
    pipeline = selectors.pipeline_get_for(actor=actor, pipeline_id=pipeline_id)

    def remove(document: dict) -> None:
        document["pipelines"] = [p for p in document["pipelines"] if p["key"] != pipeline.key]

    process_services.process_edit(actor=actor, edit=remove)
