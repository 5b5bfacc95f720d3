"""The record resources — companies, people, leads, opportunities — one generic set of routes
per kind, plus the actions of leads (convert) and opportunities (move, history)."""

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from salesline.pipeline import conversion
from salesline.pipeline import selectors as pipeline_selectors
from salesline.pipeline import services as pipeline_services
from salesline.pipeline.any_record import any_record_create, any_record_update
from salesline.records import export, selectors
from salesline.records import services as record_services
from salesline.records.fields import KINDS
from salesline.records.filters import parse_list_query

from . import schemas
from .common import actor_of, expected_version, with_etag


def _respond(api, request: HttpRequest, kind: str, obj, status: int = 200) -> HttpResponse:
    return with_etag(api.create_response(request, schemas.serialise(kind, obj), status=status), obj)


def record_router(api, kind: str) -> Router:
    """GET list, POST create, GET/PATCH/DELETE one, POST restore — for one record kind."""
    kind_def = KINDS[kind]
    router = Router(tags=[kind_def.plural])
    In, Out = schemas.IN_SCHEMAS[kind], schemas.OUT_SCHEMAS[kind]
    columns = schemas.output_columns(kind)

    @router.get(
        "",
        response=schemas.list_schema(kind),
        operation_id=f"list_{kind_def.plural}",
        summary=f"List {kind_def.plural}",
    )
    def list_records(request: HttpRequest):
        """Filters: any field by name (`?source=Expo`), `field__gte`/`field__lte` on numbers and
        dates, custom fields as `cf_<key>`; `q` searches by name prefix (or e-mail prefix when
        it contains '@'); `ordering` (e.g. `-created_at`); `limit`/`offset` or `cursor` (keyset,
        fast at any depth). `count` stops at 1,000 and `count_capped` says so."""
        actor = actor_of(request)
        query = parse_list_query(
            kind_def, request.GET, lambda: record_services.custom_field_defs(actor, kind)
        )
        page = selectors.record_list(
            actor=actor, kind=kind, query=query, columns=list(columns.values())
        )
        body = {
            "items": [schemas.serialise_row(kind, row) for row in page.items],
            "count": page.count,
            "count_capped": page.count_capped,
            "next_cursor": page.next_cursor,
            "limit": query.limit,
            "offset": query.offset,
        }
        # Built from the same serialiser as every response; re-validating 50 rows through the
        # schema would cost more than the query (the schema still documents the shape).
        return api.create_response(request, body, status=200)

    @router.get(
        "/export",
        operation_id=f"export_{kind_def.plural}",
        summary=f"Export {kind_def.plural} as CSV or XLSX",
        openapi_extra=export_openapi(),
    )
    def export_records(request: HttpRequest):
        """The list with its filters — every page, in the list's order — as a file: `format=csv`
        (default; UTF-8 with a byte-order mark) or `format=xlsx`. Filters, `q` and `ordering`
        are the list's; a bad one answers 422 as the list does."""
        actor = actor_of(request)
        fmt, query, filters = export.parse_export_query(kind, request.GET, actor, with_format=True)
        result = export.records_export(
            actor=actor, kind=kind, query=query, format=fmt, filters=filters
        )
        return export.export_response(result)

    @router.post("", response={201: Out}, operation_id=f"create_{kind}", summary=f"Create a {kind}")
    def create_record(request: HttpRequest, payload: In):
        obj = any_record_create(
            actor=actor_of(request), kind=kind, data=payload.model_dump(exclude_unset=True)
        )
        return _respond(api, request, kind, obj, status=201)

    @router.get("/{record_id}", response=Out, operation_id=f"get_{kind}", summary=f"Get a {kind}")
    def get_record(request: HttpRequest, record_id: int):
        obj = selectors.record_get_for(actor=actor_of(request), kind=kind, record_id=record_id)
        return _respond(api, request, kind, obj)

    @router.patch(
        "/{record_id}", response=Out, operation_id=f"update_{kind}", summary=f"Update a {kind}"
    )
    def update_record(request: HttpRequest, record_id: int, payload: In):
        """Send `If-Match` with the ETag of your copy: a stale one answers 412 and changes
        nothing."""
        version = expected_version(request, record_id)
        data = payload.model_dump(exclude_unset=True)
        obj = any_record_update(
            actor=actor_of(request), kind=kind, record_id=record_id, data=data, version=version
        )
        return _respond(api, request, kind, obj)

    @router.delete(
        "/{record_id}",
        response={204: None},
        operation_id=f"delete_{kind}",
        summary=f"Delete a {kind} (restorable for 30 days)",
    )
    def delete_record(request: HttpRequest, record_id: int):
        record_services.record_delete(actor=actor_of(request), kind=kind, record_id=record_id)
        return Status(204, None)

    @router.post(
        "/{record_id}/restore",
        response=Out,
        operation_id=f"restore_{kind}",
        summary=f"Restore a deleted {kind}",
    )
    def restore_record(request: HttpRequest, record_id: int):
        obj = record_services.record_restore(
            actor=actor_of(request), kind=kind, record_id=record_id
        )
        if kind == "opportunity":
            obj = selectors.record_get_for(actor=actor_of(request), kind=kind, record_id=obj.pk)
        return _respond(api, request, kind, obj)

    if kind == "opportunity":
        _opportunity_actions(api, router)
    if kind == "lead":
        _lead_actions(router)
    return router


