"""Stage changes as permanent flow history: both sides as they were, kinds included."""

import importlib

from django.apps import apps

from salesline.pipeline.models import StageChange
from salesline.pipeline.services import opportunity_create, opportunity_move

backfill = importlib.import_module(
    "salesline.pipeline.migrations.0007_permanent_flow_history"
).backfill


def sides(opportunity) -> list[tuple]:
    return list(
        StageChange.objects.filter(opportunity=opportunity)
        .order_by("at", "id")
        .values_list(
            "from_pipeline_key",
            "from_stage",
            "from_stage_kind",
            "to_pipeline_key",
            "to_stage",
            "to_stage_kind",
            "opportunity_ref",
        )
    )


def test_each_move_keeps_pipeline_stage_and_kind_on_both_sides(actor):
    opportunity = opportunity_create(actor=actor, data={"name": "Flow 1"})
    opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost", reason="No budget")
    opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="identify")

    bd, ref = "business-development", opportunity.pk
    assert sides(opportunity) == [
        ("", "", "", bd, "identify", "open", ref),
        (bd, "identify", "open", bd, "lost", "lost", ref),
        (bd, "lost", "lost", bd, "identify", "open", ref),
    ]
    last = StageChange.objects.filter(opportunity=opportunity).order_by("id").last()
    assert last.from_pipeline_id == last.pipeline_id == opportunity.pipeline_id


def test_the_migration_fills_the_new_columns_of_existing_rows(actor):
    opportunity = opportunity_create(actor=actor, data={"name": "Flow 2"})
    opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost", reason="No budget")
    expected = sides(opportunity)
    # Rows as an older version wrote them: only keys of the stages, the target pipeline's link.
    StageChange.objects.update(
        opportunity_ref=0,
        to_pipeline_key="",
        to_stage_kind="",
        from_pipeline=None,
        from_pipeline_key="",
        from_stage_kind="",
    )

    backfill(apps, None)

    assert sides(opportunity) == expected
