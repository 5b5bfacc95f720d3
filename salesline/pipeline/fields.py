"""The opportunity as a record kind (registered with the catalogue in PipelineConfig.ready())."""

from __future__ import annotations

from salesline.process.definition import FieldInfo
from salesline.process.kinds import KindDef

OPPORTUNITY = KindDef(
    "opportunity",
    "pipeline.Opportunity",
    "opportunities",
    (
        "name",
        "company_id",
        "primary_contact_id",
        "value",
        "currency",
        "expected_close_date",
        "data_volume",
        "sector",
        "win_probability",
        "vertical",
        "source",
        "campaign_id",
        "status_report",
        "use_case",
        "business_case",
        "owner_id",
    ),
    labels={
        "value": "Estimated value",
        "win_probability": "Win probability",
        "business_case": "Business case",
        "use_case": "Use-case",
        "data_volume": "Data volume",
    },
    select_related=("pipeline", "stage"),
    orderings=(
        "name",
        "created_at",
        "updated_at",
        "id",
        "value",
        "expected_close_date",
        "stage_entered_at",
    ),
    cursor_orderings=("name", "created_at", "updated_at", "id", "stage_entered_at"),
    extra_filters={"pipeline": "pipeline__key", "stage": "stage__key", "status": "status"},
    extra_columns={"pipeline": "pipeline__key", "stage": "stage__key", "status": "status"},
    # Resolved to ids first (a lookup of a few rows): with `stage_id IN (…)` the list's own
    # (organisation, stage, created_at) index serves the page, where a join made PostgreSQL
    # walk the newest rows of every stage.
    key_lookups={
        "stage__key": ("stage", "pipeline__organisation"),
        "pipeline__key": ("pipeline", "organisation"),
    },
    definition_fields={
        "pipeline": FieldInfo(label="Pipeline", type="choice"),
        "stage": FieldInfo(label="Stage", type="choice"),
    },
)
