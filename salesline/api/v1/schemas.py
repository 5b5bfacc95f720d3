"""Request and response schemas, generated from the field catalogue so the API, services and
process definitions agree on every field name."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic_core import PydanticCustomError

from salesline.core.text import first_unstorable
from salesline.records.fields import KINDS


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_unstorable(cls, value: Any) -> Any:
        # No database stores NUL or a lone surrogate ("\ud800"): refuse them anywhere in the
        # body, before each field's own rule (core.text, applied by the services) runs.
        reason = first_unstorable(value)
        if reason:
            kind = "nul_character" if "NUL" in reason else "lone_surrogate"
            raise PydanticCustomError(kind, "Text " + reason + ".")
        return value


PY_TYPES: dict[str, Any] = {
    "text": str,
    "longtext": str,
    "choice": str,
    "decimal": Decimal,
    "number": int,
    "date": dt.date,
    "reference": int,
    "coordinate": float,
}
ROUTING_FIELDS: dict[str, dict[str, Any]] = {
    "opportunity": {
        "pipeline": (str | None, Field(None, description="Pipeline key (default: the first).")),
        "stage": (str | None, Field(None, description="Stage key (default: the first open).")),
        "checks": (list[str] | None, Field(None, description="Checklist item keys ticked.")),
        "reason": (str | None, Field(None, description="Reason, when closing won or lost.")),
    }
}
READ_ONLY_FIELDS: dict[str, dict[str, Any]] = {
    "company": {},
    "person": {},
    "lead": {
        "converted_at": (dt.datetime | None, None),
        "converted_person_id": (int | None, None),
        "converted_company_id": (int | None, None),
        "converted_opportunity_id": (int | None, None),
    },
    "opportunity": {
        "pipeline": (str, ...),
        "stage": (str, ...),
        "status": (str, ...),
        "stage_probability": (int, ...),
        "stage_entered_at": (dt.datetime, ...),
        "closed_at": (dt.datetime | None, None),
        "close_reason": (str, ""),
        # The quality rating (analytics): null until the worker has rated a new opportunity.
        "quality_score": (int | None, Field(None, description="Quality rating, 0..100.")),
        "quality_band": (str | None, Field(None, description="good, fair or poor.")),
        "quality_reasons": (
            list[dict[str, Any]] | None,
            Field(None, description="Each quality spec: key, met, text (what to do if unmet)."),
        ),
    },
}


def _writable(kind: str) -> dict[str, Any]:
    fields = {
        name: (PY_TYPES[f.type] | None, Field(None, title=f.label))
        for name, f in KINDS[kind].fields.items()
    }
    fields["custom_fields"] = (dict[str, Any] | None, Field(None, title="Custom fields"))
    fields.update(ROUTING_FIELDS.get(kind, {}))
    return fields


def _title(kind: str) -> str:
    return kind.capitalize()


IN_SCHEMAS: dict[str, type[BaseModel]] = {
    kind: create_model(f"{_title(kind)}In", __base__=Strict, **_writable(kind)) for kind in KINDS
}
OUT_SCHEMAS: dict[str, type[BaseModel]] = {
    kind: create_model(
        f"{_title(kind)}Out",
        id=(int, ...),
        **{
            name: (PY_TYPES[f.type] | None, None) if f.type != "text" else (str, "")
            for name, f in KINDS[kind].fields.items()
        },
        custom_fields=(dict[str, Any], {}),
        created_at=(dt.datetime, ...),
        updated_at=(dt.datetime, ...),
        version=(int, ...),
        deleted_at=(dt.datetime | None, None),
        **READ_ONLY_FIELDS[kind],
    )
    for kind in KINDS
}


def list_schema(kind: str) -> type[BaseModel]:
    return create_model(
        f"{_title(kind)}List",
        items=(list[OUT_SCHEMAS[kind]], ...),
        count=(int, ...),
        count_capped=(bool, Field(False, description="True when `count` stopped at the cap.")),
        next_cursor=(str | None, None),
        limit=(int, ...),
        offset=(int, ...),
    )


COMMON_COLUMNS = ("custom_fields", "created_at", "updated_at", "version", "deleted_at")
# Columns beyond the writable fields, by kind: {API name: ORM path}.
EXTRA_COLUMNS: dict[str, dict[str, str]] = {
    "company": {},
    "person": {},
    "lead": {
        name: name
        for name in (
            "converted_at",
            "converted_person_id",
            "converted_company_id",
            "converted_opportunity_id",
        )
    },
    "opportunity": {
        "pipeline": "pipeline__key",
        "stage": "stage__key",
        "status": "status",
        "stage_probability": "stage__probability",
        "stage_entered_at": "stage_entered_at",
        "closed_at": "closed_at",
        "close_reason": "close_reason",
        "quality_score": "quality_rating__score",
        "quality_band": "quality_rating__band",
        "quality_reasons": "quality_rating__reasons",
    },
}


def output_columns(kind: str) -> dict[str, str]:
    """{API name: ORM path} of everything a record's representation shows."""
    columns = {"id": "id"}
    columns.update({name: f.attr for name, f in KINDS[kind].fields.items()})
    columns.update({name: name for name in COMMON_COLUMNS})
    columns.update(EXTRA_COLUMNS[kind])
    return columns


