"""vCard files: read card by card (vCard 2.1, 3.0 and 4.0), a malformed card rejected alone with
its number, bounded against hostile files, and imported through the same engine."""

import pytest

from salesline.records.importing import services as imports
from salesline.records.importing.files import open_table
from salesline.records.importing.reader import UnreadableFile
from salesline.records.importing.rows import UnreadableRow
from salesline.records.importing.vcard import COLUMNS, Limits, VCardBook, is_vcard
from salesline.records.models import Company, Lead, Person

V4 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Ann Berg\r\n"
    "N:Berg;Ann;;;\r\n"
    "ORG:Piql AS\r\n"
    "TITLE:Head of Sales\r\n"
    "EMAIL;TYPE=home:ann.berg@gmail.com\r\n"
    "EMAIL;TYPE=work;PREF=1:ann@piql.com\r\n"
    'TEL;VALUE=uri;TYPE="voice,cell":tel:+47-912-34-567\r\n'
    "TEL;VALUE=uri;TYPE=work;PREF=1:tel:+44-20-7946-0018\r\n"
    "URL:https://www.linkedin.com/in/annberg\r\n"
    "NOTE:A long note folded over\r\n"
    "  two lines\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Broken Card\r\n"
    "this line has no colon\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Bo Li\r\n"
    "EMAIL:bo@lund.se\r\n"
    "ORG:Lund AB;R&D\r\n"
    "END:VCARD\r\n"
)

V3 = (
    "BEGIN:VCARD\n"
    "VERSION:3.0\n"
    "N:Dahl;Cy;;;\n"
    "FN:Cy Dahl\n"
    "EMAIL;TYPE=INTERNET,WORK:cy@dahl.no\n"
    "TEL;TYPE=FAX:020 7946 0099\n"
    "TEL;TYPE=HOME:+47 22 12 34 56\n"
    "TEL;TYPE=CELL:+47 912 34 567\n"
    "END:VCARD\n"
    "BEGIN:VCARD\n"
    "VERSION:3.0\n"
    "FN:Di Ek\n"
    "EMAIL:di@ek.se\n"
    # no END:VCARD: the next card begins
    "BEGIN:VCARD\n"
    "VERSION:3.0\n"
    "FN:Eva Fis\n"
    "EMAIL:eva@fis.no\n"
    "END:VCARD\n"
)

V21 = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C3=98deg=C3=A5rd;=C3=85se;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C3=85se =C3=98deg=C3=A5rd\r\n"
    "TEL;WORK;VOICE:+4722123456\r\n"
    "TEL;CELL:+4791234567\r\n"
    "EMAIL;INTERNET:ase@piql.com\r\n"
    "PHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQSkZJRgABAQ\r\n"
    " AAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8Q\r\n"
    "\r\n"
    "END:VCARD\r\n"
)


def book(tmp_path, text, name="cards.vcf", encoding="utf-8", **limits):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return VCardBook(path, Limits(**limits)) if limits else open_table(path)


def cells_of(row):
    return dict(zip(COLUMNS, row, strict=True))


def test_vcard_4_cards_are_rows_numbered_from_one(tmp_path):
    table = book(tmp_path, V4)
    assert isinstance(table, VCardBook)
    assert table.header == COLUMNS and table.first_row == 1
    assert table.estimated_rows() == 3
    rows = list(table.rows())
    assert [number for number, _ in rows] == [1, 2, 3]
    ann = cells_of(rows[0][1])
    assert ann["Name"] == "Ann Berg" and (ann["First name"], ann["Last name"]) == ("Ann", "Berg")
    # the preferred e-mail and phone first, the others after them in one cell
    assert ann["E-mail"] == "ann@piql.com ::: ann.berg@gmail.com"
    assert ann["Phone"] == "+44-20-7946-0018 ::: +47-912-34-567"
    assert (ann["Company"], ann["Job title"]) == ("Piql AS", "Head of Sales")
    assert ann["Website"] == "https://www.linkedin.com/in/annberg"
    assert ann["Notes"] == "A long note folded over two lines"
    assert cells_of(rows[2][1])["Company"] == "Lund AB"


