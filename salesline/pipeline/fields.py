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
    definition_fields={
        "pipeline": FieldInfo(label="Pipeline", type="choice"),
        "stage": FieldInfo(label="Stage", type="choice"),
    },
)
