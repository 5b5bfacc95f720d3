"""Which reader a file needs: a vCard file is read as cards, anything else as a spreadsheet,
whose column names may follow a few lines of notes (LinkedIn's connections export begins with
"Notes:" and a paragraph)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .limits import ReadLimits
from .reader import Spreadsheet
from .rowtypes import OverlongRow, UnreadableRow
from .vcard import VCardBook, is_vcard

# How far down a file its column names are looked for, after a line of notes.
PREAMBLE_ROWS = 10


class AfterPreamble:
    """A spreadsheet whose column names are in row `header_row`, below lines of notes."""

    def __init__(self, sheet: Spreadsheet, header_row: int, header: list[str]):
        self.sheet = sheet
        self.path = sheet.path
        self.kind = sheet.kind
        self.header = [h.strip() for h in header]
        self.first_row = header_row + 1

    def rows(self, start: int = 2) -> Iterator[tuple[int, list[str]]]:
        for number, cells in self.sheet.rows(start=max(start, self.first_row)):
            if isinstance(cells, OverlongRow):
                cells.name_columns(self.header)
            yield number, cells

    def estimated_rows(self) -> int:
        return max(0, self.sheet.estimated_rows() - (self.first_row - 2))

    def notes(self) -> list[str]:
        return self.sheet.notes()


def _looks_like_notes(header: list[str]) -> bool:
    """A first row of one cell that ends in a colon ("Notes:") or is a sentence, not a name."""
    filled = [cell.strip() for cell in header if cell.strip()]
    return len(filled) == 1 and (filled[0].endswith(":") or len(filled[0]) > 40)


def _skip_preamble(sheet: Spreadsheet) -> Spreadsheet | AfterPreamble:
    if not _looks_like_notes(sheet.header):
        return sheet
    rows = sheet.rows()
    try:
        for seen, (number, cells) in enumerate(rows):
            if isinstance(cells, UnreadableRow):
                break
            filled = sum(1 for cell in cells if cell.strip())
            if filled >= 3:
                return AfterPreamble(sheet, number, cells)
            if filled > 1 or seen >= PREAMBLE_ROWS:
                break
    finally:
        rows.close()
    return sheet


type Table = Spreadsheet | AfterPreamble | VCardBook


def open_table(path: Path | str, limits: ReadLimits | None = None) -> Table:
    """The file as a table (`header`, `rows()`, `estimated_rows()`, `first_row`, `kind`,
    `notes()`); raises
    UnreadableFile with the reason when it cannot be read. `limits` bound a spreadsheet (a
    vCard file has bounds of its own, vcard.LIMITS)."""
    path = Path(path)
    if is_vcard(path):
        return VCardBook(path)
    return _skip_preamble(Spreadsheet(path, limits))
