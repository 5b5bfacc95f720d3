"""Reading a spreadsheet as rows of text: CSV with any delimiter and the usual encodings, XLSX.

Everything streams: a file of a million rows is never held in memory as a whole.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

DELIMITERS = (",", ";", "\t", "|")
BLOCK = 1 << 20
XLSX_MAGIC = b"PK\x03\x04"
# A cell may hold a whole paragraph; csv's default limit (128 KiB) would abort the file on it.
csv.field_size_limit(16 * 1024 * 1024)


class UnreadableFile(ValueError):
    """The file is not a CSV or XLSX file we can read; the message says why."""


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or UTF-16 when the bytes say so; otherwise Windows-1252, the
    encoding Excel writes "CSV" in on Western systems, or Latin-1 for the five bytes 1252 leaves
    undefined."""
    with open(path, "rb") as stream:
        head = stream.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while block := stream.read(BLOCK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
        stream.seek(0)
        try:
            while block := stream.read(BLOCK):
                block.decode("cp1252")
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"


def detect_delimiter(first_line: str) -> str:
    """The candidate that splits the header line most often; a comma when none does."""
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def is_xlsx(path: Path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(4) == XLSX_MAGIC


def not_a_spreadsheet(path: Path) -> str | None:
    """Why a file is plainly not a CSV or XLSX file, or None. Text decodes as Latin-1 whatever
    its bytes, so without this a picture or a PDF would be read as columns of noise."""
    with open(path, "rb") as stream:
        head = stream.read(64 * 1024)
    if head.startswith(XLSX_MAGIC) or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "it is an old Excel (.xls) file; save it as .xlsx or .csv"
    if b"\x00" in head:
        return "it is not a CSV or XLSX file (it holds binary data)"
    return None


def _cell_text(value) -> str:
    """An XLSX cell as the text a user sees: whole numbers without '.0' (phone numbers are often
    typed as numbers), dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


class Spreadsheet:
    """A CSV or XLSX file: `header` (list of column names) and `rows()` (lists of text)."""

    first_row = 2  # the number of the first data row (the header is row 1)

    def __init__(self, path: Path | str):
        self.path = Path(path)
        reason = not_a_spreadsheet(self.path)
        if reason:
            raise UnreadableFile(reason)
        self.kind = "xlsx" if is_xlsx(self.path) else "csv"
        self.encoding = ""
        self.delimiter = ""
        if self.kind == "csv":
            self.encoding = detect_encoding(self.path)
            with open(self.path, encoding=self.encoding, newline="") as stream:
                self.delimiter = detect_delimiter(stream.readline())
        iterator = self._records()
        try:
            self.header = [h.strip() for h in next(iterator)]
        except StopIteration:
            raise UnreadableFile("the file is empty") from None
        except (csv.Error, ValueError) as exc:
            raise UnreadableFile(f"the file cannot be read: {exc}") from None
        finally:
            iterator.close()
        if not any(self.header):
            raise UnreadableFile("the first row (the column names) is empty")

    def _records(self) -> Iterator[list[str]]:
        if self.kind == "xlsx":
            yield from self._xlsx_records()
            return
        with open(self.path, encoding=self.encoding, newline="") as stream:
            yield from csv.reader(stream, delimiter=self.delimiter)

    def _xlsx_records(self) -> Iterator[list[str]]:
        from python_calamine import CalamineError, CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
            sheet = workbook.get_sheet_by_index(0)
            for values in sheet.iter_rows():
                yield [_cell_text(v) for v in values]
        except CalamineError as exc:
            raise UnreadableFile(f"the spreadsheet cannot be read: {exc}") from None

    def rows(self, start: int = 2) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) for each data row from `start` on; the header is row 1, as in a
        spreadsheet program. Blank rows keep their number but are not yielded."""
        number = 0
        try:
            for record in self._records():
                number += 1
                if number < start or number == 1:
                    continue
                if not any(cell.strip() for cell in record):
                    continue
                yield number, record
        except csv.Error as exc:
            raise UnreadableFile(f"row {number + 1} cannot be read: {exc}") from None

    def estimated_rows(self) -> int:
        """Data rows, estimated from line breaks for CSV (exact unless cells span lines)."""
        if self.kind == "xlsx":
            return max(0, sum(1 for _ in self._records()) - 1)
        lines = 0
        last = b"\n"
        with open(self.path, "rb") as stream:
            while block := stream.read(BLOCK):
                lines += block.count(b"\n")
                last = block[-1:]
        if last != b"\n":
            lines += 1
        return max(0, lines - 1)
