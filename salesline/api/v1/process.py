"""Notes, pipelines and custom fields."""

from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from salesline.core.errors import ProblemList
from salesline.core.ids import MAX_ID
from salesline.pipeline import selectors as pipeline_selectors
from salesline.pipeline import services as pipeline_services
from salesline.process import selectors as process_selectors
from salesline.process import services as process_services
from salesline.process.definition import spec_to_dict
from salesline.process.models import CustomField
from salesline.records import selectors
from salesline.records import services as record_services
from salesline.records.filters import MAX_LIMIT, MAX_OFFSET

from . import schemas
from .common import actor_of, expected_version, with_etag

notes = Router(tags=["notes"])
pipelines = Router(tags=["pipelines"])
custom_fields = Router(tags=["custom-fields"])


def _note(note) -> dict:
    return {
        "id": note.pk,
        "body": note.body,
        "kind": note.kind,
        "author": note.author.email if note.author_id else None,
        "company_id": note.company_id,
        "person_id": note.person_id,
        "lead_id": note.lead_id,
        "opportunity_id": note.opportunity_id,
        "created_at": note.created_at,
        "updated_at": note.updated_at,
        "version": note.version,
    }


# Ids beyond a 64-bit integer cannot exist; refusing them keeps SQLite from overflowing.
NoteTargetId = Annotated[int, Field(ge=1, le=MAX_ID)]


class NoteFilters(Schema):
    company_id: NoteTargetId | None = None
    person_id: NoteTargetId | None = None
    lead_id: NoteTargetId | None = None
    opportunity_id: NoteTargetId | None = None
    limit: int = 50
    offset: int = 0


def register_notes(api) -> None:
    @notes.get("", response=schemas.NoteList, operation_id="list_notes", summary="List notes")
    def list_notes(request: HttpRequest, filters: Query[NoteFilters]):
        target = {k: v for k, v in filters.dict().items() if k.endswith("_id") and v is not None}
        limit, offset = filters.limit, filters.offset
        # The bounds and messages of every other list (records.filters.parse_list_query).
        problems = ProblemList()
        for name, number, lower, upper in (
            ("limit", limit, 1, MAX_LIMIT),
            ("offset", offset, 0, MAX_OFFSET),
        ):
            if not lower <= number <= upper:
                problems.add(
                    ("query", name), f"'{name}' must be a whole number between {lower} and {upper}."
                )
        problems.raise_if_any("The list query is not valid.")
        items, count = selectors.note_list(
            actor=actor_of(request), target=target, limit=limit, offset=offset
        )
        return {
            "items": [_note(n) for n in items.select_related("author")],
            "count": count,
            "limit": limit,
            "offset": offset,
        }

    @notes.post(
        "",
        response={201: schemas.NoteOut},
        operation_id="create_note",
        summary="Add a note to a record",
    )
    def create_note(request: HttpRequest, payload: schemas.NoteIn):
        data = payload.model_dump()
        note = record_services.note_create(
            actor=actor_of(request), body=data.pop("body"), kind=data.pop("kind"), target=data
        )
        return with_etag(api.create_response(request, _note(note), status=201), note)

    @notes.get(
        "/{note_id}", response=schemas.NoteOut, operation_id="get_note", summary="Get a note"
    )
    def get_note(request: HttpRequest, note_id: int):
        note = selectors.note_get_for(actor=actor_of(request), note_id=note_id)
        return with_etag(api.create_response(request, _note(note), status=200), note)

    @notes.patch(
        "/{note_id}", response=schemas.NoteOut, operation_id="update_note", summary="Edit a note"
    )
    def update_note(request: HttpRequest, note_id: int, payload: schemas.NotePatch):
        note = record_services.note_update(
            actor=actor_of(request),
            note_id=note_id,
            body=payload.body,
            expected_version=expected_version(request, note_id),
        )
        return with_etag(api.create_response(request, _note(note), status=200), note)

    @notes.delete(
        "/{note_id}", response={204: None}, operation_id="delete_note", summary="Delete a note"
    )
    def delete_note(request: HttpRequest, note_id: int):
        record_services.note_delete(actor=actor_of(request), note_id=note_id)
        return Status(204, None)

    @notes.post(
        "/{note_id}/restore",
        response=schemas.NoteOut,
        operation_id="restore_note",
        summary="Restore a deleted note",
    )
    def restore_note(request: HttpRequest, note_id: int):
        note = record_services.note_restore(actor=actor_of(request), note_id=note_id)
        return with_etag(api.create_response(request, _note(note), status=200), note)


