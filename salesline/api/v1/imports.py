"""Imports: upload a file, follow its progress, read its report, download rejected rows, undo."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from salesline.core import boundedjson
from salesline.core.errors import DomainError, Problem, ValidationFailed
from salesline.records.importing import services as imports

from .common import actor_of

router = Router(tags=["imports"])


class TooLarge(DomainError):
    status = 413


def _json_object(text: str | None, field: str, shape: str) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = boundedjson.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValidationFailed(
            f"The {field} is not a JSON object.",
            problems=[
                Problem(loc=(field,), msg=f"{field.capitalize()} must be a JSON object: {shape}.")
            ],
        )
    return value


def _mapping(text: str | None) -> dict[str, Any] | None:
    return _json_object(text, "mapping", '{"Column header": "field" or null}')


def _check_size(upload: UploadedFile) -> None:
    limit = getattr(settings, "SALESLINE_IMPORT_MAX_BYTES", 512 * 1024 * 1024)
    if upload.size and upload.size > limit:
        raise TooLarge(f"The file is too large: the limit is {limit // (1024 * 1024)} MiB.")


def _summary(request: HttpRequest, job) -> dict[str, Any]:
    report = imports.import_report(job, limit=1_000)
    return {
        **report,
        "report_url": request.build_absolute_uri(f"/api/v1/imports/{job.pk}"),
    }


@router.post(
    "",
    response={201: dict[str, Any], 202: dict[str, Any]},
    operation_id="create_import",
    summary="Import a CSV, XLSX or vCard (.vcf) file",
    description="Multipart form: `file`, `kind` (leads, people, companies), optional `mapping` "
    '(JSON: {"Column header": "field" or null}), optional `constants` (JSON: {"field": '
    '"one value for every row"}, e.g. {"source": "Archiving Expo 2026"}, for a field no column '
    "gives), `dry_run`, `region` (e.g. GB), `on_duplicate` (skip, update, overwrite). Small "
    "files are imported at once (201, with the report); larger ones by the background worker "
    "(202): follow `GET /imports/{id}`.",
)
def create_import(
    request: HttpRequest,
    file: File[UploadedFile],
    kind: Form[str],
    mapping: Form[str | None] = None,
    dry_run: Form[bool] = False,
    region: Form[str | None] = None,
    on_duplicate: Form[str | None] = None,
    constants: Form[str | None] = None,
):
    _check_size(file)
    started = imports.import_start(
        actor=actor_of(request),
        kind=kind,
        file=file.file,
        file_name=file.name or "import.csv",
        mapping=_mapping(mapping),
        region=region,
        on_duplicate=on_duplicate,
        dry_run=dry_run,
        constants=_json_object(constants, "constants", '{"field": "one value for every row"}'),
    )
    return Status(201 if started.ran_inline else 202, _summary(request, started.job))


@router.get("", operation_id="list_imports", summary="List imports, newest first")
def list_imports(request: HttpRequest, limit: int = 50, offset: int = 0):
    jobs = imports.import_list(
        actor=actor_of(request), limit=max(1, min(limit, 200)), offset=max(0, min(offset, 10**6))
    )
    return {
        "items": [
            {
                "import_id": job.pk,
                "kind": job.kind,
                "file_name": job.file_name,
                "status": job.status,
                "dry_run": job.dry_run,
                **imports.counts(job),
                "progress": imports.progress_of(job),
                "created_at": job.created_at,
            }
            for job in jobs
        ]
    }


@router.post(
    "/preview",
    operation_id="preview_import",
    summary="Read a file's columns and the mapping that would be used",
)
def preview_import(
    request: HttpRequest,
    file: File[UploadedFile],
    kind: Form[str],
    mapping: Form[str | None] = None,
):
    _check_size(file)
    preview = imports.import_preview(
        actor=actor_of(request), kind=kind, file=file.file, mapping=_mapping(mapping)
    )
    if preview.mapping_error is not None:
        raise preview.mapping_error
    return {
        "columns": preview.columns,
        "mapping": {column: preview.mapping.get(column) for column in preview.columns},
        "targets": [{"key": t.key, "label": t.label} for t in preview.targets],
        "sample": [cells for _, cells in preview.sample],
        "estimated_rows": preview.estimated_rows,
        "notes": list(preview.notes),
    }


@router.get("/{import_id}", operation_id="get_import", summary="Status, progress and report")
def get_import(request: HttpRequest, import_id: int):
    job = imports.import_get_for(actor=actor_of(request), import_id=import_id)
    return imports.import_report(job)


@router.get(
    "/{import_id}/rejected.csv",
    operation_id="get_import_rejected_rows",
    summary="The rejected rows with their reasons, as CSV",
)
def rejected_rows(request: HttpRequest, import_id: int):
    job = imports.import_get_for(actor=actor_of(request), import_id=import_id)
    response = StreamingHttpResponse(
        imports.rejected_rows_csv(job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
    return response


@router.post("/{import_id}/undo", operation_id="undo_import", summary="Undo an import")
def undo_import(request: HttpRequest, import_id: int):
    job = imports.import_undo(actor=actor_of(request), import_id=import_id)
    return {"import_id": job.pk, "status": job.status, **job.undo_report}
