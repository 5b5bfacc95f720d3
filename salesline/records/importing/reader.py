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
    column_letters,
    too_many_cells,
)
from .rowtypes import OverlongRow, cut_cell

DELIMITERS = (",", ";", "\t", "|")
BLOCK = 1 << 20
XLSX_MAGIC = b"PK\x03\x04"
LEGACY = ("cp1252", "latin-1")

__all__ = ["ReadLimits", "Spreadsheet", "UnreadableFile"]


def _overlong(record: list[str], number: int, limit: int) -> OverlongRow:
    """A row with cells over the cell limit: those cut, and which they were."""
    overlong = [(index + 1, len(cell)) for index, cell in enumerate(record) if len(cell) > limit]
    cells = [cell if len(cell) <= limit else cut_cell(cell, len(cell), limit) for cell in record]
    return OverlongRow(cells, number, overlong, limit)


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


def _decoded(line: bytes, legacy: str) -> tuple[str, str]:
    """One line of a file that is not all UTF-8, and the encoding it was read in: UTF-8 when it
    is (a row pasted in from another file), else the file's legacy encoding, so neither is
    garbled ('Ã…se')."""
    try:
        return line.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return line.decode(legacy), legacy
    except UnicodeDecodeError:
        return line.decode("latin-1"), "latin-1"


ENCODING_NAMES = {"cp1252": "Windows-1252", "latin-1": "Latin-1", "utf-8": "UTF-8"}
# How many row numbers a note about encodings lists before "… and N more".
NOTE_ROWS = 10


def _rows_text(numbers: list[int], count: int) -> str:
    """'row 3', 'rows 3 and 7', 'rows 3, 7, 9 … and 120 more'."""
    if count == 1:
        return f"row {numbers[0]:,}"
    shown = [f"{number:,}" for number in numbers]
    if count > len(shown):
        return f"rows {', '.join(shown)} … and {count - len(shown):,} more"
    return f"rows {', '.join(shown[:-1])} and {shown[-1]}"


