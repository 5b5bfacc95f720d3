"""Hostile import files, built in the tests: each is (file name, bytes, what the refusal says).

Shared by the reader tests and the API, web and CLI tests, so every interface is tried with the
same files. The large ones are streamed into the zip (never held whole) and built once.
"""

from __future__ import annotations

import csv
import functools
import io
import random
import zipfile
from xml.sax.saxutils import escape

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Leads" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_OPEN = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
HEADER = ["Full name", "E-mail"]


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def sheet(rows: str, *, before: str = "", prolog: str = "") -> str:
    header = cell("A1", HEADER[0]) + cell("B1", HEADER[1])
    data = cell("A2", "Ann Berg") + cell("B2", "ann@piql.com")
    return (
        f"{prolog}{SHEET_OPEN}{before}<sheetData>"
        f'<row r="1">{header}</row><row r="2">{data}</row>{rows}</sheetData></worksheet>'
    )


SHARED_STRINGS_REL = (
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)


def xlsx(sheet_xml: str | None = None, *, sheet_parts=None, shared_strings: str = "") -> bytes:
    """A minimal workbook; `sheet_parts` (an iterable of byte blocks) streams a large sheet;
    `shared_strings` is the shared string table's XML, if any."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        if shared_strings:
            rels = WORKBOOK_RELS.replace("</Relationships>", SHARED_STRINGS_REL)
            archive.writestr("xl/_rels/workbook.xml.rels", rels)
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        else:
            archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        if sheet_parts is None:
            archive.writestr("xl/worksheets/sheet1.xml", sheet_xml or sheet(""))
        else:
            info = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as stream:
                for block in sheet_parts:
                    stream.write(block)
    return buffer.getvalue()


def far_cell(ref: str) -> bytes:
    """A few cells and one far away: 1.5 KB that once asked for a 512 GiB grid."""
    row = "".join(ch for ch in ref if ch.isdigit())
    return xlsx(sheet(f'<row r="{row}">{cell(ref, "far")}</row>'))


def huge_dimension() -> bytes:
    """A sheet that declares the whole of Excel's grid and holds four cells: it is read as
    the four cells it holds."""
    return xlsx(sheet("", before='<dimension ref="A1:XFD1048576"/>'))


MIB = 1024 * 1024


def _huge_cell_blocks(mib: int):
    start = sheet("").replace("</sheetData></worksheet>", "")
    yield start.encode() + b'<row r="3"><c r="A3" t="inlineStr"><is><t>'
    block = b"a" * MIB
    for _ in range(mib):
        yield block
    yield b"</t></is></c></row></sheetData></worksheet>"


@functools.cache
def huge_cell(mib: int = 400) -> bytes:
    """A 400 MiB cell in a file of about 400 KB (decompression amplification)."""
    return xlsx(sheet_parts=_huge_cell_blocks(mib))


@functools.cache
def zip_bomb(mib: int = 256) -> bytes:
    """A sheet part that inflates to 256 MiB of empty rows, as Excel writes them (a kilobyte
    or so zipped)."""
    row = b'<row spans="1:2" ht="15" customHeight="1" hidden="0" outlineLevel="0"/>'

    def blocks():
        yield sheet("").replace("</sheetData></worksheet>", "").encode()
        block = row * (MIB // len(row))
        for _ in range(mib):
            yield block
        yield b"</sheetData></worksheet>"

    return xlsx(sheet_parts=blocks())


@functools.cache
def blanks(mib: int = 64) -> bytes:
    """64 MiB of blanks between two rows: character data, but no cell's."""

    def blocks():
        yield sheet("").replace("</sheetData></worksheet>", "").encode()
        block = b" " * MIB
        for _ in range(mib):
            yield block
        yield b"</sheetData></worksheet>"

    return xlsx(sheet_parts=blocks())


def billion_laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    prolog = f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
    return xlsx(sheet(f'<row r="3">{cell("A3", "x")}</row>', prolog=prolog))


def csv_of(lines: list[bytes]) -> bytes:
    return b"\r\n".join([b"Full name,E-mail", *lines]) + b"\r\n"