def test_a_malformed_card_is_an_unreadable_row_with_its_number_and_reason(tmp_path):
    rows = list(book(tmp_path, V4).rows())
    number, broken = rows[1]
    assert number == 2 and isinstance(broken, UnreadableRow)
    assert broken.reason.startswith("Card 2 (line 15) cannot be read:")
    assert "this line has no colon" in broken.reason
    assert cells_of(broken)["Name"] == "Broken Card"  # so the report says whose card it is
    assert not isinstance(rows[2][1], UnreadableRow)


def test_vcard_3_a_card_without_its_end_is_rejected_and_the_next_one_read(tmp_path):
    rows = list(book(tmp_path, V3).rows())
    assert [number for number, _ in rows] == [1, 2, 3]
    cy = cells_of(rows[0][1])
    assert cy["Phone"] == "+47 912 34 567 ::: +47 22 12 34 56"  # mobile before home; no fax
    assert rows[1][1].reason == "Card 2 (line 10) it has no END:VCARD before the next card."
    assert cells_of(rows[2][1])["E-mail"] == "eva@fis.no"


def test_vcard_2_1_quoted_printable_and_its_photo(tmp_path):
    [(number, cells)] = list(book(tmp_path, V21).rows())
    row = cells_of(cells)
    assert (row["Name"], row["First name"], row["Last name"]) == ("Åse Ødegård", "Åse", "Ødegård")
    assert row["Phone"] == "+4722123456 ::: +4791234567"
    assert row["E-mail"] == "ase@piql.com"


