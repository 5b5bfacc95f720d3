"""Reading a spreadsheet as rows of text: CSV with any delimiter and the usual encodings, XLSX.

Everything streams: a file of a million rows is never held in memory as a whole, and every
reading stops at the `ReadLimits` (rows, columns, cells, characters), naming what crossed one.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

from . import xlsx
from .limits import (
    ReadLimits,
    UnreadableFile,
    beyond_columns,
    beyond_rows,
    cell_too_long,
    too_many_cells,
)

DELIMITERS = (",", ";", "\t", "|")
BLOCK = 1 << 20
XLSX_MAGIC = b"PK\x03\x04"
LEGACY = ("cp1252", "latin-1")

__all__ = ["ReadLimits", "Spreadsheet", "UnreadableFile"]


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


def has_line_longer_than(path: Path, limit: int) -> bool:
    """Whether any line of the file is longer than `limit` bytes (two C searches a block: only
    the line across block edges is measured, so a limit below a block answers True, and the
    careful path reads the lines)."""
    if limit < BLOCK:
        return True
    run = 0  # bytes since the last line break
    with open(path, "rb") as stream:
        while block := stream.read(BLOCK):
            first = block.find(b"\n")
            if first < 0:
                run += len(block)
            else:
                if run + first > limit:
                    return True
                run = len(block) - block.rfind(b"\n") - 1
            if run > limit:
                return True
    return False


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


def _decoded(line: bytes, legacy: str) -> str:
    """One line of a file that is not all UTF-8: in UTF-8 when it is (a row pasted in from
    another file), else in the file's legacy encoding, so neither is garbled ('Ã…se')."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return line.decode(legacy)
    except UnicodeDecodeError:
        return line.decode("latin-1")


class Spreadsheet:
    """A CSV or XLSX file: `header` (list of column names) and `rows()` (lists of text), read
    within `limits`."""

    first_row = 2  # the number of the first data row (the header is row 1)

    def __init__(self, path: Path | str, limits: ReadLimits | None = None):
        self.path = Path(path)
        self.limits = limits or ReadLimits()
        reason = not_a_spreadsheet(self.path)
        if reason:
            raise UnreadableFile(reason)
        self.kind = "xlsx" if is_xlsx(self.path) else "csv"
        self.encoding = ""
        self.delimiter = ""
        self._sheet = xlsx.Sheet(self.path, self.limits) if self.kind == "xlsx" else None
        # A UTF-8 file with no over-long line is handed to csv as it is, at C speed.
        self._plain = False
        if self.kind == "csv":
            self.encoding = detect_encoding(self.path)
            self._plain = self.encoding in ("utf-8", "utf-8-sig") and not has_line_longer_than(
                self.path, self.limits.line_chars
            )
            lines = self._lines()
            try:
                self.delimiter = detect_delimiter(next(lines, ""))
            finally:
                lines.close()
        iterator = self._numbered()
        try:
            self.header_row, header = next(iterator)
            self.header = [h.strip() for h in header]
        except StopIteration:
            raise UnreadableFile("the file is empty") from None
        finally:
            iterator.close()
        if not any(self.header):
            raise UnreadableFile("the first row (the column names) is empty")

    def _lines(self) -> Iterator[str]:
        """The file's lines as text, none longer than the limit (a line is read whole, so an
        endless one must be cut before it fills the memory)."""
        limit = self.limits.line_chars
        number = 0
        if self.encoding in ("utf-8", "utf-8-sig", "utf-16"):
            with open(self.path, encoding=self.encoding, newline="") as text:
                while True:
                    try:
                        line = text.readline(limit + 1)
                    except UnicodeDecodeError as exc:
                        raise UnreadableFile(
                            f"line {number + 1:,} is not {self.encoding} text ({exc.reason})"
                        ) from None
                    if not line:
                        return
                    number += 1
                    if len(line) > limit:
                        raise self._line_too_long(number)
                    yield line
        with open(self.path, "rb") as stream:
            while raw := stream.readline(limit + 1):
                number += 1
                if len(raw) > limit:
                    raise self._line_too_long(number)
                yield _decoded(raw, self.encoding)

    def _line_too_long(self, number: int) -> UnreadableFile:
        return UnreadableFile(
            f"line {number:,} is longer than {self.limits.line_chars:,} characters, the limit"
        )

    def _numbered(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) for every row the file has, the header included."""
        if self._sheet is not None:
            yield from self._sheet.rows()
            return
        limits = self.limits
        max_columns, max_rows, max_cells = limits.columns, limits.rows, limits.cells
        # csv counts a field's characters as it reads them, so an endless field stops there.
        csv.field_size_limit(limits.cell_chars)
        number = total = 0
        plain = open(self.path, encoding=self.encoding, newline="") if self._plain else None  # noqa: SIM115
        lines = plain if plain is not None else self._lines()
        try:
            for record in csv.reader(lines, delimiter=self.delimiter):
                number += 1
                if len(record) > max_columns:
                    beyond = [i for i, cell in enumerate(record[max_columns:]) if cell.strip()]
                    if beyond:
                        raise beyond_columns(limits, number, max_columns + beyond[0] + 1)
                    del record[max_columns:]
                if number > max_rows and any(cell.strip() for cell in record):
                    raise beyond_rows(limits, number)
                total += len(record)
                if total > max_cells:
                    raise too_many_cells(limits, number)
                yield number, record
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise cell_too_long(limits, f"a cell of row {number + 1:,}") from None
            raise UnreadableFile(f"row {number + 1:,} cannot be read: {exc}") from None
        finally:
            if plain is not None:
                plain.close()

    def rows(self, start: int = 2) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) for each data row from `start` on. Numbers are the file's own, as
        a spreadsheet program shows them: the header is row 1 of a CSV, and the first row an
        XLSX sheet holds. Blank rows keep their number but are not yielded."""
        first = max(start, self.header_row + 1)
        for number, record in self._numbered():
            if number < first:
                continue
            if not any(cell.strip() for cell in record):
                continue
            yield number, record

    def estimated_rows(self) -> int:
        """Data rows, estimated from line breaks for CSV (exact unless cells span lines)."""
        if self.kind == "xlsx":
            return max(0, sum(1 for _ in self._numbered()) - 1)
        lines = 0
        last = b"\n"
        with open(self.path, "rb") as stream:
            while block := stream.read(BLOCK):
                lines += block.count(b"\n")
                last = block[-1:]
        if last != b"\n":
            lines += 1
        return max(0, lines - 1)