def serialise_row(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """A record's representation from a `.values()` row (lists fetch rows, not models)."""
    return {name: row[path] for name, path in output_columns(kind).items()}


def serialise(kind: str, obj) -> dict[str, Any]:
    """A record's representation from a model instance (single-record routes)."""
    row = {}
    for path in output_columns(kind).values():
        value = obj
        for part in path.split("__"):
            # A relation another app keeps may not exist yet (an opportunity not yet rated).
            value = getattr(value, part, None)
            if value is None:
                break
        row[path] = value
    return serialise_row(kind, row)


class MoveIn(Strict):
    stage: str
    checks: list[str] = []
    reason: str = ""
    fields: dict[str, Any] | None = Field(
        None, description="Field edits applied together with the move (e.g. the missing value)."
    )


class StageChangeOut(BaseModel):
    id: int
    from_stage: str | None
    to_stage: str
    actor: str
    at: dt.datetime
    reason: str


class StageChangeList(BaseModel):
    items: list[StageChangeOut]
    count: int


class ConvertIn(Strict):
    person: dict[str, Any] | None = None
    company: dict[str, Any] | None = None
    pipeline: str | None = None
    opportunity: dict[str, Any] | None = None
    # The choices the web app's conversion form offers: link this person or company instead of
    # any match, or (false) make a new one even though a match exists.
    person_id: int | None = None
    company_id: int | None = None
    link_person: bool = True
    link_company: bool = True


class ConvertOut(BaseModel):
    person_id: int
    company_id: int
    opportunity_id: int | None


class MatchesOut(BaseModel):
    person_id: int | None
    person_reason: str
    company_id: int | None
    company_reason: str


class NoteIn(Strict):
    body: str
    kind: str = Field(default="note", description="note, call, meeting or email")
    company_id: int | None = None
    person_id: int | None = None
    lead_id: int | None = None
    opportunity_id: int | None = None


class NotePatch(Strict):
    body: str


class NoteOut(BaseModel):
    id: int
    body: str
    kind: str
    author: str | None
    company_id: int | None
    person_id: int | None
    lead_id: int | None
    opportunity_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class NoteList(BaseModel):
    items: list[NoteOut]
    count: int
    limit: int
    offset: int


class ChecklistItemSchema(Strict):
    key: str
    label: str


class ConditionSchema(Strict):
    field: str
    op: str
    value: Any = None
    message: str | None = None


class NamePatternSchema(Strict):
    regex: str
    message: str


class GateSchema(Strict):
    require: list[str] = []
    conditions: list[ConditionSchema] = []
    name_pattern: NamePatternSchema | None = None
    checklist: list[ChecklistItemSchema] = []
    reason_required: bool = False


class StageSchema(Strict):
    key: str
    name: str
    kind: str = "open"
    probability: int = 0
    gate: GateSchema = GateSchema()
    stalled_after_days: int | None = None


class PipelineIn(Strict):
    key: str
    name: str
    stages: list[StageSchema]


class PipelinePatch(Strict):
    name: str | None = None
    stages: list[StageSchema] | None = None


class PipelineOut(BaseModel):
    id: int
    key: str
    name: str
    stages: list[StageSchema]


class PipelineList(BaseModel):
    items: list[PipelineOut]
    count: int


class CustomFieldIn(Strict):
    record: str
    key: str
    label: str
    type: str
    choices: list[str] = []
    help: str = ""


class CustomFieldPatch(Strict):
    label: str | None = None
    choices: list[str] | None = None
    help: str | None = None


class CustomFieldOut(BaseModel):
    id: int
    record: str
    key: str
    label: str
    type: str
    choices: list[str]
    help: str


class CustomFieldList(BaseModel):
    items: list[CustomFieldOut]
    count: int
