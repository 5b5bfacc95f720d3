"""The first worksheet of an XLSX file as a stream of rows, within `ReadLimits`. Pure (no Django).

An XLSX file is a zip of XML parts. The sheet's XML is inflated in small blocks and fed to expat;
rows are handed out as their `</row>` is read, with their own row numbers (rows the file leaves
out are simply absent), so no grid is built from the dimension a sheet declares. Every limit is
checked while reading: a cell beyond the last column, more inflated bytes than the archive's size
could honestly give, a DOCTYPE (entity expansion). A text longer than a cell may hold is kept cut
and rejects its row alone (an OverlongRow).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from xml.parsers import expat

from .limits import (
    ReadLimits,
    UnreadableFile,
    beyond_columns,
    beyond_rows,
    column_letters,
    too_many_cells,
)
from .rowtypes import OverlongRow, cut_cell

BLOCK = 64 * 1024
# A cell's text is at most 32,767 characters (5 bytes each when written as &amp;): any run of
# bytes without a '>' longer than this is a tag, attribute or comment no spreadsheet writes.
MARKUP_BYTES = 1024 * 1024
MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # Strict Open XML
)
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOCUMENT = "/officeDocument"
# expat is created with namespace_separator=" ": names arrive as "namespace local".
TAGS = {f"{ns} {local}": local for ns in MAIN_NAMESPACES for local in ("c", "v", "t", "row")}
TAGS.update({f"{ns} rPh": "rPh" for ns in MAIN_NAMESPACES})
DIGITS = "0123456789"
COLUMN_LETTERS = re.compile(r"[A-Z]{1,3}")
# Built-in number formats that show a date or a time (ECMA-376 part 1, 18.8.30).
DATE_FORMATS = {14, 15, 16, 17, 22, 27, 28, 29, 30, 31, 34, 35, 36, 50, 51, 52, 53, 54, 57, 58}
TIME_FORMATS = {18, 19, 20, 21, 45, 46, 47, 32, 33, 55, 56}
FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|_.|\*.|\[(?![hms]+\])[^\]]*\]')


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index


def _learn_column(known: dict[str, int], ref: str, letters: str) -> int:
    """The column of a cell reference such as 'AB12', remembered by its letters."""
    if COLUMN_LETTERS.fullmatch(letters) is None or not ref[len(letters) :].isdigit():
        raise UnreadableFile(f"cell reference '{ref[:20]}' is not valid")
    known[letters] = _column_index(letters)
    return known[letters]


def _format_kind(code: str) -> str | None:
    """'date', 'datetime', 'time' or None for a custom number format code such as
    'dd/mm/yyyy hh:mm'."""
    code = FORMAT_NOISE.sub("", code.split(";")[0]).lower()
    has_date = "y" in code or "d" in code
    has_time = "h" in code or "s" in code
    if has_date:
        return "datetime" if has_time else "date"
    return "time" if has_time else None


class _Archive:
    """The zip, with a budget of inflated bytes shared by every part read from it."""

    def __init__(self, path: Path, limits: ReadLimits):
        self.limits = limits
        self.inflated = 0
        _check_member_count(path, limits)
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise UnreadableFile(f"it is not a valid XLSX file ({exc})") from None
        self.names = set(self.zip.namelist())

    def close(self) -> None:
        self.zip.close()

    def blocks(self, name: str) -> Iterator[bytes]:
        """The part's bytes, inflated a block at a time; counted against the budget and the
        part's compression ratio (the declared sizes are not trusted)."""
        limits = self.limits
        try:
            info = self.zip.getinfo(name)
            inflated = 0
            with self.zip.open(info) as stream:
                while block := stream.read(BLOCK):
                    inflated += len(block)
                    self.inflated += len(block)
                    if self.inflated > limits.unzipped_bytes:
                        raise UnreadableFile(
                            f"it inflates to more than {limits.unzipped_bytes // 2**20:,} MiB, "
                            "the limit"
                        )
                    if inflated > limits.ratio_from_bytes and inflated > (
                        _compressed_read(stream, info) * limits.ratio
                    ):
                        raise UnreadableFile(
                            f"its part {name} inflates more than {limits.ratio} times "
                            "(a zip bomb, or not a spreadsheet)"
                        )
                    yield block
        except KeyError:
            raise UnreadableFile(f"it is not a valid XLSX file (no part {name})") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise UnreadableFile(f"it is not a valid XLSX file ({exc})") from None
        except RuntimeError as exc:  # an encrypted part
            raise UnreadableFile(f"it cannot be read ({exc})") from None

    def parse(self, name: str, start, end=None, text=None, *, parsed=None) -> Iterator[None]:
        """Feed a part to a fresh expat parser with these handlers, yielding after each block
        (so a caller can hand out what the block completed). A DOCTYPE is refused: nothing in
        an XLSX part needs one, and it is how entity expansion (billion laughs) gets in."""
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.buffer_size = BLOCK
        parser.StartElementHandler = start
        if end is not None:
            parser.EndElementHandler = end
        if text is not None:
            parser.CharacterDataHandler = text

        def refuse(*_):
            raise UnreadableFile(f"its part {name} declares a DOCTYPE or entities, refused")

        parser.StartDoctypeDeclHandler = refuse
        parser.EntityDeclHandler = refuse
        run = 0  # bytes since the last '>'
        try:
            for block in self.blocks(name):
                # expat hands text over as it comes, but holds a tag (with its attributes) or
                # a comment until its end: one without an end would fill the memory. Text
                # itself never runs this long in a spreadsheet (a cell stops at 32,767
                # characters), so any such run is refused.
                end = block.rfind(b">")
                run = run + len(block) if end < 0 else len(block) - end - 1
                if run > MARKUP_BYTES:
                    raise UnreadableFile(
                        f"its part {name} holds more than {MARKUP_BYTES // 2**20} MiB without "
                        "an XML tag end (no spreadsheet writes that)"
                    )
                parser.Parse(block, False)
                yield
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise UnreadableFile(f"its part {name} is not well-formed XML ({exc})") from None
        yield

    def read_all(self, name: str, start, end=None, text=None) -> None:
        for _ in self.parse(name, start, end, text):
            pass


