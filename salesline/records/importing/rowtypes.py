"""What a reader hands the import besides a plain list of cells: a row it could not read whole,
a row with a cell over the cell limit, a vCard card that knows whether it is a person or an
organisation. Each is still a list of the row's cells, so the preview, the report and the
rejected rows' CSV show them like any row. Pure (no Django)."""

from __future__ import annotations

from collections.abc import Sequence

from .limits import column_letters


class UnreadableRow(list):
    """The cells a reader could salvage of a row it could not read whole (a malformed vCard),
    and why: the row is rejected with that reason, and the rows around it import."""

    def __init__(self, cells: list[str], reason: str):
        super().__init__(cells)
        self.reason = reason


# Replaces the end of a cell cut to the cell limit, so the cut is seen wherever the cell is.
CUT_MARK = " … [cut: the cell held {length:,} characters]"


def cut_cell(text: str, length: int, limit: int) -> str:
    """The start of a cell of `length` characters cut to at most `limit`, marked as cut."""
    mark = CUT_MARK.format(length=length)
    return text[: max(0, limit - len(mark))] + mark


class OverlongRow(UnreadableRow):
    """A row with cells longer than a cell may be (`ReadLimits.cell_chars`). Those cells are
    cut (marked) and the row is rejected naming them, unless the mapping ignores them all.
    `overlong` holds (column number from 1, characters the cell held)."""

    def __init__(self, cells: list[str], row: int, overlong: list[tuple[int, int]], limit: int):
        self.row = row
        self.overlong = overlong
        self.limit = limit
        super().__init__(cells, self._reason(()))

    @property
    def columns(self) -> frozenset[int]:
        """The overlong cells' column indexes (from 0, as a mapping counts them)."""
        return frozenset(column - 1 for column, _ in self.overlong)

    def name_columns(self, header: Sequence[str]) -> None:
        """Name each overlong cell by its column's header as well as its reference."""
        self.reason = self._reason(header)

    def _reason(self, header: Sequence[str]) -> str:
        cells = []
        for column, length in self.overlong:
            name = header[column - 1].strip() if column <= len(header) else ""
            where = f"{column_letters(column)}{self.row}" + (f" ({name[:80]})" if name else "")
            cells.append(f"cell {where} holds {length:,}")
        return (
            f"Row {self.row}: a cell may hold at most {self.limit:,} characters; "
            f"{', '.join(cells)}."
        )


class Card(list):
    """A vCard card read whole. `organisation` is true for a card of a company (vCard 4
    KIND:org, Apple's X-ABShowAs:COMPANY), false for a person's; `where` names it ("Card 3
    (line 20)")."""

    def __init__(self, cells: list[str], *, where: str, organisation: bool):
        super().__init__(cells)
        self.where = where
        self.organisation = organisation

    def wrong_kind(self, kind: str) -> str | None:
        """Why this card cannot be a record of `kind` (company, person, lead), or None."""
        if self.organisation and kind != "company":
            return (
                f"{self.where}: this card is an organisation, not a person; import it with "
                "the companies."
            )
        if not self.organisation and kind == "company":
            return (
                f"{self.where}: this card is a person, not an organisation; import it with the "
                "people (their company is created from the card's ORG) or the leads."
            )
        return None