def test_a_vcard_file_is_recognised_by_its_content_whatever_its_encoding(tmp_path):
    for name, data in [
        ("a.vcf", ("\ufeff" + V3).encode("utf-8")),
        ("b.txt", ("\ufeff" + V3).encode("utf-16")),
        ("c", ("\r\n\r\n" + V3).encode()),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        assert is_vcard(path)
        assert [n for n, _ in VCardBook(path).rows()] == [1, 2, 3]
    path = tmp_path / "d.csv"
    path.write_text("Name,Email\nBEGIN:VCARD,x\n")
    assert not is_vcard(path)


def test_the_bounds_reject_a_card_or_the_file_never_the_memory(tmp_path):
    long_note = "NOTE:" + "x" * 5000 + "\r\n"
    text = V4.replace("FN:Bo Li\r\n", "FN:Bo Li\r\n" + long_note)
    rows = list(book(tmp_path, text, line_chars=1000).rows())
    assert rows[2][1].reason == "Card 3 (line 20) line 23 is longer than 1,000 characters."
    assert cells_of(rows[0][1])["Name"] == "Ann Berg"
    rows = list(book(tmp_path, text, card_chars=2000).rows())
    assert "it is longer than 2,000 characters without its photo" in rows[2][1].reason
    # A photo on one long line is dropped, not counted.
    photo = "PHOTO;ENCODING=b:" + "A" * 5000 + "\r\n"
    rows = list(
        book(tmp_path, V4.replace("FN:Bo Li\r\n", "FN:Bo Li\r\n" + photo), line_chars=1000).rows()
    )
    assert not isinstance(rows[2][1], UnreadableRow)
    with pytest.raises(UnreadableFile, match="holds 3 cards; the limit is 2"):
        book(tmp_path, V4, cards=2)
    with pytest.raises(UnreadableFile, match="the vCard file is 0.0 MiB; the limit is 0 MiB"):
        book(tmp_path, V4, file_bytes=100)
    with pytest.raises(UnreadableFile, match="no card"):
        VCardBook(_write(tmp_path, "BEGIN:VCARDS are nice\n"))


def _write(tmp_path, text):
    path = tmp_path / "x.vcf"
    path.write_text(text)
    return path


# ------------------------------------------------------------------ through the engine


def test_a_vcard_import_rejects_the_malformed_cards_and_imports_the_others(
    team_lead_actor, tmp_path
):
    actor = team_lead_actor
    path = tmp_path / "cards.vcf"
    path.write_text(V4 + V3)
    reports = []
    for dry_run in (True, False):
        job = imports.import_create(
            actor=actor, kind="people", file=path, file_name="c.vcf", region="GB", dry_run=dry_run
        )
        assert job.total_rows == 6
        job = imports.import_execute(actor=actor, import_id=job.pk)
        reports.append(imports.import_report(job))
    dry, report = reports
    assert dry["rejected"] == report["rejected"] and dry["created"] == report["created"] == 4
    assert report["rejected"] == [
        {
            "row": 2,
            "name": "Broken Card",
            "email": "",
            "field": "row",
            "reason": "Card 2 (line 15) cannot be read: Failed to parse line: "
            "this line has no colon.",
        },
        {
            "row": 5,
            "name": "Di Ek",
            "email": "",
            "field": "row",
            "reason": "Card 5 (line 35) it has no END:VCARD before the next card.",
        },
    ]
    assert (job.rows_done, job.total_rows) == (6, 6)
    assert set(Person.objects.filter(import_job=job).values_list("email", flat=True)) == {
        "ann@piql.com",
        "bo@lund.se",
        "cy@dahl.no",
        "eva@fis.no",
    }
    lines = list(imports.rejected_rows_csv(job))
    assert lines[0].lstrip("\ufeff").startswith("row,reason,Name,First name,")
    assert lines[1].startswith("2,Card 2 (line 15) cannot be read") and "Broken Card" in lines[1]


def test_vcard_cards_import_as_leads(team_lead_actor, tmp_path):
    path = tmp_path / "cards.vcf"
    path.write_text(V4)
    job = imports.import_create(
        actor=team_lead_actor, kind="leads", file=path, file_name="cards.vcf", region="GB"
    )
    done = imports.import_execute(actor=team_lead_actor, import_id=job.pk)
    assert (done.created, done.rejected) == (2, 1)
    ann = Lead.objects.get(import_job=done, email="ann@piql.com")
    assert ann.phone == "+442079460018"
    assert ann.linkedin == "https://www.linkedin.com/in/annberg"
    assert ann.details.split("\n") == [
        "A long note folded over two lines",
        "Title: Head of Sales",
        "E-mail: ann.berg@gmail.com",
        "Phone: +4791234567",
    ]
    assert Lead.objects.get(import_job=done, email="bo@lund.se").company_name == "Lund AB"
    imports.import_undo(actor=team_lead_actor, import_id=done.pk)
    assert not Lead.objects.filter(import_job=done, deleted_at=None).exists()


APPLE_COMPANY = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:;;;;\r\n"
    "FN:Acme Archives AS\r\n"
    "ORG:Acme Archives AS;\r\n"
    "TEL;type=WORK;type=VOICE;type=pref:+47 22 12 34 56\r\n"
    "item1.URL;type=pref:acme.example\r\n"
    "item1.X-ABLabel:_$!<HomePage>!$_\r\n"
    "X-ABShowAs:COMPANY\r\n"
    "END:VCARD\r\n"
)
V4_ORG = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "KIND:org\r\n"
    "FN:Lund Bibliotek\r\n"
    "URL:https://lund.example/\r\n"
    "EMAIL:post@lund.example\r\n"
    "END:VCARD\r\n"
)
PERSON_CARD = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann Berg\r\nEMAIL:ann@piql.com\r\n"
    "ORG:Piql AS\r\nEND:VCARD\r\n"
)


def import_cards(actor, tmp_path, text, kind):
    path = tmp_path / "cards.vcf"
    path.write_text(text)
    job = imports.import_create(actor=actor, kind=kind, file=path, file_name="cards.vcf")
    return imports.import_execute(actor=actor, import_id=job.pk)