def export_openapi() -> dict:
    """The export's `format` parameter and file responses, for the OpenAPI document (the filters
    are the list's, documented there)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "parameters": [
            {
                "in": "query",
                "name": "format",
                "required": False,
                "schema": {"type": "string", "enum": list(export.FORMATS), "default": "csv"},
                "description": "csv (default) or xlsx",
            }
        ],
        "responses": {
            200: {
                "description": "The file, as an attachment",
                "content": {ctype.split(";")[0]: binary for ctype in export.FORMATS.values()},
            }
        },
    }


def _opportunity_actions(api, router: Router) -> None:
    @router.post(
        "/{record_id}/move",
        response=schemas.OUT_SCHEMAS["opportunity"],
        operation_id="move_opportunity",
        summary="Move an opportunity to a stage",
    )
    def move(request: HttpRequest, record_id: int, payload: schemas.MoveIn):
        """Evaluates the gate of the target stage and of every stage skipped over. A failed move
        changes nothing and answers 422 listing **all** unmet criteria, each with its `stage`."""
        actor = actor_of(request)
        obj = pipeline_services.opportunity_move(
            actor=actor,
            opportunity_id=record_id,
            stage=payload.stage,
            checks=payload.checks,
            reason=payload.reason,
            fields=payload.fields,
            expected_version=expected_version(request, record_id),
        )
        return _respond(api, request, "opportunity", obj)

    @router.get(
        "/{record_id}/history",
        response=schemas.StageChangeList,
        operation_id="opportunity_history",
        summary="Stage changes of an opportunity",
    )
    def history(request: HttpRequest, record_id: int):
        """Every stage change, oldest first, in the list shape of every other list."""
        changes = pipeline_selectors.opportunity_history(
            actor=actor_of(request), opportunity_id=record_id
        )
        items = [
            {
                "id": c.pk,
                "from_stage": c.from_stage or None,
                "to_stage": c.to_stage,
                "actor": c.actor_label,
                "at": c.at,
                "reason": c.reason,
            }
            for c in changes
        ]
        return {"items": items, "count": len(items)}


def _lead_actions(router: Router) -> None:
    @router.post(
        "/{record_id}/convert",
        response=schemas.ConvertOut,
        operation_id="convert_lead",
        summary="Convert a lead into a person, a company and optionally an opportunity",
    )
    def convert(request: HttpRequest, record_id: int, payload: schemas.ConvertIn | None = None):
        """Matches an existing person (by e-mail) and company (by e-mail domain or normalised
        name) instead of duplicating them; `person_id`/`company_id` link the record chosen
        instead, `link_person`/`link_company` false make new ones despite a match. A second
        conversion answers 409."""
        body = payload or schemas.ConvertIn()
        lead = conversion.lead_convert(
            actor=actor_of(request),
            lead_id=record_id,
            person=body.person,
            company=body.company,
            pipeline=body.pipeline,
            opportunity=body.opportunity,
            person_id=body.person_id,
            company_id=body.company_id,
            link_person=body.link_person,
            link_company=body.link_company,
        )
        return {
            "person_id": lead.converted_person_id,
            "company_id": lead.converted_company_id,
            "opportunity_id": lead.converted_opportunity_id,
        }

    @router.get(
        "/{record_id}/matches",
        response=schemas.MatchesOut,
        operation_id="lead_matches",
        summary="The person and company a conversion would link to",
    )
    def matches(request: HttpRequest, record_id: int):
        actor = actor_of(request)
        lead = selectors.record_get_for(actor=actor, kind="lead", record_id=record_id)
        found = conversion.find_matches(actor=actor, lead=lead)
        return {
            "person_id": found.person.pk if found.person else None,
            "person_reason": found.person_reason,
            "company_id": found.company.pk if found.company else None,
            "company_reason": found.company_reason,
        }
