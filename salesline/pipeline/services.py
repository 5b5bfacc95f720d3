"""Writes of process definitions and opportunities: loading, creating, editing and moving."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from salesline.accounts.models import Organisation
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, Problem, ProblemList, ValidationFailed
from salesline.records import services as record_services
from salesline.records.fields import KINDS
from salesline.records.models import CustomField

from . import selectors
from .definitions import (
    DefinitionError,
    FieldInfo,
    ProcessDefinitionSpec,
    dump_definition,
    parse_definition,
    spec_to_dict,
    template_names,
    template_text,
)
from .gates import MoveFacts, UnknownStage, evaluate_move
from .models import ChecklistTick, Opportunity, Pipeline, ProcessDefinition, Stage, StageChange

OPPORTUNITY = KINDS["opportunity"]


def builtin_fields() -> dict[str, dict[str, FieldInfo]]:
    """The built-in fields a process definition may name, per record kind."""
    out = {
        key: {name: FieldInfo(label=f.label, type=f.type) for name, f in kind.fields.items()}
        for key, kind in KINDS.items()
    }
    out["opportunity"]["pipeline"] = FieldInfo(label="Pipeline", type="choice")
    out["opportunity"]["stage"] = FieldInfo(label="Stage", type="choice")
    return out


# ---------------------------------------------------------------- process definitions


def definition_source(*, name_or_path: str) -> str:
    """The YAML text of a built-in template name, or of a file."""
    if name_or_path in template_names():
        return template_text(name_or_path)
    with open(name_or_path, encoding="utf-8") as handle:
        return handle.read()


def process_parse(text: str) -> ProcessDefinitionSpec:
    try:
        return parse_definition(text, builtin_fields=builtin_fields())
    except DefinitionError as exc:
        raise ValidationFailed(
            "The process definition is not valid.",
            [Problem(loc=("definition", p.path), msg=str(p)) for p in exc.problems],
        ) from None


def _data_loss(organisation: Organisation, spec: ProcessDefinitionSpec) -> list[Problem]:
    """Stages, pipelines and custom fields the new definition drops that still hold data."""
    problems: list[Problem] = []
    kept = {p.key: {s.key for s in p.stages} for p in spec.pipelines}
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
            problems.append(
                Problem(
                    loc=("definition", "pipelines", pipeline_key),
                    msg=f"Removing {what} '{key}' would orphan {count} "
                    f"{'opportunity' if count == 1 else 'opportunities'} in stage "
                    f"'{stage.key}': {names}{more}. Move or close them first.",
                    type="data_loss",
                )
            )
    declared = {(c.record, c.key) for c in spec.custom_fields}
    for field in CustomField.objects.filter(organisation=organisation):
        if (field.record, field.key) in declared:
            continue
        count = (
            KINDS[field.record]
            .model.objects.filter(organisation=organisation, custom_fields__has_key=field.key)
            .count()
        )
        if count:
            problems.append(
                Problem(
                    loc=("definition", "custom_fields", field.key),
                    msg=f"Removing custom field '{field.record}.{field.key}' would lose its value "
                    f"on {count} {'record' if count == 1 else 'records'}.",
                    type="data_loss",
                )
            )
    return problems


def process_check(*, actor: Actor, text: str) -> ProcessDefinitionSpec:
    """Validate a definition against the organisation's data without loading it."""
    spec = process_parse(text)
    problems = _data_loss(actor.organisation, spec)
    if problems:
        raise Conflict("The process definition would lose data.", problems)
    return spec


def process_load(*, actor: Actor, text: str) -> ProcessDefinition:
    """Validate and put a new version of the definition in force; nothing changes on failure.
    Only an admin (or the command line's system actor) may."""
    _require_admin(actor)
    spec = process_parse(text)
    with transaction.atomic():
        # Serialise loads per organisation: version numbers and stage rows stay consistent.
        Organisation.objects.select_for_update().filter(pk=actor.organisation.pk).first()
        problems = _data_loss(actor.organisation, spec)
        if problems:
            raise Conflict("The process definition would lose data.", problems)
        _materialise(actor.organisation, spec)
        previous = selectors.definition_row_for(actor.organisation)
        version = (previous.version if previous else 0) + 1
        row = ProcessDefinition.objects.create(
            organisation=actor.organisation,
            version=version,
            source=text,
            spec=spec_to_dict(spec),
            loaded_by=actor.label,
        )
        audit.record(
            actor=actor,
            action="process.load",
            obj=row,
            object_type="process_definition",
            changes={"version": [previous.version if previous else None, version]},
        )
    return row


