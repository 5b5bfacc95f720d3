# Stage changes become permanent flow history: both sides keep pipeline, stage and stage kind
# as they were, and a purged opportunity's moves stay (anonymised) for the metrics.

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F, OuterRef, Q, Subquery


def backfill(apps, schema_editor):
    StageChange = apps.get_model("pipeline", "StageChange")
    Stage = apps.get_model("pipeline", "Stage")
    Pipeline = apps.get_model("pipeline", "Pipeline")
    # Set-based updates: a million rows cost a few statements, not a million.
    StageChange.objects.update(opportunity_ref=F("opportunity_id"))
    StageChange.objects.filter(pipeline__isnull=False).update(
        to_pipeline_key=Subquery(
            Pipeline.objects.filter(pk=OuterRef("pipeline_id")).values("key")[:1]
        )
    )
    # The stage's kind today is the best knowledge of its kind then (kinds rarely change).
    StageChange.objects.filter(pipeline__isnull=False).update(
        to_stage_kind=Subquery(
            Stage.objects.filter(
                pipeline_id=OuterRef("pipeline_id"), key=OuterRef("to_stage")
            ).values("kind")[:1]
        )
    )
    StageChange.objects.filter(to_stage_kind__isnull=True).update(to_stage_kind="")
    # The side moved from is the previous move's side moved into.
    previous = (
        StageChange.objects.filter(
            organisation_id=OuterRef("organisation_id"), opportunity_ref=OuterRef("opportunity_ref")
        )
        .filter(Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), id__lt=OuterRef("id")))
        .order_by("-at", "-id")
    )
    moved = StageChange.objects.exclude(from_stage="")
    moved.update(from_pipeline_id=Subquery(previous.values("pipeline_id")[:1]))
    moved.update(from_pipeline_key=Subquery(previous.values("to_pipeline_key")[:1]))
    moved.update(from_stage_kind=Subquery(previous.values("to_stage_kind")[:1]))
    StageChange.objects.filter(from_pipeline_key__isnull=True).update(from_pipeline_key="")
    StageChange.objects.filter(from_stage_kind__isnull=True).update(from_stage_kind="")


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0006_definition_moves_to_process")]

    operations = [
        migrations.AlterField(
            model_name="stagechange",
            name="opportunity",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="stage_changes",
                to="pipeline.opportunity",
            ),
        ),
        migrations.AddField(
            model_name="stagechange",
            name="opportunity_ref",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="stagechange",
            name="to_pipeline_key",
            field=models.CharField(blank=True, max_length=60),
        ),
        migrations.AddField(
            model_name="stagechange",
            name="to_stage_kind",
            field=models.CharField(blank=True, max_length=10),
        ),
        migrations.AddField(
            model_name="stagechange",
            name="from_pipeline",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="pipeline.pipeline",
            ),
        ),
        migrations.AddField(
            model_name="stagechange",
            name="from_pipeline_key",
            field=models.CharField(blank=True, max_length=60),
        ),
        migrations.AddField(
            model_name="stagechange",
            name="from_stage_kind",
            field=models.CharField(blank=True, max_length=10),
        ),
        migrations.AddIndex(
            model_name="stagechange",
            index=models.Index(
                fields=["organisation", "opportunity_ref", "at"],
                name="stage_change_history",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
