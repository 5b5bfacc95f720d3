"""Writing spreadsheets that are safe to open: CSV and XLSX, with every text cell a spreadsheet
program would evaluate neutralised.

Both writers take rows of Python values and render each the same way: text is neutralised, dates
and times are ISO 8601, decimals are plain decimal strings, booleans `true`/`false`, None empty.
Only text is neutralised: a number the caller passes as a number (a negative amount, say) is
written as it is — it cannot be a formula.

- CSV: UTF-8 *with* a byte-order mark, lines ending in CRLF (RFC 4180), fields quoted only when
  they must be. Without the mark Excel reads UTF-8 as the local code page and "Åse Ødegård"
  arrives mangled; every other reader we care about (our importer, Python's `utf-8-sig`, pandas,
  LibreOffice, Google Sheets) skips it.
- XLSX: openpyxl in write-only mode — rows go to a temporary file as they arrive, strings inline,
  so memory stays flat whatever the row count. Text cells are always of type string, never a
  formula or an error value, whatever the text says.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any

from .text import scrub

# OWASP "CSV injection": a cell starting with one of these is evaluated as a formula (or, for tab
# and carriage return, may be stripped on import and then evaluated).
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISING_PREFIX = "'"

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BYTE_ORDER_MARK = "\ufeff"
CSV_CHUNK_CHARS = 64 * 1024

# XML 1.0 cannot hold these control characters (tab, line feed and carriage return it can) nor
# the noncharacters U+FFFE and U+FFFF. Text stored before the text rule may still hold them.
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
XLSX_MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
XLSX_MAX_TITLE_CHARS = 31
XLSX_TITLE_ILLEGAL = re.compile(r"[\[\]:*?/\\]")


def neutralise(value: Any) -> Any:
    """Text starting with `= + - @`, tab or carriage return gets a leading apostrophe, so no
    spreadsheet program ever evaluates it; anything else (including non-text) is returned as it
    is. Idempotent: a neutralised value starts with the apostrophe and is left alone."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return NEUTRALISING_PREFIX + value
    return value


def unneutralise(value: Any) -> Any:
    """The inverse of `neutralise` for reading a file back: drops the apostrophe it added."""
    if (
        isinstance(value, str)
        and value.startswith(NEUTRALISING_PREFIX)
        and value[1:].startswith(DANGEROUS_PREFIXES)
    ):
        return value[1:]
    return value


def _decimal_text(value: Decimal) -> str:
    # "f" never switches to exponent notation ("1E+3") the way str() may.
    return format(value, "f")


def cell_text(value: Any) -> str:
    """One value as CSV text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return str(value)


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, chunk_chars: int = CSV_CHUNK_CHARS
) -> Iterator[str]:
    """The CSV text of `header` and `rows` in pieces of about `chunk_chars` characters, the
    byte-order mark first: for a streaming response or a file, never the whole text at once."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BYTE_ORDER_MARK)
    writer.writerow([cell_text(name) for name in header])
    for row in rows:
        writer.writerow([cell_text(value) for value in row])
        if buffer.tell() >= chunk_chars:
            yield scrub(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
    # A lone surrogate (stored before the text rule) cannot be encoded: U+FFFD takes its place.
    yield scrub(buffer.getvalue())


def xlsx_title(text: str) -> str:
    """A worksheet title Excel accepts."""
    return XLSX_TITLE_ILLEGAL.sub(" ", text)[:XLSX_MAX_TITLE_CHARS] or "Sheet"


def write_xlsx(
    target: str | IO[bytes], header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str
) -> None:
    """Write `header` and `rows` as a one-sheet workbook to a path or a binary file. Numbers stay
    numbers; everything else is rendered as in CSV and stored as a string cell. The header row
    is frozen."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=xlsx_title(title))
    sheet.freeze_panes = "A2"

    def cell(value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        text = cell_text(value)
        if not text:
            return None
        text = scrub(XML_ILLEGAL.sub("", text))[:XLSX_MAX_CELL_CHARS]
        if not text.startswith("=") and text not in ERROR_CODES:
            return text  # openpyxl stores it as a string: the fast path
        # openpyxl would guess a formula from "=…" and an error value from "#N/A": say "string".
        forced = WriteOnlyCell(sheet, value=text)
        forced.data_type = "s"
        return forced

    sheet.append([cell(name) for name in header])
    for row in rows:
        sheet.append([cell(value) for value in row])
    workbook.save(target)