def process_apply(*, actor: Actor, spec: ProcessDefinitionSpec) -> ProcessDefinition:
    """Put an edited definition in force (the pipelines and custom-fields API edit the spec)."""
    return process_load(actor=actor, text=dump_definition(spec))


def _materialise(organisation: Organisation, spec: ProcessDefinitionSpec) -> None:
    """Make pipeline, stage and custom-field rows match the definition (by key)."""
    pipelines = {p.key: p for p in Pipeline.objects.filter(organisation=organisation)}
    for position, pipeline_spec in enumerate(spec.pipelines):
        pipeline = pipelines.pop(pipeline_spec.key, None) or Pipeline(
            organisation=organisation, key=pipeline_spec.key
        )
        pipeline.name, pipeline.position = pipeline_spec.name, position
        pipeline.save()
        stages = {s.key: s for s in pipeline.stages.all()}
        for stage_position, stage_spec in enumerate(pipeline_spec.stages):
            stage = stages.pop(stage_spec.key, None) or Stage(pipeline=pipeline, key=stage_spec.key)
            stage.name, stage.kind = stage_spec.name, stage_spec.kind
            stage.probability, stage.position = stage_spec.probability, stage_position
            stage.save()
        for removed in stages.values():
            removed.delete()
    for removed in pipelines.values():
        removed.delete()
    fields = {(c.record, c.key): c for c in CustomField.objects.filter(organisation=organisation)}
    for position, field_spec in enumerate(spec.custom_fields):
        field = fields.pop((field_spec.record, field_spec.key), None) or CustomField(
            organisation=organisation, record=field_spec.record, key=field_spec.key
        )
        field.label, field.type = field_spec.label, field_spec.type
        field.choices, field.help = list(field_spec.choices), field_spec.help
        field.position = position
        field.save()
    for removed in fields.values():
        removed.delete()


# ---------------------------------------------------------------- opportunities


def _stage_facts(
    opportunity: Opportunity, spec: ProcessDefinitionSpec, ticked: frozenset[str], reason: str
) -> MoveFacts:
    fields: dict[str, Any] = {
        name: getattr(opportunity, field.attr) for name, field in OPPORTUNITY.fields.items()
    }
    fields.update(opportunity.custom_fields or {})
    return MoveFacts(
        fields=fields,
        ticked=ticked,
        reason=reason,
        labels=spec.labels("opportunity", builtin_fields()),
    )


def _resolve_target(
    actor: Actor,
    spec: ProcessDefinitionSpec,
    pipeline_key: Any,
    stage_key: Any,
    problems: ProblemList,
) -> tuple[Pipeline | None, Stage | None]:
    if not spec.pipelines:
        problems.add(("pipeline",), "This organisation has no pipeline: load a process definition.")
        return None, None
    if pipeline_key in (None, ""):
        pipeline_key = spec.pipelines[0].key
    try:
        pipeline_spec = spec.pipeline(pipeline_key)
    except KeyError:
        known = ", ".join(p.key for p in spec.pipelines)
        problems.add(("pipeline",), f"Unknown pipeline '{pipeline_key}' (known: {known}).")
        return None, None
    if stage_key in (None, ""):
        stage_key = next(s.key for s in pipeline_spec.stages if s.kind == "open")
    if stage_key not in {s.key for s in pipeline_spec.stages}:
        known = ", ".join(s.key for s in pipeline_spec.stages)
        problems.add(("stage",), f"Unknown stage '{stage_key}' in {pipeline_key} (known: {known}).")
        return None, None
    pipeline = Pipeline.objects.get(organisation=actor.organisation, key=pipeline_key)
    return pipeline, Stage.objects.get(pipeline=pipeline, key=stage_key)


