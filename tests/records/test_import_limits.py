"""The readers against hostile files: every one is refused quickly, naming the cell, row or part,
and memory stays bounded (no grid from a declared dimension, no cell read past its limit)."""

import datetime as dt
import random
import resource
import string
import time

import pytest

from salesline.records.importing.limits import ReadLimits, UnreadableFile, column_letters
from salesline.records.importing.reader import BLOCK, Spreadsheet, has_line_longer_than
from salesline.records.importing.rowtypes import OverlongRow
from tests.records import hostile


def read(tmp_path, data: bytes, name="file.xlsx", limits=None) -> tuple[list[str], list]:
    path = tmp_path / name
    path.write_bytes(data)
    sheet = Spreadsheet(path, limits)
    rows = list(sheet.rows())
    if not rows:
        raise UnreadableFile("no rows")
    return sheet.header, rows


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


READER_REFUSES = [case for case in hostile.REFUSED if case[0] != "header-only"]


@pytest.mark.parametrize(
    ("case", "name", "build", "message"), READER_REFUSES, ids=[c[0] for c in READER_REFUSES]
)
def test_every_hostile_file_is_refused_quickly_with_the_reason(
    tmp_path, case, name, build, message
):
    data = build()
    before = peak_rss_mib()
    started = time.perf_counter()
    with pytest.raises(UnreadableFile) as refused:
        read(tmp_path, data, name)
    assert message in str(refused.value), case
    assert time.perf_counter() - started < 10, case
    # The peak of the whole test process: grows by far less than the file inflates to.
    assert peak_rss_mib() - before < 200, case


def test_a_far_cell_names_the_cell_and_the_limit(tmp_path):
    with pytest.raises(UnreadableFile) as refused:
        read(tmp_path, hostile.far_cell("XFD1048576"))
    assert str(refused.value) == "cell XFD1048576 is beyond column 500 (SF), the limit"


def test_a_declared_dimension_is_not_a_grid(tmp_path):
    header, rows = read(tmp_path, hostile.huge_dimension())
    assert header == hostile.HEADER
    assert rows == [(2, ["Ann Berg", "ann@piql.com"])]


def test_rows_keep_their_numbers_and_gaps_are_absent(tmp_path):
    data = hostile.xlsx(hostile.sheet(f'<row r="40000">{hostile.cell("B40000", "far down")}</row>'))
    _, rows = read(tmp_path, data)
    assert rows == [(2, ["Ann Berg", "ann@piql.com"]), (40000, ["", "far down"])]


def test_a_row_beyond_the_row_limit_is_refused(tmp_path):
    data = hostile.xlsx(hostile.sheet(f'<row r="70">{hostile.cell("A70", "x")}</row>'))
    with pytest.raises(UnreadableFile, match="row 70 is beyond row 50, the limit"):
        read(tmp_path, data, limits=ReadLimits(rows=50))


def test_a_run_of_blanks_is_refused_like_an_endless_tag(tmp_path):
    with pytest.raises(UnreadableFile, match="holds more than 1 MiB without an XML tag end"):
        read(tmp_path, hostile.blanks())


def test_inflated_bytes_are_capped_whatever_the_ratio(tmp_path):
    limits = ReadLimits(ratio=10**9, unzipped_bytes=2 * 1024 * 1024)
    with pytest.raises(UnreadableFile, match="inflates to more than 2 MiB, the limit"):
        read(tmp_path, hostile.zip_bomb(), limits=limits)


def test_an_endless_tag_is_refused_before_expat_holds_it(tmp_path):
    """Text is checked as it arrives; a tag is not, so a 4 MB attribute is stopped by size."""
    letters = random.Random(4).choices(string.ascii_letters, k=4_000_000)
    rows = f'<row r="3"><c r="A3" note="{"".join(letters)}"><v>1</v></c></row>'
    with pytest.raises(UnreadableFile, match="holds more than 1 MiB without an XML tag end"):
        read(tmp_path, hostile.xlsx(hostile.sheet(rows)))


@pytest.mark.parametrize(
    ("name", "build"), [pytest.param(*c[1:], id=c[0]) for c in hostile.OVERLONG]
)
def test_a_cell_over_the_cell_limit_rejects_its_row_and_the_next_rows_are_read(
    tmp_path, name, build
):
    """CSV, XLSX inline text and XLSX shared text alike: the row is an OverlongRow naming the
    row, the cell, its column and the limit, its long cell cut (marked) within the limit; the
    rows after it, a cell spanning lines included, are read as written."""
    header, rows = read(tmp_path, build(), name)
    assert header == hostile.LEAD_HEADER
    assert [number for number, _ in rows] == [2, 3, 4, 5]
    [(_, long_row)] = [(n, cells) for n, cells in rows if isinstance(cells, OverlongRow)]
    assert long_row.reason == hostile.OVERLONG_REASON
    assert long_row.columns == {5}
    assert long_row[:5] == hostile.overlong_rows()[1][:5]
    assert len(long_row[5]) <= 32_767
    assert long_row[5].endswith(" … [cut: the cell held 40,000 characters]")
    assert long_row[5].startswith("word word")
    # (an XLSX row leaves out its empty last cell)
    expected = [hostile.overlong_rows()[i][:6] for i in (0, 2, 3)]
    assert [cells[:6] for n, cells in rows if n != 3] == expected