def _compressed_read(stream, info: zipfile.ZipInfo) -> int:
    """Compressed bytes inflated so far: the ratio is checked against what was read, so a bomb
    that follows honest data is caught as soon as it starts. zipfile keeps the count in a private
    attribute; without it, the part's whole compressed size (a later, still bounded, check)."""
    left = getattr(stream, "_compress_left", None)
    consumed = info.compress_size - left if isinstance(left, int) else info.compress_size
    return max(consumed, 1)


def _check_member_count(path: Path, limits: ReadLimits) -> None:
    """Refuse an archive listing more parts than a workbook has before zipfile reads its
    directory into memory (a few hundred bytes per entry)."""
    with open(path, "rb") as stream:
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(max(0, size - 65_557))  # end record (22 bytes) and the longest comment
        tail = stream.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return  # zipfile will say what is wrong
    (entries,) = struct.unpack("<H", tail[at + 10 : at + 12])
    if entries > limits.zip_members:
        raise UnreadableFile(
            f"it is not a valid XLSX file (its archive lists {entries:,} parts; "
            f"a workbook has at most {limits.zip_members:,})"
        )


def _relationships(archive: _Archive, part: str) -> dict[str, tuple[str, str]]:
    """Id -> (type, part name) from the relationships of `part` ('' for the package)."""
    folder, base = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{base}.rels")
    found: dict[str, tuple[str, str]] = {}
    if rels not in archive.names:
        return found

    def start(name, attrs):
        if _local(name) == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            if target.startswith("/"):
                target = target[1:]
            else:
                target = posixpath.normpath(posixpath.join(folder, target))
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), target)

    archive.read_all(rels, start)
    return found