def test_an_organisations_card_is_read_as_one(tmp_path):
    rows = list(book(tmp_path, APPLE_COMPANY + V4_ORG + PERSON_CARD).rows())
    assert [row.organisation for _, row in rows] == [True, True, False]
    apple, lund, ann = (cells_of(row) for _, row in rows)
    assert (apple["Name"], apple["Company"], apple["Last name"]) == ("Acme Archives AS",) * 2 + (
        "",
    )
    assert apple["Website"] == "acme.example" and apple["Phone"] == "+47 22 12 34 56"
    assert (lund["Name"], lund["Company"]) == ("Lund Bibliotek", "Lund Bibliotek")
    assert (ann["Name"], ann["Company"]) == ("Ann Berg", "Piql AS")


@pytest.mark.parametrize("kind", ["people", "leads"])
def test_an_organisations_card_is_not_imported_as_a_person(team_lead_actor, tmp_path, kind):
    job = import_cards(team_lead_actor, tmp_path, APPLE_COMPANY + PERSON_CARD + V4_ORG, kind)
    assert (job.created, job.rejected) == (1, 2)
    assert imports.import_report(job)["rejected"] == [
        {
            "row": 1,
            "name": "Acme Archives AS",
            "email": "",
            "field": "row",
            "reason": "Card 1 (line 1): this card is an organisation, not a person; import it "
            "with the companies.",
        },
        {
            "row": 3,
            "name": "Lund Bibliotek",
            "email": "post@lund.example",
            "field": "row",
            "reason": "Card 3 (line 17): this card is an organisation, not a person; import "
            "it with the companies.",
        },
    ]


def test_organisations_cards_import_as_companies_and_a_persons_card_does_not(
    team_lead_actor, tmp_path
):
    job = import_cards(team_lead_actor, tmp_path, APPLE_COMPANY + PERSON_CARD + V4_ORG, "companies")
    assert (job.created, job.rejected) == (2, 1)
    companies = Company.objects.filter(import_job=job).order_by("name")
    assert [(c.name, c.website) for c in companies] == [
        ("Acme Archives AS", "https://acme.example"),
        ("Lund Bibliotek", "https://lund.example"),
    ]
    [rejected] = imports.import_report(job)["rejected"]
    assert rejected["row"] == 2 and rejected["reason"] == (
        "Card 2 (line 11): this card is a person, not an organisation; import it with the "
        "people (their company is created from the card's ORG) or the leads."
    )


def test_a_vcard_report_numbers_cards_not_rows(team_lead_actor, tmp_path):
    twice = PERSON_CARD + PERSON_CARD.replace("FN:Ann Berg", "FN:Ann B.")
    job = import_cards(team_lead_actor, tmp_path, twice, "people")
    assert (job.file_kind, job.unit, job.created, job.duplicates) == ("vcard", "card", 1, 1)
    [duplicate] = imports.import_report(job)["duplicate_rows"]
    assert (duplicate["row"], duplicate["reason"]) == (2, "same e-mail as card 1")
    # A spreadsheet's report still numbers rows.
    path = tmp_path / "people.csv"
    path.write_text("Name,E-mail\nBo Li,bo@lund.se\nBo L.,bo@lund.se\n")
    job = imports.import_create(actor=team_lead_actor, kind="people", file=path, file_name="p.csv")
    job = imports.import_execute(actor=team_lead_actor, import_id=job.pk)
    assert (job.file_kind, job.unit) == ("csv", "row")
    assert imports.import_report(job)["duplicate_rows"][0]["reason"] == "same e-mail as row 2"


@pytest.fixture
def team_lead_actor(db):
    from salesline.accounts import services as accounts
    from salesline.process import services as process_services

    org = process_services.organisation_create(name="Lund", template="partnerships")
    user = accounts.user_create(
        actor=accounts.system_actor(org), email="bo@lund.test", role="salesperson"
    )
    return accounts.actor_for(user, org)