def test_a_csv_cell_over_the_limit_far_down_is_found_without_repeating_a_row(tmp_path):
    """The fast reading stops at the long cell; the careful one that follows hands out the
    rest, from the row after the last one handed out."""
    lines = [b"Name,Notes"] + [f'P{i},"a\nb"'.encode() for i in range(40)]
    lines[30] = b'P29,"' + b"y" * 50 + b'"'
    _, rows = read(tmp_path, b"\n".join(lines) + b"\n", "f.csv", ReadLimits(cell_chars=20))
    assert [number for number, _ in rows] == list(range(2, 42))
    assert [cells[0] for _, cells in rows] == [f"P{i}" for i in range(40)]
    assert [n for n, cells in rows if isinstance(cells, OverlongRow)] == [31]
    assert all(cells[1] == "a\nb" for n, cells in rows if n != 31)


def test_careful_and_fast_readings_side_by_side_keep_their_limits(tmp_path):
    """csv's field limit belongs to the process: a careful reading raises it only while it
    reads, so a fast reading beside it still stops at a long cell."""
    limits = ReadLimits(cell_chars=20)
    first = tmp_path / "a.csv"
    first.write_bytes(b"Name,Notes\nA," + b"x" * 30 + b"\nB,ok\nC,ok\n")
    second = tmp_path / "b.csv"
    second.write_bytes(b"Name,Notes\nD,ok\nE,ok\nF," + b"z" * 30 + b"\n")
    one, two = Spreadsheet(first, limits).rows(), Spreadsheet(second, limits).rows()
    seen = []
    for pair in zip(one, two, strict=True):
        seen += [(number, isinstance(cells, OverlongRow)) for number, cells in pair]
    assert seen == [(2, True), (2, False), (3, False), (3, False), (4, False), (4, True)]


def test_a_column_name_over_the_cell_limit_refuses_the_file(tmp_path):
    with pytest.raises(UnreadableFile, match="cell B1 holds more than 20 characters"):
        read(tmp_path, b"Name," + b"n" * 30 + b"\nAnn,x\n", "f.csv", ReadLimits(cell_chars=20))


def test_a_long_shared_string_rejects_only_the_rows_that_use_it(tmp_path):
    table = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<si><t>{'y' * 40_000}</t></si><si><t>short</t></si></sst>"
    )
    unused = hostile.xlsx(hostile.sheet(""), shared_strings=table)
    assert read(tmp_path, unused)[1] == [(2, ["Ann Berg", "ann@piql.com"])]
    used = '<row r="3"><c r="A3" t="s"><v>1</v></c><c r="B3" t="s"><v>0</v></c></row>'
    _, rows = read(tmp_path, hostile.xlsx(hostile.sheet(used), shared_strings=table))
    assert rows[1][1][0] == "short" and isinstance(rows[1][1], OverlongRow)
    assert rows[1][1].reason.endswith("cell B3 (E-mail) holds 40,000.")


def test_shared_strings_are_read_without_their_phonetic_guides(tmp_path):
    table = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><t>Plain</t></si>"
        '<si><r><t>Ri</t></r><r><t>ch</t></r><rPh sb="0" eb="1"><t>guide</t></rPh></si>'
        "</sst>"
    )
    rows = '<row r="3"><c r="A3" t="s"><v>1</v></c><c r="B3" t="s"><v>0</v></c></row>'
    _, read_rows = read(tmp_path, hostile.xlsx(hostile.sheet(rows), shared_strings=table))
    assert read_rows[-1] == (3, ["Rich", "Plain"])
    bad = '<row r="3"><c r="A3" t="s"><v>7</v></c></row>'
    with pytest.raises(UnreadableFile, match="cell A3 refers to a text the file does not hold"):
        read(tmp_path, hostile.xlsx(hostile.sheet(bad), shared_strings=table))