class Workbook:
    """Where the first sheet, the shared strings and the styles are, and the date system."""

    def __init__(self, archive: _Archive):
        self.archive = archive
        package = _relationships(archive, "")
        self.part = next(
            (target for kind, target in package.values() if kind.endswith(OFFICE_DOCUMENT)),
            "xl/workbook.xml",
        )
        sheets: list[str] = []
        flags = {"date1904": False}

        def start(name, attrs):
            local = _local(name)
            if local == "sheet":
                sheets.extend(v for k, v in attrs.items() if _local(k) == "id")
            elif local == "workbookPr":
                flags["date1904"] = attrs.get("date1904", "") in ("1", "true")

        archive.read_all(self.part, start)
        rels = _relationships(archive, self.part)
        folder = posixpath.dirname(self.part)
        self.sheet = rels[sheets[0]][1] if sheets and sheets[0] in rels else ""
        if self.sheet not in archive.names:
            fallback = posixpath.join(folder, "worksheets", "sheet1.xml")
            if fallback not in archive.names:
                raise UnreadableFile("it is not a valid XLSX file (it has no worksheet)")
            self.sheet = fallback
        by_type = {kind.rpartition("/")[2]: target for kind, target in rels.values()}
        self.shared_strings_part = by_type.get("sharedStrings", "")
        self.styles_part = by_type.get("styles", "")
        # Spreadsheet dates are wall-clock dates with no zone: naive on purpose.
        self.epoch = dt.datetime(1904, 1, 1) if flags["date1904"] else dt.datetime(1899, 12, 30)  # noqa: DTZ001
        self.date1904 = flags["date1904"]

    def shared_strings(self) -> tuple[list[str], dict[int, int]]:
        """The shared string table, and the length of each text longer than a cell may hold
        (by its index): such a text is kept cut (marked), and a cell using it rejects its row."""
        strings: list[str] = []
        overlong: dict[int, int] = {}
        part = self.shared_strings_part
        if not part or part not in self.archive.names:
            return strings, overlong
        limit = self.archive.limits.cell_chars
        state = {"in_t": False, "skip": 0, "size": 0}
        pieces: list[str] = []

        def start(name, attrs):
            local = _local(name)
            if local == "si":
                pieces.clear()
                state["size"] = 0
            elif local == "t" and not state["skip"]:
                state["in_t"] = True
            elif local == "rPh":  # phonetic guide (furigana): not part of the text
                state["skip"] += 1

        def end(name):
            local = _local(name)
            if local == "t":
                state["in_t"] = False
            elif local == "rPh":
                state["skip"] -= 1
            elif local == "si":
                text = "".join(pieces)
                if state["size"] > limit:
                    overlong[len(strings)] = state["size"]
                    text = cut_cell(text, state["size"], limit)
                strings.append(text)

        def text(data):
            if state["in_t"]:
                kept = limit - state["size"]
                state["size"] += len(data)
                if kept > 0:
                    pieces.append(data if len(data) <= kept else data[:kept])

        self.archive.read_all(part, start, end, text)
        return strings, overlong

    def date_styles(self) -> dict[int, str]:
        """Style index -> 'date', 'datetime' or 'time' for the styles that show dates."""
        part = self.styles_part
        if not part or part not in self.archive.names:
            return {}
        custom: dict[int, str | None] = {}
        formats: list[int] = []
        depth = {"cellXfs": 0}

        def start(name, attrs):
            local = _local(name)
            if local == "numFmt":
                with contextlib.suppress(ValueError):
                    custom[int(attrs.get("numFmtId", ""))] = _format_kind(
                        attrs.get("formatCode", "")
                    )
            elif local == "cellXfs":
                depth["cellXfs"] += 1
            elif local == "xf" and depth["cellXfs"]:
                try:
                    formats.append(int(attrs.get("numFmtId", "0")))
                except ValueError:
                    formats.append(0)

        def end(name):
            if _local(name) == "cellXfs":
                depth["cellXfs"] -= 1

        self.archive.read_all(part, start, end)
        kinds: dict[int, str] = {}
        for index, fmt in enumerate(formats):
            if fmt in custom:
                kind = custom[fmt]
            elif fmt == 22:
                kind = "datetime"
            else:
                kind = "date" if fmt in DATE_FORMATS else "time" if fmt in TIME_FORMATS else None
            if kind:
                kinds[index] = kind
        return kinds


def _number_text(value: str) -> str:
    """Whole numbers without '.0' (phone numbers are often typed as numbers)."""
    if value.isdigit():
        return value
    try:
        number = float(value)
    except ValueError:
        return value
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def _date_text(value: str, kind: str, epoch: dt.datetime, date1904: bool) -> str:
    try:
        serial = float(value)
    except ValueError:
        return value
    if not date1904 and serial < 60:
        serial += 1  # Excel counts 29 February 1900, a day that never was
    try:
        moment = epoch + dt.timedelta(seconds=round(serial * 86400))
    except OverflowError:
        return _number_text(value)
    if kind == "time" and serial < 1:
        return moment.time().isoformat()
    if moment.time() == dt.time():
        return moment.date().isoformat()
    return moment.isoformat()