def _pipeline(actor, pipeline, spec=None) -> dict:
    spec = spec or process_selectors.definition_for(actor.organisation)
    stages = next(p for p in spec_to_dict(spec)["pipelines"] if p["key"] == pipeline.key)["stages"]
    return {"id": pipeline.pk, "key": pipeline.key, "name": pipeline.name, "stages": stages}


def register_pipelines(api) -> None:
    @pipelines.get(
        "",
        response=schemas.PipelineList,
        operation_id="list_pipelines",
        summary="List pipelines with their stages and gates",
    )
    def list_pipelines(request: HttpRequest):
        actor = actor_of(request)
        # One definition for the whole list: reading it per pipeline was a query per row.
        spec = process_selectors.definition_for(actor.organisation)
        items = [_pipeline(actor, p, spec) for p in pipeline_selectors.pipeline_list(actor=actor)]
        return {"items": items, "count": len(items)}

    @pipelines.post(
        "",
        response={201: schemas.PipelineOut},
        operation_id="create_pipeline",
        summary="Add a pipeline to the process definition (admin)",
    )
    def create_pipeline(request: HttpRequest, payload: schemas.PipelineIn):
        actor = actor_of(request)
        pipeline = pipeline_services.pipeline_create(actor=actor, data=payload.model_dump())
        return Status(201, _pipeline(actor, pipeline))

    @pipelines.get(
        "/{pipeline_id}",
        response=schemas.PipelineOut,
        operation_id="get_pipeline",
        summary="Get a pipeline",
    )
    def get_pipeline(request: HttpRequest, pipeline_id: int):
        actor = actor_of(request)
        return _pipeline(
            actor, pipeline_selectors.pipeline_get_for(actor=actor, pipeline_id=pipeline_id)
        )

    @pipelines.patch(
        "/{pipeline_id}",
        response=schemas.PipelineOut,
        operation_id="update_pipeline",
        summary="Rename or restage a pipeline (admin)",
    )
    def update_pipeline(request: HttpRequest, pipeline_id: int, payload: schemas.PipelinePatch):
        actor = actor_of(request)
        pipeline = pipeline_services.pipeline_update(
            actor=actor, pipeline_id=pipeline_id, data=payload.model_dump(exclude_unset=True)
        )
        return _pipeline(actor, pipeline)

    @pipelines.delete(
        "/{pipeline_id}",
        response={204: None},
        operation_id="delete_pipeline",
        summary="Remove a pipeline that holds no opportunities (admin)",
    )
    def delete_pipeline(request: HttpRequest, pipeline_id: int):
        pipeline_services.pipeline_delete(actor=actor_of(request), pipeline_id=pipeline_id)
        return Status(204, None)


def _custom_field(field: CustomField) -> dict:
    return {
        "id": field.pk,
        "record": field.record,
        "key": field.key,
        "label": field.label,
        "type": field.type,
        "choices": list(field.choices),
        "help": field.help,
    }


def register_custom_fields(api) -> None:
    @custom_fields.get(
        "",
        response=schemas.CustomFieldList,
        operation_id="list_custom_fields",
        summary="List custom fields",
    )
    def list_custom_fields(request: HttpRequest):
        items = [
            _custom_field(f) for f in process_selectors.custom_field_list(actor=actor_of(request))
        ]
        return {"items": items, "count": len(items)}

    @custom_fields.post(
        "",
        response={201: schemas.CustomFieldOut},
        operation_id="create_custom_field",
        summary="Add a custom field (admin)",
    )
    def create_custom_field(request: HttpRequest, payload: schemas.CustomFieldIn):
        field = process_services.custom_field_create(
            actor=actor_of(request), data=payload.model_dump()
        )
        return Status(201, _custom_field(field))

    @custom_fields.get(
        "/{field_id}",
        response=schemas.CustomFieldOut,
        operation_id="get_custom_field",
        summary="Get a custom field",
    )
    def get_custom_field(request: HttpRequest, field_id: int):
        return _custom_field(
            process_selectors.custom_field_get_for(actor=actor_of(request), field_id=field_id)
        )

    @custom_fields.patch(
        "/{field_id}",
        response=schemas.CustomFieldOut,
        operation_id="update_custom_field",
        summary="Edit a custom field (admin)",
    )
    def update_custom_field(request: HttpRequest, field_id: int, payload: schemas.CustomFieldPatch):
        field = process_services.custom_field_update(
            actor=actor_of(request),
            field_id=field_id,
            data=payload.model_dump(exclude_unset=True),
        )
        return _custom_field(field)

    @custom_fields.delete(
        "/{field_id}",
        response={204: None},
        operation_id="delete_custom_field",
        summary="Remove a custom field no record uses (admin)",
    )
    def delete_custom_field(request: HttpRequest, field_id: int):
        process_services.custom_field_delete(actor=actor_of(request), field_id=field_id)
        return Status(204, None)