def test_a_header_only_file_has_a_header_and_no_rows(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(hostile.header_only())
    sheet = Spreadsheet(path)
    assert sheet.header == hostile.HEADER and list(sheet.rows()) == []


def test_csv_columns_beyond_the_limit_are_refused_but_empty_ones_ignored(tmp_path):
    limits = ReadLimits(columns=3)
    header, rows = read(tmp_path, b"a,b,c,,,\n1,2,3,,\n", "f.csv", limits)
    assert header == ["a", "b", "c"] and rows == [(2, ["1", "2", "3"])]
    with pytest.raises(UnreadableFile, match="cell E2 is beyond column 3"):
        read(tmp_path, b"a,b,c\n1,2,3,,x\n", "f.csv", limits)


def test_csv_cells_are_counted(tmp_path):
    with pytest.raises(UnreadableFile, match="more than 7 cells .reached at row 4."):
        read(tmp_path, b"a,b\n1,2\n3,4\n5,6\n", "f.csv", ReadLimits(cells=7))


def test_an_endless_csv_line_is_cut_at_the_line_limit(tmp_path):
    data = b"a,b\n" + b"x" * 5000 + b"\n"
    with pytest.raises(UnreadableFile, match="line 2 is longer than 1,000 characters"):
        read(tmp_path, data, "f.csv", ReadLimits(line_chars=1000))


def test_mixed_encodings_are_decoded_row_by_row(tmp_path):
    _, rows = read(tmp_path, hostile.mixed_encodings(), "mixed.csv")
    assert [cells[0] for _, cells in rows] == hostile.MIXED_NAMES


def test_the_rows_read_in_a_legacy_encoding_are_named(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(hostile.mixed_encodings())
    # Read for them when no reading of every row has told yet (the preview reads 5 rows).
    assert Spreadsheet(path).notes() == [hostile.MIXED_NOTE]


def test_the_rows_named_are_capped_to_a_readable_length(tmp_path):
    lines = ["Name,Notes", "Åse,x"] + [f"Bj\xf8rn {i},x" for i in range(130)]
    data = b"\n".join(line.encode("utf-8" if i < 2 else "cp1252") for i, line in enumerate(lines))
    path = tmp_path / "many.csv"
    path.write_bytes(data + b"\n")
    sheet = Spreadsheet(path)
    assert len(list(sheet.rows())) == 131
    assert sheet.notes() == [
        "The file mixes encodings: rows 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 … and 120 more were "
        "read as Windows-1252, the other rows as UTF-8."
    ]


def test_a_file_wholly_in_a_legacy_encoding_says_so_and_a_utf8_one_says_nothing(tmp_path):
    path = tmp_path / "old.csv"
    path.write_bytes("Name,Notes\nBjørn,x\nCy,y\n".encode("cp1252"))
    assert Spreadsheet(path).notes() == ["The file is not UTF-8: it was read as Windows-1252."]
    path.write_bytes("Name,Notes\nBjørn,x\n".encode("latin-1") + b"Cy,\x81\n")
    assert Spreadsheet(path).notes() == ["The file is not UTF-8: it was read as Latin-1."]
    path.write_bytes("Name,Notes\nBjørn,x\n".encode())
    assert Spreadsheet(path).notes() == []


def test_utf8_with_a_bad_utf16_body_is_refused_naming_the_line(tmp_path):
    with pytest.raises(UnreadableFile, match="is not utf-16 text"):
        read(tmp_path, b"\xff\xfeN\x00\x00\xd8", "odd.csv")


def test_xlsx_cells_read_as_a_user_sees_them(tmp_path):
    """Numbers, dates (built-in and custom formats, the 1900 leap-year bug), booleans, shared
    and inline strings, phonetic guides left out, a formula's value and never the formula."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Phone", "Born", "Met", "Ok", "Ratio", "Formula"])
    sheet.append(
        [
            "Åse",
            447700900123,
            dt.date(1980, 2, 29),
            dt.datetime(2026, 5, 1, 9, 30),  # noqa: DTZ001 - a sheet's wall clock
            True,
            0.25,
            "=1+1",
        ]
    )
    sheet["C2"].number_format = "dd/mm/yyyy"
    sheet["D2"].number_format = "yyyy-mm-dd hh:mm"
    path = tmp_path / "book.xlsx"
    book.save(path)
    reader = Spreadsheet(path)
    assert reader.header == ["Name", "Phone", "Born", "Met", "Ok", "Ratio", "Formula"]
    assert list(reader.rows()) == [
        (2, ["Åse", "447700900123", "1980-02-29", "2026-05-01T09:30:00", "true", "0.25"])
    ]


def test_column_letters():
    assert [column_letters(n) for n in (1, 26, 27, 500, 703, 16384)] == [
        "A",
        "Z",
        "AA",
        "SF",
        "AAA",
        "XFD",
    ]


def test_limits_come_from_a_mapping_and_refuse_unknown_names():
    assert ReadLimits.of({"columns": "20"}).columns == 20
    assert ReadLimits.of(None) == ReadLimits()
    with pytest.raises(ValueError, match="unknown import limits: colums"):
        ReadLimits.of({"colums": 20})


@pytest.mark.parametrize(
    ("data", "limit", "longer"),
    [
        (b"a\n" + b"x" * (3 * BLOCK) + b"\n", 2 * BLOCK, True),  # across block edges
        (b"a\n" + b"x" * BLOCK + b"\nb\n", 2 * BLOCK, False),
        (b"x" * (2 * BLOCK + 5), 2 * BLOCK, True),  # no line break at all
        (b"ab\n" * BLOCK, BLOCK, False),
        (b"ab\n", 10, True),  # a limit below a block: the careful path decides
    ],
)
def test_long_lines_are_found_before_csv_gets_the_file(tmp_path, data, limit, longer):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert has_line_longer_than(path, limit) is longer
