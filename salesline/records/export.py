"""Export of a list as CSV or XLSX: the list's own filters, search and order, every page.

The file is one a user can re-import: headers are the API names (`name`, `company_name`,
`email`…), custom fields are `cf_<key>` (the list's filter names, which the import's column
mapping recognises), plus `id`, `created_at` and `updated_at`. Rows are fetched as tuples in
chunks — never model instances — so memory stays flat for a million rows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from salesline.core import audit, spreadsheets
from salesline.core.actors import Actor
from salesline.core.customfields import CustomFieldDef
from salesline.core.errors import Problem, ValidationFailed

from .fields import KINDS
from .filters import ListQuery, parse_list_query
from .selectors import record_queryset
from .services import custom_field_defs

FORMATS = {"csv": spreadsheets.CSV_CONTENT_TYPE, "xlsx": spreadsheets.XLSX_CONTENT_TYPE}
DEFAULT_FORMAT = "csv"
# Accepted (so a list's query string works as it is) but meaningless: an export has every page.
PAGING_PARAMETERS = frozenset({"limit", "offset", "cursor"})
CHUNK_ROWS = 2_000
CUSTOM_PREFIX = "cf_"
TIMESTAMP_COLUMNS = ("created_at", "updated_at")


def export_kind(name: str) -> str:
    """'leads' or 'lead' -> 'lead'; ValidationFailed naming the kinds otherwise."""
    for key, kind in KINDS.items():
        if name in (key, kind.plural):
            return key
    plurals = ", ".join(kind.plural for kind in KINDS.values())
    raise ValidationFailed(
        f"Cannot export '{name}'.",
        problems=[Problem(loc=("kind",), msg=f"Unknown kind '{name}'. Kinds: {plurals}.")],
    )


@dataclass(frozen=True)
class Columns:
    """What a row holds: the ORM paths fetched before and after the custom fields."""

    before: tuple[tuple[str, str], ...]  # (header, ORM path)
    custom_keys: tuple[str, ...]
    after: tuple[tuple[str, str], ...]

    @property
    def header(self) -> list[str]:
        return [
            *(name for name, _ in self.before),
            *(CUSTOM_PREFIX + key for key in self.custom_keys),
            *(name for name, _ in self.after),
        ]


def export_columns(kind: str, custom_defs: list[CustomFieldDef]) -> Columns:
    before = [("id", "id")]
    before += [(name, f.attr) for name, f in KINDS[kind].fields.items()]
    before += list(KINDS[kind].extra_columns.items())
    return Columns(
        before=tuple(before),
        custom_keys=tuple(d.key for d in custom_defs),
        after=tuple((name, name) for name in TIMESTAMP_COLUMNS),
    )


def parse_export_query(
    kind: str, params: Mapping[str, Any], actor: Actor, *, with_format: bool = False
) -> tuple[str, ListQuery, dict[str, str]]:
    """(format, list query, filters to record) from a list's query parameters.

    With `with_format` the parameters may carry `format` (csv or xlsx, default csv). Every
    problem — format and filters — is reported at once, exactly as the list reports them."""
    params = dict(params.items())  # a QueryDict's items() are the last value of each key
    problems: list[Problem] = []
    export_format = DEFAULT_FORMAT
    if with_format:
        export_format = str(params.pop("format", DEFAULT_FORMAT) or DEFAULT_FORMAT).strip()
        if export_format not in FORMATS:
            problems.append(
                Problem(
                    loc=("query", "format"),
                    msg=f"Unknown format '{export_format}'. Formats: {', '.join(FORMATS)}.",
                )
            )
    query = None
    try:
        query = parse_list_query(KINDS[kind], params, lambda: custom_field_defs(actor, kind))
    except ValidationFailed as exc:
        problems = [*exc.problems, *problems]
    if problems or query is None:
        raise ValidationFailed("The export query is not valid.", problems)
    filters = {name: str(value) for name, value in params.items() if name not in PAGING_PARAMETERS}
    return export_format, query, filters


@dataclass
class Export:
    """An export under way: the header, and rows that are fetched as they are read."""

    kind: str
    format: str
    header: list[str]
    count: int  # rows matching when the export started (what the audit event records)
    filename: str
    queryset: QuerySet = field(repr=False)
    columns: Columns = field(repr=False)
    written: int = 0

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]

    def rows(self) -> Iterator[list[Any]]:
        """Each row as a list of Python values, in the list's order; counts `written`."""
        paths = [path for _, path in self.columns.before + self.columns.after]
        keys = self.columns.custom_keys
        if keys:
            paths.append("custom_fields")
        split = len(self.columns.before)
        end = split + len(self.columns.after)
        for values in self.queryset.values_list(*paths).iterator(chunk_size=CHUNK_ROWS):
            custom = (values[-1] or {}) if keys else {}
            self.written += 1
            yield [*values[:split], *(custom.get(key) for key in keys), *values[split:end]]

    def csv_chunks(self) -> Iterator[str]:
        return spreadsheets.csv_chunks(self.header, self.rows())

    def write_csv(self, stream: IO[bytes]) -> None:
        for chunk in self.csv_chunks():
            stream.write(chunk.encode("utf-8"))

    def write_xlsx(self, target: str | IO[bytes]) -> None:
        spreadsheets.write_xlsx(target, self.header, self.rows(), title=KINDS[self.kind].plural)

    def write(self, stream: IO[bytes]) -> None:
        if self.format == "xlsx":
            self.write_xlsx(stream)
        else:
            self.write_csv(stream)

    def xlsx_file(self) -> IO[bytes]:
        """The workbook in an anonymous temporary file, rewound (a zip cannot be streamed as it
        is written); closing it removes it."""
        stream = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
        try:
            self.write_xlsx(stream)
            stream.seek(0)
        except BaseException:
            stream.close()
            raise
        return stream


def records_export(
    *, actor: Actor, kind: str, query: ListQuery, format: str, filters: Mapping[str, str]
) -> Export:
    """Start an export of the actor's organisation's records: the list `query` selects, all
    pages. Writes one audit event (who exported which rows, with what filters) before a row
    leaves: an export of personal data is worth a trail even when the download is cut short."""
    if format not in FORMATS:
        raise ValidationFailed(
            problems=[Problem(loc=("format",), msg=f"Unknown format '{format}'.")]
        )
    kind_def = KINDS[kind]
    queryset = record_queryset(actor=actor, kind=kind, query=query)
    count = queryset.count()
    audit.record(
        actor=actor,
        action="export",
        object_type=kind,
        object_repr=f"{count} {kind_def.plural} as {format}",
        changes={"filters": dict(filters), "format": format, "rows": count},
    )
    columns = export_columns(kind, custom_field_defs(actor, kind))
    return Export(
        kind=kind,
        format=format,
        header=columns.header,
        count=count,
        filename=f"{kind_def.plural}-{timezone.localdate():%Y-%m-%d}.{format}",
        queryset=queryset,
        columns=columns,
    )


def export_response(result: Export) -> HttpResponseBase:
    """CSV streams as it is written; XLSX (a zip) is written to a temporary file first."""
    if result.format == "xlsx":
        response: HttpResponseBase = FileResponse(
            result.xlsx_file(),
            as_attachment=True,
            filename=result.filename,
            content_type=result.content_type,
        )
    else:
        response = StreamingHttpResponse(result.csv_chunks(), content_type=result.content_type)
        response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    # Personal data: no shared cache keeps a copy.
    response["Cache-Control"] = "no-store"
    return response
