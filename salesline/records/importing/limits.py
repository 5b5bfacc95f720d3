"""How much of a file an import will read: one set of limits for the web, the API and the CLI.

A spreadsheet is hostile input: a 1.5 KB XLSX can declare a million-row, 16,384-column sheet, and
a 400 KB one can inflate to a 400 MiB cell. The readers stream and stop at these limits, naming
the row, cell or part that crossed one — except `cell_chars`: a cell longer than that is kept cut
and rejects its row alone (rowtypes.OverlongRow), since the limits that bound memory (a line, a
run of XML without a tag end) still hold. Pure (no Django): services pass the settings in
(`SALESLINE_IMPORT_LIMITS`, a dict of these field names).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class UnreadableFile(ValueError):
    """The file is not a CSV or XLSX file we can read, or crosses a limit; the message says
    why (it completes "The file cannot be imported: ...")."""


@dataclass(frozen=True)
class ReadLimits:
    # Excel's own sheet height; the million-row benchmark fits.
    rows: int = 1_048_576
    # The mapping form has one field per column, and Django allows 1,000 form fields; the API
    # and the CLI use the same limit so a file that imports one way imports every way.
    columns: int = 500
    # Cells read (empty cells between filled ones count): the work one import may ask for.
    cells: int = 50_000_000
    # Excel's own limit for the text of one cell: a longer cell rejects its row.
    cell_chars: int = 32_767
    # A CSV line (a row, or a part of a row whose quoted cells span lines), and a cell that
    # spans lines: a longer one refuses the file.
    line_chars: int = 16 * 1024 * 1024
    # Bytes inflated from an XLSX archive in one reading, all parts together.
    unzipped_bytes: int = 2 * 1024 * 1024 * 1024
    # Inflated bytes per compressed byte of one part, checked once a part passes
    # `ratio_from_bytes`: spreadsheet XML compresses 5 to 50 times, a zip bomb a thousand.
    ratio: int = 200
    ratio_from_bytes: int = 4 * 1024 * 1024
    # Parts of an XLSX archive (a workbook has a dozen or so).
    zip_members: int = 10_000

    @classmethod
    def of(cls, overrides: Mapping[str, Any] | None) -> ReadLimits:
        """The defaults with `overrides` (unknown names are an error, so a typo is not
        silently ignored)."""
        if not overrides:
            return cls()
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown import limits: {', '.join(unknown)}")
        return cls(**{name: int(value) for name, value in overrides.items()})


def column_letters(index: int) -> str:
    """1 -> 'A', 28 -> 'AB', 16384 -> 'XFD'."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def beyond_columns(limits: ReadLimits, row: int, column: int) -> UnreadableFile:
    return UnreadableFile(
        f"cell {column_letters(column)}{row} is beyond column {limits.columns:,} "
        f"({column_letters(limits.columns)}), the limit"
    )


def beyond_rows(limits: ReadLimits, row: int) -> UnreadableFile:
    return UnreadableFile(f"row {row:,} is beyond row {limits.rows:,}, the limit")


def too_many_cells(limits: ReadLimits, row: int) -> UnreadableFile:
    return UnreadableFile(
        f"it holds more than {limits.cells:,} cells (reached at row {row:,}), the limit"
    )


def cell_too_long(limits: ReadLimits, where: str) -> UnreadableFile:
    return UnreadableFile(
        f"{where} holds more than {limits.cell_chars:,} characters, the limit for one cell"
    )