def _check_keys(
    spec: ProcessDefinitionSpec, pipeline_key: str, checks: Sequence[str], problems: ProblemList
) -> dict[str, str]:
    """Checklist item key -> the stage whose gate holds it; unknown keys are problems."""
    owners = {
        item.key: stage.key
        for stage in spec.pipeline(pipeline_key).stages
        for item in stage.gate.checklist
    }
    for index, key in enumerate(checks):
        if key not in owners:
            problems.add(
                ("checks", index),
                f"'{key}' is not a checklist item of pipeline {pipeline_key}"
                + (f" (items: {', '.join(owners)})." if owners else "."),
            )
    return owners


def _transition(
    *,
    actor: Actor,
    opportunity: Opportunity,
    spec: ProcessDefinitionSpec,
    pipeline: Pipeline,
    stage: Stage,
    checks: Sequence[str],
    reason: str,
    is_new: bool,
    problems: ProblemList,
) -> bool:
    """Evaluate the gates a move crosses; on success set stage and status (caller saves).

    Returns whether the stage changed. Unmet criteria are added to `problems`, all of them.
    """
    owners = _check_keys(spec, pipeline.key, checks, problems)
    same_pipeline = not is_new and opportunity.pipeline_id == pipeline.pk
    current = opportunity.stage.key if same_pipeline else None
    if same_pipeline and opportunity.stage.kind != Stage.Kind.OPEN:
        current = None  # reopening a closed opportunity enters the stages again
    if same_pipeline and opportunity.stage_id == stage.pk:
        return False
    already = (
        set()
        if is_new
        else set(
            ChecklistTick.objects.filter(opportunity=opportunity).values_list("item", flat=True)
        )
    )
    ticked = frozenset(already | {key for key in checks if key in owners})
    facts = _stage_facts(opportunity, spec, ticked, reason or "")
    stages = spec.pipeline(pipeline.key).stages
    try:
        unmet = evaluate_move(stages, current, stage.key, facts)
    except UnknownStage as exc:  # the definition changed under an old row
        problems.add(("stage",), str(exc))
        return False
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
    opportunity.pipeline, opportunity.stage = pipeline, stage
    opportunity.stage_entered_at = timezone.now()
    if stage.kind == Stage.Kind.OPEN:
        opportunity.status = Opportunity.Status.OPEN
        opportunity.closed_at, opportunity.close_reason = None, ""
    else:
        opportunity.status = stage.kind
        opportunity.closed_at, opportunity.close_reason = timezone.now(), (reason or "").strip()
    return True


def _record_move(*, actor: Actor, opportunity: Opportunity, from_stage: str, reason: str) -> None:
    StageChange.objects.create(
        organisation=actor.organisation,
        opportunity=opportunity,
        pipeline=opportunity.pipeline,
        from_stage=from_stage,
        to_stage=opportunity.stage.key,
        actor=actor.user,
        actor_label=actor.label,
        reason=(reason or "").strip(),
    )


def _record_ticks(
    *, actor: Actor, opportunity: Opportunity, spec: ProcessDefinitionSpec, checks: Sequence[str]
) -> list[str]:
    owners = {
        item.key: stage.key
        for stage in spec.pipeline(opportunity.pipeline.key).stages
        for item in stage.gate.checklist
    }
    existing = set(
        ChecklistTick.objects.filter(opportunity=opportunity).values_list("item", flat=True)
    )
    new = [key for key in dict.fromkeys(checks) if key in owners and key not in existing]
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