class Sheet:
    """The first sheet of an XLSX file. `rows()` reads it afresh each time; the shared strings
    and the date styles are read once, on the first reading, and kept."""

    def __init__(self, path: Path, limits: ReadLimits):
        self.path = path
        self.limits = limits
        self._tables: tuple[list[str], dict[int, int], dict[int, str]] | None = None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells as text) for each row that holds a value, in file order. Cells
        are as a user sees them: whole numbers without '.0', dates in ISO form, formulas as
        their last computed value (never the formula)."""
        archive = _Archive(self.path, self.limits)
        try:
            book = Workbook(archive)
            if self._tables is None:
                self._tables = (*book.shared_strings(), book.date_styles())
            yield from _sheet_rows(archive, book, *self._tables)
        finally:
            archive.close()


def _sheet_rows(
    archive: _Archive,
    book: Workbook,
    strings: list[str],
    long_strings: dict[int, int],
    styles: dict[int, str],
) -> Iterator[tuple[int, list[str]]]:
    limits = archive.limits
    max_columns, max_rows, max_cells, max_chars = (
        limits.columns,
        limits.rows,
        limits.cells,
        limits.cell_chars,
    )
    epoch, date1904 = book.epoch, book.date1904
    ready: list[tuple[int, list[str]]] = []
    # The handlers' state, as closure variables: the fastest access Python offers them.
    row_number = rows_seen = 0
    cells: list[str] = []
    column = 0
    cell_type = "n"
    style = None
    capture = False
    value = ""  # the current cell's text, never longer than max_chars
    spilled = 0  # characters of the current cell beyond max_chars (not kept)
    overlong: list[tuple[int, int]] = []  # the current row's cells over max_chars
    total = 0
    phonetic = 0
    tags = TAGS
    known_columns: dict[str, int] = {}

    def start(name, attrs):
        nonlocal row_number, rows_seen, cells, column, cell_type, style, capture, value, phonetic
        nonlocal spilled, overlong
        tag = tags.get(name)
        if tag is None:
            return
        if tag == "c":
            ref = attrs.get("r")
            if ref:
                letters = ref.rstrip(DIGITS)
                column = known_columns.get(letters) or _learn_column(known_columns, ref, letters)
            else:
                column += 1
            cell_type = attrs.get("t", "n")
            style = attrs.get("s")
            value = ""
            spilled = 0
        elif tag == "v" or (tag == "t" and not phonetic):
            capture = True
        elif tag == "row":
            number = attrs.get("r")
            row_number = int(number) if number and number.isdigit() else row_number + 1
            # Empty rows count too: a sheet of nothing but <row/> is work all the same.
            rows_seen += 1
            if row_number > max_rows or rows_seen > max_rows:
                raise beyond_rows(limits, max(row_number, rows_seen))
            cells = []
            overlong = []
            column = 0
        elif tag == "rPh":
            phonetic += 1

    def end(name):
        nonlocal capture, total, phonetic, cells
        tag = tags.get(name)
        if tag is None:
            return
        if tag == "c":
            if not value:
                return
            if spilled:  # a text longer than a cell holds: kept cut, the row rejected
                length = len(value) + spilled
                overlong.append((column, length))
                shown = cut_cell(value, length, max_chars)
            elif cell_type == "s":
                try:
                    index = int(value)
                    shown = strings[index]
                except (ValueError, IndexError):
                    raise UnreadableFile(
                        f"cell {_ref(column, row_number)} refers to a text the file does not hold"
                    ) from None
                if long_strings and index in long_strings:
                    overlong.append((column, long_strings[index]))
            elif cell_type == "n":
                kind = styles.get(int(style)) if style and styles and style.isdigit() else None
                if kind:
                    shown = _date_text(value, kind, epoch, date1904)
                else:
                    shown = value if value.isdigit() else _number_text(value)
            elif cell_type == "b":
                shown = "true" if value.strip() in ("1", "true") else "false"
            else:
                shown = value
            if not shown:
                return
            if column > max_columns:
                raise beyond_columns(limits, row_number, column)
            width = len(cells)
            if column == width + 1:
                cells.append(shown)
            elif column > width:
                cells.extend([""] * (column - width - 1))
                cells.append(shown)
            else:  # out of order (a hand-made file): place it where it says
                cells[column - 1] = shown
        elif tag == "row":
            if cells:
                total += len(cells)
                if total > max_cells:
                    raise too_many_cells(limits, row_number)
                if overlong:
                    cells = OverlongRow(cells, row_number, overlong, max_chars)
                ready.append((row_number, cells))
        elif tag == "rPh":
            phonetic -= 1
        else:
            capture = False

    def text(data):
        nonlocal value, spilled
        if capture:
            # Text arrives in blocks of up to 64 KiB; what is kept stops at the cell's limit,
            # and the rest is only counted.
            if len(value) + len(data) > max_chars:
                kept = max_chars - len(value)
                spilled += len(data) - kept
                data = data[:kept]
            value += data

    for _ in archive.parse(book.sheet, start, end, text):
        if ready:
            yield from ready
            ready.clear()


def _ref(column: int, row: int) -> str:
    return f"{column_letters(column)}{row}"