class _Decodings:
    """Which rows of a file decoded line by line were read in which legacy encoding (the first
    NOTE_ROWS numbers and a count each), and whether any row was UTF-8 beyond ASCII."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[list[int], list[int]]] = {}  # encoding -> (numbers, [count])
        self.utf8 = False
        self.pending = ""  # the legacy encoding of the row being read, if any

    def line(self, raw: bytes, encoding: str) -> None:
        if encoding == "utf-8":
            self.utf8 = self.utf8 or not raw.isascii()
        elif not self.pending:
            self.pending = encoding

    def end_row(self, number: int) -> None:
        if self.pending:
            numbers, count = self.rows.setdefault(self.pending, ([], [0]))
            if len(numbers) < NOTE_ROWS:
                numbers.append(number)
            count[0] += 1
            self.pending = ""

    def notes(self) -> list[str]:
        if not self.rows:
            return []
        if not self.utf8 and len(self.rows) == 1:
            [encoding] = self.rows
            return [f"The file is not UTF-8: it was read as {ENCODING_NAMES[encoding]}."]
        notes = []
        for encoding, (numbers, [count]) in self.rows.items():
            verb = "was" if count == 1 else "were"
            notes.append(
                f"The file mixes encodings: {_rows_text(numbers, count)} {verb} read as "
                f"{ENCODING_NAMES[encoding]}, the other rows as UTF-8."
            )
        return notes


class _CellOverLimit(Exception):
    """csv met a cell longer than the cell limit: the file is read again, carefully."""


class Spreadsheet:
    """A CSV or XLSX file: `header` (list of column names) and `rows()` (lists of text), read
    within `limits`. A row with a cell over the cell limit is an OverlongRow (the import rejects
    that row alone); the other limits refuse the file."""

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
        # What the last reading of every row found about encodings (None until one ends).
        self._decodings: _Decodings | None = None
        if self.kind == "csv":
            self.encoding = detect_encoding(self.path)
            self._plain = self.encoding in ("utf-8", "utf-8-sig") and not has_line_longer_than(
                self.path, self.limits.line_chars
            )
            lines = self._lines(_Decodings())
            try:
                self.delimiter = detect_delimiter(next(lines, ""))
            finally:
                lines.close()
        iterator = self._numbered()
        try:
            self.header_row, header = next(iterator)
        except StopIteration:
            raise UnreadableFile("the file is empty") from None
        finally:
            iterator.close()
        if isinstance(header, OverlongRow):
            column = min(header.overlong)[0]
            raise cell_too_long(self.limits, f"cell {column_letters(column)}{self.header_row}")
        self.header = [h.strip() for h in header]
        if not any(self.header):
            raise UnreadableFile("the first row (the column names) is empty")

    def _lines(self, decodings: _Decodings) -> Iterator[str]:
        """The file's lines as text, none longer than the limit (a line is read whole, so an
        endless one must be cut before it fills the memory); `decodings` learns which lines
        of a file that is not all UTF-8 were read in which encoding."""
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
                line, encoding = _decoded(raw, self.encoding)
                decodings.line(raw, encoding)
                yield line

    def _line_too_long(self, number: int) -> UnreadableFile:
        return UnreadableFile(
            f"line {number:,} is longer than {self.limits.line_chars:,} characters, the limit"
        )

    def _numbered(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) for every row the file has, the header included. csv itself
        stops a cell at the cell limit, at no cost to the rows within it; when one is longer,
        the file is read again from the start with a check of every cell, and the rows after
        the ones already handed out carry on from there."""
        if self._sheet is not None:
            yield from self._sheet.rows()
            return
        done = 0
        records = self._records(careful=False)
        try:
            for done, record in records:  # noqa: B007 - `done` is used after the loop
                yield done, record
            return
        except _CellOverLimit:
            pass
        finally:
            records.close()
        for number, record in self._records(careful=True):
            if number > done:
                yield number, record

    def _records(self, *, careful: bool) -> Iterator[tuple[int, list[str]]]:
        limits = self.limits
        max_columns, max_rows, max_cells = limits.columns, limits.rows, limits.cells
        max_chars = limits.cell_chars
        # What csv holds of one cell: the cell limit, and when careful the line limit (a cell
        # spanning lines is still bounded; a longer one is refused).
        fast_limit = max_chars
        careful_limit = max(limits.line_chars, max_chars)
        # csv counts a field's characters as it reads them, so an endless field stops there.
        csv.field_size_limit(fast_limit)
        decodings = _Decodings()
        number = total = 0
        plain = open(self.path, encoding=self.encoding, newline="") if self._plain else None  # noqa: SIM115
        lines = plain if plain is not None else self._lines(decodings)
        reader = csv.reader(lines, delimiter=self.delimiter)
        try:
            while True:
                if careful:
                    # The limit is the process's; it is raised only while csv reads, so a
                    # reading in fast mode beside this one still stops at the cell limit.
                    csv.field_size_limit(careful_limit)
                    try:
                        record = next(reader, None)
                    finally:
                        csv.field_size_limit(fast_limit)
                else:
                    record = next(reader, None)
                if record is None:
                    break
                number += 1
                decodings.end_row(number)
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
                if careful and max(map(len, record), default=0) > max_chars:
                    record = _overlong(record, number, max_chars)
                yield number, record
            self._decodings = decodings
        except csv.Error as exc:
            if "field limit" in str(exc):
                if not careful:
                    raise _CellOverLimit from None
                raise UnreadableFile(
                    f"a cell of row {number + 1:,} holds more than {careful_limit:,} "
                    "characters, the limit for a line"
                ) from None
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
            if isinstance(record, OverlongRow):
                record.name_columns(self.header)
            yield number, record

    def notes(self) -> list[str]:
        """What the user should know about how the file was read: which rows of a CSV that
        is not all UTF-8 were read in which encoding. Reads the whole file unless a reading
        of every row has told already."""
        if self.kind != "csv" or self.encoding in ("utf-8", "utf-8-sig", "utf-16"):
            return []
        if self._decodings is None:
            for _ in self._numbered():
                pass
        return self._decodings.notes() if self._decodings else []

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