def _split(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    routing_keys = {"pipeline", "stage", "checks", "reason"}
    fields = {k: v for k, v in data.items() if k not in routing_keys}
    routing = {k: v for k, v in data.items() if k in routing_keys}
    return fields, routing


def _checks_list(value: Any, problems: ProblemList) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        problems.add(("checks",), "Checks must be a list of checklist item keys.")
        return []
    return list(value)


def opportunity_create(*, actor: Actor, data: Mapping[str, Any]) -> Opportunity:
    """Create an opportunity in a pipeline stage (default: the first), passing every gate on
    the way there; fields, minimum fields and gates are all reported at once."""
    spec = selectors.definition_for(actor.organisation)
    fields, routing = _split(data)
    problems = ProblemList()
    opportunity = Opportunity(organisation=actor.organisation, owner=actor.user)
    changes = record_services.apply_changes(
        actor=actor, kind=OPPORTUNITY, obj=opportunity, data=fields, problems=problems
    )
    record_services.add_missing_minimum_fields(
        actor=actor, kind=OPPORTUNITY, obj=opportunity, problems=problems
    )
    checks = _checks_list(routing.get("checks"), problems)
    pipeline, stage = _resolve_target(
        actor, spec, routing.get("pipeline"), routing.get("stage"), problems
    )
    if pipeline is not None and stage is not None:
        _transition(
            actor=actor,
            opportunity=opportunity,
            spec=spec,
            pipeline=pipeline,
            stage=stage,
            checks=checks,
            reason=routing.get("reason") or "",
            is_new=True,
            problems=problems,
        )
    problems.raise_if_any("The opportunity was not saved.")
    with transaction.atomic():
        opportunity.save()
        _record_move(
            actor=actor, opportunity=opportunity, from_stage="", reason=routing.get("reason") or ""
        )
        ticks = _record_ticks(actor=actor, opportunity=opportunity, spec=spec, checks=checks)
        changes |= {"pipeline": [None, pipeline.key], "stage": [None, stage.key]}
        if ticks:
            changes["checks"] = [None, ticks]
        audit.record(
            actor=actor,
            action="create",
            obj=opportunity,
            changes=record_services.created(changes),
        )
    return opportunity


def opportunity_update(
    *,
    actor: Actor,
    opportunity_id: Any,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> Opportunity:
    """Edit fields and, when `stage` or `pipeline` is given, move — one atomic change.

    A move evaluates the gates of every stage entered, against the edited values.
    """
    spec = selectors.definition_for(actor.organisation)
    fields, routing = _split(data)
    with transaction.atomic():
        opportunity = record_services.lock_for_update(
            actor=actor, kind=OPPORTUNITY, record_id=opportunity_id
        )
        record_services.check_version(opportunity, expected_version)
        from_pipeline, from_stage = opportunity.pipeline, opportunity.stage
        problems = ProblemList()
        changes = record_services.apply_changes(
            actor=actor, kind=OPPORTUNITY, obj=opportunity, data=fields, problems=problems
        )
        record_services.add_missing_minimum_fields(
            actor=actor, kind=OPPORTUNITY, obj=opportunity, problems=problems
        )
        checks = _checks_list(routing.get("checks"), problems)
        reason = routing.get("reason") or ""
        moved = False
        wants_move = "stage" in routing or "pipeline" in routing
        if wants_move:
            pipeline_key = routing.get("pipeline") or from_pipeline.key
            stage_key = routing.get("stage")
            if "pipeline" in routing and pipeline_key != from_pipeline.key and not stage_key:
                stage_key = None  # first open stage of the new pipeline
            elif not stage_key:
                stage_key = from_stage.key
            pipeline, stage = _resolve_target(actor, spec, pipeline_key, stage_key, problems)
            if pipeline is not None and stage is not None:
                moved = _transition(
                    actor=actor,
                    opportunity=opportunity,
                    spec=spec,
                    pipeline=pipeline,
                    stage=stage,
                    checks=checks,
                    reason=reason,
                    is_new=False,
                    problems=problems,
                )
        elif checks:
            _check_keys(spec, from_pipeline.key, checks, problems)
        problems.raise_if_any("The opportunity was not changed.")
        ticks = _record_ticks(actor=actor, opportunity=opportunity, spec=spec, checks=checks)
        if moved:
            changes["stage"] = [from_stage.key, opportunity.stage.key]
            if opportunity.pipeline_id != from_pipeline.pk:
                changes["pipeline"] = [from_pipeline.key, opportunity.pipeline.key]
            _record_move(
                actor=actor, opportunity=opportunity, from_stage=from_stage.key, reason=reason
            )
        if ticks:
            changes["checks"] = [None, ticks]
        if changes:
            moved_fields = (
                ["pipeline", "stage", "stage_entered_at", "status", "closed_at", "close_reason"]
                if moved
                else []
            )
            field_changes = {
                k: v for k, v in changes.items() if k not in {"stage", "pipeline", "checks"}
            }
            record_services.save_changed(opportunity, field_changes, OPPORTUNITY, also=moved_fields)
            audit.record(
                actor=actor, action="move" if moved else "update", obj=opportunity, changes=changes
            )
    return opportunity


def opportunity_move(
    *,
    actor: Actor,
    opportunity_id: Any,
    stage: str,
    checks: Sequence[str] = (),
    reason: str = "",
    fields: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Opportunity:
    """Move to `stage` (ticking `checks`), evaluating every gate crossed; a failure changes
    nothing and lists every unmet criterion."""
    data = dict(fields or {})
    data.update(stage=stage, checks=list(checks), reason=reason)
    return opportunity_update(
        actor=actor, opportunity_id=opportunity_id, data=data, expected_version=expected_version
    )


# ------------------------------------------------- pipelines and custom fields, as definition edits


def _require_admin(actor: Actor) -> None:
    from salesline.accounts.models import Role
    from salesline.core.errors import PermissionDenied

    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied("Only an admin of the organisation can change its process.")


def _edit_definition(actor: Actor, edit) -> ProcessDefinition:
    """Apply `edit(dict_form)` to the definition in force and load the result (validated)."""
    from .definitions import spec_from_dict

    _require_admin(actor)
    document = spec_to_dict(selectors.definition_for(actor.organisation))
    edit(document)
    return process_apply(actor=actor, spec=spec_from_dict(document))


def pipeline_create(*, actor: Actor, data: Mapping[str, Any]) -> Pipeline:
    def add(document: dict) -> None:
        if any(p["key"] == data["key"] for p in document["pipelines"]):
            raise Conflict(f"A pipeline with key '{data['key']}' already exists.")
        document["pipelines"].append(dict(data))

    _edit_definition(actor, add)
    return Pipeline.objects.get(organisation=actor.organisation, key=data["key"])


def pipeline_update(*, actor: Actor, pipeline_id: int, data: Mapping[str, Any]) -> Pipeline:
    pipeline = selectors.pipeline_get_for(actor=actor, pipeline_id=pipeline_id)

    def change(document: dict) -> None:
        entry = next(p for p in document["pipelines"] if p["key"] == pipeline.key)
        entry.update({k: v for k, v in data.items() if v is not None})

    _edit_definition(actor, change)
    return selectors.pipeline_get_for(actor=actor, pipeline_id=pipeline_id)


def pipeline_delete(*, actor: Actor, pipeline_id: int) -> None:
    """Refused (409, listing them) while the pipeline holds opportunities."""
    pipeline = selectors.pipeline_get_for(actor=actor, pipeline_id=pipeline_id)

    def remove(document: dict) -> None:
        document["pipelines"] = [p for p in document["pipelines"] if p["key"] != pipeline.key]

    _edit_definition(actor, remove)


def custom_field_create(*, actor: Actor, data: Mapping[str, Any]) -> CustomField:
    def add(document: dict) -> None:
        if any(
            c["record"] == data["record"] and c["key"] == data["key"]
            for c in document["custom_fields"]
        ):
            raise Conflict(f"Custom field '{data['record']}.{data['key']}' already exists.")
        document["custom_fields"].append(dict(data))

    _edit_definition(actor, add)
    return CustomField.objects.get(
        organisation=actor.organisation, record=data["record"], key=data["key"]
    )


def custom_field_get_for(*, actor: Actor, field_id: int) -> CustomField:
    from salesline.core.errors import NotFound

    field = CustomField.objects.filter(organisation=actor.organisation, pk=field_id).first()
    if field is None:
        raise NotFound(f"No custom field with id {field_id}.")
    return field


def custom_field_update(*, actor: Actor, field_id: int, data: Mapping[str, Any]) -> CustomField:
    field = custom_field_get_for(actor=actor, field_id=field_id)

    def change(document: dict) -> None:
        entry = next(
            c
            for c in document["custom_fields"]
            if c["record"] == field.record and c["key"] == field.key
        )
        entry.update({k: v for k, v in data.items() if v is not None})

    _edit_definition(actor, change)
    return custom_field_get_for(actor=actor, field_id=field_id)


def custom_field_delete(*, actor: Actor, field_id: int) -> None:
    """Refused (409) while records hold a value for it."""
    field = custom_field_get_for(actor=actor, field_id=field_id)

    def remove(document: dict) -> None:
        document["custom_fields"] = [
            c
            for c in document["custom_fields"]
            if not (c["record"] == field.record and c["key"] == field.key)
        ]

    _edit_definition(actor, remove)
