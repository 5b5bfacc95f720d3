"""The one write of calibration: put a stage's observed win probability into the process
definition, through the definition's own edit service (validated, versioned, audited)."""

from __future__ import annotations

from django.db import transaction

from salesline.accounts.services import require_admin
from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import ProblemList
from salesline.pipeline.definition import PipelineSpec, pipelines_of
from salesline.pipeline.gates import StageSpec
from salesline.process.models import ProcessDefinition
from salesline.process.selectors import definition_for, definition_row_for
from salesline.process.services import process_edit


def calibration_check(
    *, actor: Actor, pipeline_key: str, stage_key: str, probability: object
) -> tuple[PipelineSpec, StageSpec]:
    """The pipeline and open stage a calibration would change, or ValidationFailed naming
    every bad field (pipeline, stage, probability 0..100). Pages confirm with it first."""
    problems = ProblemList()
    if isinstance(probability, bool) or not isinstance(probability, int):
        problems.add(("probability",), "Probability must be a whole number from 0 to 100.")
    elif not 0 <= probability <= 100:
        problems.add(("probability",), "Probability must be between 0 and 100.")
    pipelines = {p.key: p for p in pipelines_of(definition_for(actor.organisation))}
    pipeline = pipelines.get(pipeline_key)
    stage = None
    if pipeline is None:
        problems.add(
            ("pipeline",),
            f"Unknown pipeline '{pipeline_key}'. Pipelines: {', '.join(pipelines) or 'none'}.",
        )
    else:
        stage = next((s for s in pipeline.stages if s.key == stage_key), None)
        if stage is None:
            problems.add(
                ("stage",),
                f"Pipeline '{pipeline_key}' has no stage '{stage_key}'. Stages: "
                f"{', '.join(s.key for s in pipeline.stages)}.",
            )
        elif stage.kind != "open":
            problems.add(
                ("stage",),
                f"Stage '{stage_key}' is {stage.kind}: only an open stage's probability is "
                "calibrated.",
            )
    problems.raise_if_any("The calibration cannot be applied.")
    assert pipeline is not None and stage is not None  # noqa: S101
    return pipeline, stage


def calibration_apply(
    *, actor: Actor, pipeline_key: str, stage_key: str, probability: int
) -> ProcessDefinition:
    """Set the configured probability of an open stage (0..100); admins only. Loads a new
    version of the definition (its own `process.load` audit event) and records a
    `calibration.apply` event naming the stage and both probabilities, in one transaction.
    Setting the probability it already has changes nothing."""
    require_admin(actor, "change its process")
    _, stage = calibration_check(
        actor=actor, pipeline_key=pipeline_key, stage_key=stage_key, probability=probability
    )
    previous = stage.probability
    if previous == probability:
        current = definition_row_for(actor.organisation)
        assert current is not None  # noqa: S101 (a pipeline implies a loaded definition)
        return current

    def set_probability(document: dict) -> None:
        for pipeline_entry in document["pipelines"]:
            if pipeline_entry["key"] != pipeline_key:
                continue
            for stage_entry in pipeline_entry["stages"]:
                if stage_entry["key"] == stage_key:
                    stage_entry["probability"] = probability

    with transaction.atomic():
        row = process_edit(actor=actor, edit=set_probability)
        audit.record(
            actor=actor,
            action="calibration.apply",
            obj=row,
            object_type="process_definition",
            object_repr=f"{pipeline_key} / {stage_key}",
            changes={f"{pipeline_key}.{stage_key}.probability": [previous, probability]},
        )
    return row