def long_field(mib: int = 50) -> bytes:
    """A CSV whose second row has a 50 MB field (in quotes, spread over lines)."""
    line = b"x" * 1000 + b"\n"
    body = line * (mib * MIB // len(line))
    return csv_of([b'"' + body + b'",ann@piql.com'])


def header_only() -> bytes:
    return csv_of([])


def binary_garbage() -> bytes:
    return random.Random(16).randbytes(64 * 1024)


def mixed_encodings() -> bytes:
    """One UTF-8 row among Windows-1252 and Latin-1 ones (rows pasted from another file), with
    every column a lead needs."""
    rest = ",Piql AS,Nordics,Expo 2026,Met at the stand,"
    lines = [
        ("Åse Ødegård,ase@piql.com", "utf-8"),
        ("Bjørn Dæhlie,bjorn@piql.com", "cp1252"),
        ("Zoë “Quote” Berg,zoe@piql.com", "cp1252"),
        ("Søren Ærø,soren@piql.com", "latin-1"),
    ]
    header = b"Full name,E-mail,Company,Business unit,Source,Details,Phone"
    return b"\r\n".join([header, *((text + rest).encode(code) for text, code in lines)]) + b"\r\n"


MIXED_NAMES = ["Åse Ødegård", "Bjørn Dæhlie", "Zoë “Quote” Berg", "Søren Ærø"]
# How the import report and the preview name the rows read in a legacy encoding (the Latin-1
# row's letters are in Windows-1252 too, so it is read as that).
MIXED_NOTE = (
    "The file mixes encodings: rows 3, 4 and 5 were read as Windows-1252, the other rows as UTF-8."
)

# A file with one cell over the cell limit (32,767 characters) among good rows: that row is
# rejected, the others import.
LEAD_HEADER = ["Full name", "E-mail", "Company", "Business unit", "Source", "Details", "Phone"]
OVERLONG_TEXT = "word " * 8_000  # 40,000 characters


def lead_cells(name: str, email: str, details: str = "Met at the stand") -> list[str]:
    return [name, email, "Piql AS", "Nordics", "Expo 2026", details, ""]


def overlong_rows() -> list[list[str]]:
    """Row 3's Details (column F) is over the limit; row 4's spans lines, as Excel writes a
    cell with Alt+Enter."""
    return [
        lead_cells("Ann Berg", "ann@piql.com"),
        lead_cells("Bo Li", "bo@piql.com", OVERLONG_TEXT),
        lead_cells("Cy Dahl", "cy@piql.com", "first line\nsecond line"),
        lead_cells("Di Ek", "di@piql.com"),
    ]


OVERLONG_REASON = (
    "Row 3: a cell may hold at most 32,767 characters; cell F3 (Details) holds 40,000."
)


def overlong_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(LEAD_HEADER)
    writer.writerows(overlong_rows())
    return buffer.getvalue().encode()


def overlong_xlsx(*, shared: bool = False) -> bytes:
    """The same rows as an XLSX sheet; the long text inline, or in the shared string table."""
    rows = [LEAD_HEADER, *overlong_rows()]
    xml_rows = []
    for number, cells in enumerate(rows, start=1):
        xml = []
        for index, text in enumerate(cells):
            ref = f"{chr(65 + index)}{number}"
            if shared and text == OVERLONG_TEXT:
                xml.append(f'<c r="{ref}" t="s"><v>0</v></c>')
            elif text:
                xml.append(cell(ref, text))
        xml_rows.append(f'<row r="{number}">{"".join(xml)}</row>')
    sheet_xml = f"{SHEET_OPEN}<sheetData>{''.join(xml_rows)}</sheetData></worksheet>"
    table = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<si><t>{OVERLONG_TEXT}</t></si></sst>"
    )
    return xlsx(sheet_xml, shared_strings=table if shared else "")


# (id, file name, builder): each holds `overlong_rows()` with row 3 over the cell limit.
OVERLONG = [
    ("csv", "long.csv", overlong_csv),
    ("xlsx-inline", "long.xlsx", overlong_xlsx),
    ("xlsx-shared", "long.xlsx", lambda: overlong_xlsx(shared=True)),
]

# (id, file name, builder, what the refusal says: "The file cannot be imported: ...")
REFUSED = [
    (
        "far-cell-XFD1048576",
        "far.xlsx",
        lambda: far_cell("XFD1048576"),
        "cell XFD1048576 is beyond column 500",
    ),
    (
        "far-cell-AAA40000",
        "far.xlsx",
        lambda: far_cell("AAA40000"),
        "cell AAA40000 is beyond column 500",
    ),
    # A cell over 32,767 characters rejects its row; one this long refuses the file on the
    # limits that bound memory: a run of XML without a tag end, a CSV cell over a line's limit.
    ("huge-cell", "huge.xlsx", huge_cell, "holds more than 1 MiB without an XML tag end"),
    ("zip-bomb", "bomb.xlsx", zip_bomb, "inflates more than 200 times"),
    (
        "long-csv-field",
        "long.csv",
        long_field,
        "a cell of row 2 holds more than 16,777,216 characters, the limit for a line",
    ),
    ("header-only", "empty.csv", header_only, "column names but no rows of data"),
    ("binary-garbage", "garbage.csv", binary_garbage, "binary data"),
    ("billion-laughs", "laughs.xlsx", billion_laughs, "declares a DOCTYPE or entities"),
]
