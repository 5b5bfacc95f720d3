"""Word search: the start of any word of names, e-mails, company names and phone digits, case-
and accent-insensitive, whole-name matches first, found by the database's word index (FTS5 on
SQLite, GIN on PostgreSQL) and kept in step by every write path."""

import datetime as dt
import io

import pytest
from django.db import connection
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline.services import opportunity_create
from salesline.process.definition.templates import template_text
from salesline.process.services import process_load
from salesline.records import matching, search_index
from salesline.records import services as records
from salesline.records.fields import KINDS
from salesline.records.filters import parse_list_query
from salesline.records.importing import services as imports
from salesline.records.models import Lead
from salesline.records.selectors import record_list
from tests.records.test_import import csv_bytes, lead_row


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def names_only(org, other_org):
    """Both organisations ask only for a name: each test's records carry just the words it
    searches for."""
    text = "".join(
        f"  {line.split(':')[0].strip()}: [name]\n"
        if line.startswith("  ") and line.split(":")[0].strip() in KINDS and "[" in line
        else line + "\n"
        for line in template_text("business-development").splitlines()
    )
    for organisation in (org, other_org):
        process_load(actor=accounts.system_actor(organisation), text=text)


def lead(actor, name, **data):
    return records.record_create(actor=actor, kind="lead", data={"name": name, **data})


def found(actor, q, kind="lead", **params):
    query = parse_list_query(KINDS[kind], {"q": q, **params}, lambda: [])
    return [row.pk for row in record_list(actor=actor, kind=kind, query=query).items]


def word_index_ids(model, organisation, word="zz") -> set[int]:
    """The ids the word index itself holds for a word of an organisation, live or deleted."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            fts = search_index.fts_table(table)
            cursor.execute(
                f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s",  # noqa: S608
                [f'words : "{word}"*'],
            )
        else:
            words = search_index.pg_words(table)
            cursor.execute(
                f"SELECT id FROM {table} WHERE ({words} @@ %s::tsquery AND deleted_at IS NULL) "  # noqa: S608
                f"OR ({words} @@ %s::tsquery AND deleted_at IS NOT NULL)",
                [f"'{organisation.pk}:{word}':*"] * 2,
            )
        return {pk for (pk,) in cursor.fetchall()}


# ---------------------------------------------------------------- the words


def test_search_text_holds_the_words_of_name_email_company_and_phone():
    text = matching.search_text(
        "Asha Rao",
        email="asha.rao@Madhya-Records.co.in",
        company_name="Madhya Records Court",
        phone="+442079460958",
    )
    assert text.split() == [
        "asha", "rao", "madhya", "records", "co", "in", "court",
        "442079460958", "2079460958", "02079460958",
    ]  # fmt: skip
    assert matching.search_text("Zoë ØDEGÅRD") == "zoe ødegard"


def test_query_words_fold_and_join_a_phone_number():
    assert matching.query_words("ZOË  Ødeg") == ["zoe", "ødeg"]
    assert matching.query_words("+44 (20) 7946-09") == ["4420794609"]
    assert matching.query_words("o'brien") == ["obrien"]  # apostrophes join (see below)
    assert matching.query_words("--") == []


def test_an_apostrophe_joins_a_word_as_well_as_splitting_it():
    assert matching.search_text("Ann O'Connor") == "ann o connor oconnor"
    assert matching.search_text("Rahul D’Souza") == "rahul d souza dsouza"
    assert matching.last_word("Ann O'Connor") == "oconnor"
    assert matching.last_word("राहुल डी’सूज़ा") == "डीसूजा"
    assert matching.query_words("O’Co") == ["oco"]


# ---------------------------------------------------------------- finding


def test_a_name_with_an_apostrophe_is_found_as_typed_and_ranked_as_a_surname(actor):
    connor = lead(actor, "Ann O'Connor")
    connell = lead(actor, "Cian O’Connell")
    lead(actor, "Olav Cobb")  # a word starting "o" and one starting "co": not "o'co"
    hindi = lead(actor, "राहुल डी’सूज़ा")
    souza = lead(actor, "Rahul D'Souza")

    assert found(actor, "o'co") == [connell.pk, connor.pk]  # surnames, in surname order
    assert found(actor, "O’Conn") == [connell.pk, connor.pk]
    assert found(actor, "connor") == [connor.pk]  # the part is still a word
    assert found(actor, "डी’सू") == [hindi.pk]
    assert found(actor, "d'souza") == [souza.pk]
    assert found(actor, "dsou") == [souza.pk]


def test_a_word_anywhere_in_the_name_is_found(actor):
    court = lead(actor, "Madhya Records Court")
    asha = lead(actor, "Asha Rao")
    raoul = lead(actor, "Raoul Records")  # "rao" starts "raoul": a whole-name prefix

    assert found(actor, "records") == [raoul.pk, court.pk]  # newest first
    assert found(actor, "rao") == [raoul.pk, asha.pk]
    assert found(actor, "RAO") == [raoul.pk, asha.pk]
    assert found(actor, "ao") == []  # the start of a word, not any substring


def test_accents_and_case_do_not_matter_either_way(actor):
    zoe_accent = lead(actor, "Zoë Berg")
    zoe_plain = lead(actor, "Zoe Dahl")

    assert set(found(actor, "zoe")) == {zoe_accent.pk, zoe_plain.pk}
    assert set(found(actor, "ZOË")) == {zoe_accent.pk, zoe_plain.pk}
    assert found(actor, "dähl") == [zoe_plain.pk]


def test_email_domain_company_name_and_phone_digits_are_found(actor):
    kari = lead(
        actor,
        "Kari Nordmann",
        email="kari@fjord-archive.no",
        company_name="Bergen Byarkiv",
        phone="+4722334455",
    )
    lead(actor, "Someone Else", email="else@other.no", phone="+4790000000")

    assert found(actor, "fjord") == [kari.pk]
    assert found(actor, "fjord-archive.no") == [kari.pk]
    assert found(actor, "byarkiv") == [kari.pk]
    assert found(actor, "+47 22 33") == [kari.pk]
    assert found(actor, "22334455") == [kari.pk]  # the national number
    assert found(actor, "022 33") == [kari.pk]  # written with a trunk 0
    assert found(actor, "2233 kari") == [kari.pk]


def test_several_words_must_all_match(actor):
    asha = lead(actor, "Asha Rao", company_name="Madhya Records")
    lead(actor, "Asha Menon", company_name="Kerala Archives")

    assert found(actor, "asha records") == [asha.pk]
    assert found(actor, "rao kerala") == []


@pytest.mark.parametrize("ordering", ["name", "-created_at"])
def test_a_one_letter_word_is_tested_on_the_rows_and_still_must_match(actor, ordering):
    first = lead(actor, "Ola Nordmann")
    inside = lead(actor, "Kari Ola Nilsen")
    lead(actor, "Ola Berg")
    lead(actor, "Nina Holm")

    assert set(found(actor, "ola n", ordering=ordering)) == {first.pk, inside.pk}
    assert set(found(actor, "n ola", ordering=ordering)) == {first.pk, inside.pk}
    assert found(actor, "ola z", ordering=ordering) == []
    assert set(found(actor, "k n", ordering=ordering)) == {inside.pk}
    query = parse_list_query(KINDS["lead"], {"q": "ola n", "ordering": ordering}, lambda: [])
    assert record_list(actor=actor, kind="lead", query=query).count == 2


def test_whole_names_come_first_then_surnames_then_other_words_newest_first(actor):
    word_b = lead(actor, "Berit Rao")
    whole_b = lead(actor, "Raoul Zed")
    middle = lead(actor, "Kiran Rao Menon")
    word_a = lead(actor, "Anil Rao")
    whole_a = lead(actor, "Rao Bahadur")
    company = lead(actor, "Cecilie Dahl", company_name="Rao Holdings")
    longer = lead(actor, "Ada Raoult")
    email = lead(actor, "Dina Berg", email="rao.fan@example.com")

    # Whole names by name; surnames by surname, then name; the other matches newest first.
    assert found(actor, "rao") == [
        *(whole_a.pk, whole_b.pk),
        *(word_a.pk, word_b.pk, longer.pk),
        *(email.pk, company.pk, middle.pk),
    ]
    # Another ordering is that ordering, not a ranking.
    newest = found(actor, "rao", ordering="-created_at")
    assert newest == [
        *(email.pk, longer.pk, company.pk, whole_a.pk),
        *(word_a.pk, middle.pk, whole_b.pk, word_b.pk),
    ]
    # Surnames rank second for a one-word search only; the whole name still comes first.
    assert found(actor, "rao bahadur") == [whole_a.pk]
    assert found(actor, "anil rao") == [word_a.pk]


def indexed(row):
    """What the services set for search (bulk_create bypasses them)."""
    row.search_name = matching.search_key(row.name)
    row.search_text = matching.search_text(row.name)
    row.search_last_word = matching.last_word(row.name)
    return row


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_pages_walk_every_match_once_in_rank_order(actor, limit):
    now = timezone.now()
    rows = [
        Lead(organisation=actor.organisation, name=name, created_at=now, updated_at=now)
        for name in (
            [f"Rao {i:02}" for i in range(9)]
            + [f"Person {i:02} Rao" for i in range(9)]
            + [f"Kiran {i:02} Rao Menon" for i in range(6)]
            + [f"Other {i:02}" for i in range(5)]
        )
        + ["Rao 04", "Person 03 Rao"]  # the same name twice: ties are broken by id
    ]
    Lead.objects.bulk_create([indexed(row) for row in rows])
    expected = found(actor, "rao", limit="500")
    assert len(expected) == 26

    seen, cursor, pages = [], None, 0
    while True:
        params = {"q": "rao", "limit": str(limit)}
        if cursor:
            params["cursor"] = cursor
        query = parse_list_query(KINDS["lead"], params, lambda: [])
        page = record_list(actor=actor, kind="lead", query=query, columns=["id", "name"])
        assert page.count == 26 and not page.count_capped
        seen += [row["id"] for row in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected
    assert pages == -(-26 // limit)
    names = dict(Lead.objects.values_list("pk", "name"))
    ordered = [(names[pk], pk) for pk in seen]
    whole, surnames, others = ordered[:10], ordered[10:20], ordered[20:]
    assert all(name.startswith("Rao") for name, _ in whole) and whole == sorted(whole)
    assert all(name.startswith("Person") for name, _ in surnames)
    assert surnames == sorted(surnames)
    assert [pk for _, pk in others] == sorted((pk for _, pk in others), reverse=True)


def test_a_search_with_a_filter_pages_through_sparse_matches(actor):
    now = timezone.now()
    rows = [
        Lead(
            organisation=actor.organisation,
            name=f"Person {i:03} Rao Menon",  # a middle word: found by the word index
            source="Expo" if i % 40 == 0 else "Web",
            created_at=now,
            updated_at=now,
        )
        for i in range(1200)
    ]
    Lead.objects.bulk_create([indexed(row) for row in rows])
    expo = sorted(Lead.objects.filter(source="Expo").values_list("pk", flat=True), reverse=True)

    seen, cursor = [], None
    while True:
        params = {"q": "rao", "limit": "7", "source": "Expo"}
        if cursor:
            params["cursor"] = cursor
        query = parse_list_query(KINDS["lead"], params, lambda: [])
        page = record_list(actor=actor, kind="lead", query=query)
        assert (page.count, page.count_capped) == (30, False)
        seen += [row.pk for row in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == expo
    everyone = record_list(
        actor=actor, kind="lead", query=parse_list_query(KINDS["lead"], {"q": "rao"}, lambda: [])
    )
    assert (everyone.count, everyone.count_capped) == (1000, True)


def test_offset_pages_follow_the_same_ranking_and_their_cursor_continues(actor):
    names = ["Berit Rao", "Raoul Zed", "Anil Rao", "Rao Bahadur", "Cem Rao Menon", "Dag Rao Li"]
    for name in names:
        lead(actor, name)
    whole = found(actor, "rao", limit="500")
    assert found(actor, "rao", limit="2", offset="1") == whole[1:3]
    # The last row of the page: a whole-name match, a surname match, then a word match.
    for offset in (0, 1, 2, 3):
        params = {"q": "rao", "limit": "2", "offset": str(offset)}
        page = record_list(
            actor=actor, kind="lead", query=parse_list_query(KINDS["lead"], params, lambda: [])
        )
        rest = found(actor, "rao", cursor=page.next_cursor, limit="500")
        assert rest == whole[offset + 2 :]


def test_a_cursor_of_a_plain_name_list_is_refused_by_a_search(actor, api):
    for name in ("Ann A", "Ann B", "Ann C"):
        lead(actor, name)
    plain = api.get("/leads?ordering=name&limit=1").json()["next_cursor"]
    response = api.get(f"/leads?q=ann&limit=1&cursor={plain}")
    assert response.status_code == 422
    assert "cursor" in str(response.json())


def test_every_kind_is_searched_by_word(actor):
    company = records.record_create(
        actor=actor, kind="company", data={"name": "Madhya Records Court", "email_domain": "mrc.in"}
    )
    person = records.record_create(
        actor=actor, kind="person", data={"name": "Asha Rao", "email": "asha@mrc.in"}
    )
    deal = opportunity_create(actor=actor, data={"name": "Archive of Court Records"})

    assert found(actor, "records", kind="company") == [company.pk]
    assert found(actor, "mrc", kind="company") == [company.pk]
    assert found(actor, "rao", kind="person") == [person.pk]
    assert found(actor, "mrc", kind="person") == [person.pk]
    assert found(actor, "court rec", kind="opportunity") == [deal.pk]


def test_another_organisations_records_are_never_found(actor, other_actor):
    mine = lead(actor, "Asha Rao")
    theirs = lead(other_actor, "Anil Rao", email="anil@rao.example")

    assert found(actor, "rao") == [mine.pk]
    assert found(other_actor, "rao") == [theirs.pk]
    assert found(actor, "anil") == []


# ---------------------------------------------------------------- kept in step


def test_the_last_word_follows_the_name_through_services_and_imports(actor):
    kari = lead(actor, "Kari Hansen")
    assert Lead.objects.get(pk=kari.pk).search_last_word == "hansen"
    records.record_update(
        actor=actor, kind="lead", record_id=kari.pk, data={"name": "Kari Ødegård"}
    )
    assert (
        Lead.objects.get(pk=kari.pk).search_last_word == "ødegard"
    )  # ø is a letter, å an a with a ring
    records.record_update(actor=actor, kind="lead", record_id=kari.pk, data={"name": "Kari"})
    assert Lead.objects.get(pk=kari.pk).search_last_word == ""  # the whole name finds it
    job = imports.import_start(
        actor=actor,
        kind="leads",
        file=io.BytesIO(csv_bytes([lead_row("Zoë Ødegård", "zoe@fjord.no")])),
        file_name="f.csv",
    ).job
    imported = Lead.objects.get(import_job=job)
    assert imported.search_last_word == "ødegard"  # ø is a letter, å an a with a ring
    # Surname matches come right after whole names, accents folded either way.
    assert found(actor, "ødeg") == [imported.pk]
    assert found(actor, "zoe") == [imported.pk]


def test_the_index_follows_update_delete_restore_and_purge(actor):
    kari = lead(actor, "Kari Hansen")
    assert found(actor, "zzyzx") == []

    records.record_update(
        actor=actor, kind="lead", record_id=kari.pk, data={"company_name": "Zzyzx Road"}
    )
    assert found(actor, "zzyzx") == [kari.pk]
    assert word_index_ids(Lead, actor.organisation) == {kari.pk}
    records.record_update(actor=actor, kind="lead", record_id=kari.pk, data={"name": "Kari Berg"})
    assert found(actor, "hansen") == []
    assert found(actor, "berg") == [kari.pk]

    records.record_delete(actor=actor, kind="lead", record_id=kari.pk)
    assert found(actor, "berg") == []
    assert found(actor, "berg", deleted="true") == [kari.pk]
    records.record_restore(actor=actor, kind="lead", record_id=kari.pk)
    assert found(actor, "berg") == [kari.pk]

    records.record_delete(actor=actor, kind="lead", record_id=kari.pk)
    Lead.objects.filter(pk=kari.pk).update(deleted_at=timezone.now() - dt.timedelta(days=400))
    records.records_purge(actor=accounts.system_actor(None, "purge"))
    assert not Lead.objects.filter(pk=kari.pk).exists()
    assert word_index_ids(Lead, actor.organisation) == set()
    assert found(actor, "berg", deleted="true") == []


def test_imported_rows_are_found_and_undo_takes_them_away(actor):
    existing = lead(actor, "Ola Nordmann", email="ola@piql.com")
    rows = [
        lead_row("Zzara Rao", "zzara@zzfjord.no", company="Zzeta Archives", phone="+4722334455"),
        lead_row("Ola Nordmann", "ola@piql.com", company="Zzyzx Road"),
    ]
    job = imports.import_start(
        actor=actor,
        kind="leads",
        file=io.BytesIO(csv_bytes(rows)),
        file_name="f.csv",
        on_duplicate="update",
    ).job
    assert (job.created, job.updated) == (1, 1)
    imported = Lead.objects.get(import_job=job)

    assert found(actor, "zzara") == [imported.pk]
    assert found(actor, "zzfjord") == [imported.pk]
    assert found(actor, "zzeta") == [imported.pk]
    assert found(actor, "22334455") == [imported.pk]
    assert found(actor, "zzyzx") == [existing.pk]  # an update of an existing lead's words
    assert word_index_ids(Lead, actor.organisation) == {imported.pk, existing.pk}

    imports.import_undo(actor=actor, import_id=job.pk)
    assert found(actor, "zzara") == []
    assert found(actor, "zzyzx") == []
    assert found(actor, "ola") == [existing.pk]
    assert word_index_ids(Lead, actor.organisation) == {
        imported.pk
    }  # deleted, restorable: indexed as deleted
    assert found(actor, "zzara", deleted="true") == [imported.pk]


def test_a_people_import_indexes_the_companies_it_creates(actor):
    header = ["Full name", "E-mail", "Company"]
    job = imports.import_start(
        actor=actor,
        kind="people",
        file=io.BytesIO(csv_bytes([["Asha Rao", "asha@mrc.in", "Madhya Records Court"]], header)),
        file_name="people.csv",
    ).job
    assert job.created == 1
    assert len(found(actor, "records", kind="company")) == 1


def test_sqlite_triggers_lost_to_a_table_rebuild_are_put_back(db):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its GIN index itself")
    assert search_index.ensure_sqlite_triggers(connection) == []
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER records_lead_words_insert")
    assert search_index.ensure_sqlite_triggers(connection) == ["records_lead"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_words_%'"
        )
        assert cursor.fetchone()[0] == 3 * len(search_index.TABLES)


def test_the_worker_merges_the_pending_word_entries_an_import_left_on_postgresql(
    actor, django_capture_on_commit_callbacks
):
    """The import lets GIN gather new words in a larger pending list (importing.engine.
    bulk_writes); searches must not be left scanning it, nor other writes inherit the size."""
    if connection.vendor != "postgresql":
        pytest.skip("GIN's pending list is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SHOW gin_pending_list_limit")
        default = cursor.fetchone()[0]
    rows = [lead_row(f"Zzara Rao{i}", f"zzara{i}@zzfjord.no") for i in range(30)]
    with django_capture_on_commit_callbacks(execute=True):
        job = imports.import_start(
            actor=actor, kind="leads", file=io.BytesIO(csv_bytes(rows)), file_name="f.csv"
        ).job
    assert job.created == 30
    # Until the worker merges them, searches read the pending entries too.
    assert len(found(actor, "zzfjord")) == 30
    with connection.cursor() as cursor:
        cursor.execute("SHOW gin_pending_list_limit")
        assert cursor.fetchone()[0] == default
    assert run_pending_tasks() == 1  # the merge the import left to the worker
    with connection.cursor() as cursor:
        # Pages the pending list still held: none once the worker has merged them.
        cursor.execute("SELECT gin_clean_pending_list('lead_words'::regclass)")
        assert cursor.fetchone()[0] == 0
    assert len(found(actor, "zzfjord")) == 30


def test_devanagari_words_keep_their_vowel_signs(actor):
    """Vowel signs are marks (Mc), which Python's \\w leaves out: words were cut at them."""
    assert matching.search_words("राहुल अग्रवाल") == ["राहुल", "अगरवाल"]
    rahul = lead(actor, "राहुल अग्रवाल")
    lead(actor, "रमेश लाल")
    assert found(actor, "अग्र") == [rahul.pk]
    assert found(actor, "राहुल") == [rahul.pk]
    assert found(actor, "ह") == []  # inside a word, not its start (it was cut out as one)


def test_an_import_indexes_its_own_rows_a_chunk_at_a_time(actor, settings):
    """SQLite's insert trigger leaves an import's rows to the import (one statement a chunk);
    every other insert is still indexed by the trigger."""
    before = lead(actor, "Zzora Berg")
    rows = [lead_row(f"Zzuri Rao{i}", f"zzuri{i}@zzfjord.no") for i in range(25)]
    job = imports.import_start(
        actor=actor, kind="leads", file=io.BytesIO(csv_bytes(rows)), file_name="f.csv"
    ).job
    imported = set(Lead.objects.filter(import_job=job).values_list("pk", flat=True))
    assert len(imported) == 25
    after = lead(actor, "Zzeke Lund")
    assert word_index_ids(Lead, actor.organisation) == imported | {before.pk, after.pk}
    assert set(found(actor, "zzfjord")) == imported
    assert found(actor, "zzeke") == [after.pk]
    if connection.vendor == "sqlite":  # each row indexed once: not by the trigger as well
        fts = search_index.fts_table("records_lead")
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {fts} WHERE {fts} MATCH %s",  # noqa: S608
                ['words : "zzuri"*'],
            )
            assert cursor.fetchone()[0] == 25


def _insert_triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
            ["%_words_insert"],
        )
        return {name for (name,) in cursor.fetchall()}


def test_an_import_suspends_the_insert_trigger_only_inside_its_own_transactions(actor, monkeypatch):
    """SQLite: the import drops the insert trigger in each of its transactions (a trigger costs
    every row a call even when it skips it) and puts it back before committing — and a failed
    import's rollback puts it back too."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's triggers")
    triggers = _insert_triggers()
    assert "records_lead_words_insert" in triggers
    seen_during = []
    real = search_index.index_imported

    def watching(*args, **kwargs):
        seen_during.append(_insert_triggers())
        return real(*args, **kwargs)

    monkeypatch.setattr(search_index, "index_imported", watching)
    rows = [lead_row(f"Zzyra Holm{i}", f"zzyra{i}@zzfjord.no") for i in range(5)]
    imports.import_start(
        actor=actor, kind="leads", file=io.BytesIO(csv_bytes(rows)), file_name="f.csv"
    )
    assert seen_during and all("records_lead_words_insert" not in t for t in seen_during)
    assert _insert_triggers() == triggers
    assert lead(actor, "Zzeke Holm").pk in set(found(actor, "holm"))  # the trigger indexes it

    def failing(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(search_index, "index_imported", failing)
    with pytest.raises(RuntimeError):
        imports.import_start(
            actor=actor, kind="leads", file=io.BytesIO(csv_bytes(rows)), file_name="g.csv"
        )
    assert _insert_triggers() == triggers


def _count(actor, q, **params):
    query = parse_list_query(KINDS["lead"], {"q": q, **params}, lambda: [])
    page = record_list(actor=actor, kind="lead", query=query, columns=["id", "name"])
    return page.count, sorted(row["id"] for row in page.items)


def test_word_matches_alone_in_the_table_and_beside_another_organisation(actor, other_actor):
    """SQLite leaves the scope out of the index lookup while the table holds one organisation
    (its deleted rows excluded instead); a second organisation's rows must change nothing."""
    menons = [lead(actor, f"Kiran {i} Menon") for i in range(6)]  # "kiran": a first word
    middles = [lead(actor, f"Person {i} Kiran Rao") for i in range(5)]  # a middle word
    for gone in (menons[0], middles[0]):
        records.record_delete(actor=actor, kind="lead", record_id=gone.pk)
    live = sorted(r.pk for r in menons[1:] + middles[1:])
    deleted = sorted([menons[0].pk, middles[0].pk])

    assert Lead.objects.exclude(organisation=actor.organisation).count() == 0
    alone = (_count(actor, "kiran"), _count(actor, "kiran", deleted="true"))
    assert alone == ((9, live), (2, deleted))

    theirs = [lead(other_actor, f"Kiran {i} Other") for i in range(4)]
    beside = (_count(actor, "kiran"), _count(actor, "kiran", deleted="true"))
    assert beside == alone
    assert _count(other_actor, "kiran") == (4, sorted(r.pk for r in theirs))


def test_the_migration_joins_the_apostrophes_of_rows_already_there(actor):
    """What records migration 0011 runs: rows written before apostrophes joined words get their
    words and last word computed again; rows already right are left alone."""
    from types import SimpleNamespace

    connor = lead(actor, "Ann O'Connor")
    plain = lead(actor, "Kari Nilsen")
    Lead.objects.filter(pk=connor.pk).update(search_text="ann o connor", search_last_word="connor")
    untouched = Lead.objects.get(pk=plain.pk).updated_at

    editor = SimpleNamespace(connection=connection)
    search_index.backfill(editor, Lead)
    search_index.backfill_last_word(editor, Lead, collate=False)

    row = Lead.objects.get(pk=connor.pk)
    assert (row.search_text, row.search_last_word) == ("ann o connor oconnor", "oconnor")
    assert found(actor, "o'con") == [connor.pk]
    assert Lead.objects.get(pk=plain.pk).updated_at == untouched


def test_more_word_matches_than_the_cap_are_paged_newest_first(actor, settings):
    """Past the cap, PostgreSQL walks the id index testing rows (not the GIN index): the pages
    still hold exactly the matches, newest first, and walk them all."""
    settings.SALESLINE_COUNT_CAP = 20
    now = timezone.now()
    rows = [
        Lead(organisation=actor.organisation, name=name, created_at=now, updated_at=now)
        for i in range(40)
        for name in (f"Person {i:02} Kiran Rao", f"Other {i:02} Kirsten")
    ]
    Lead.objects.bulk_create([indexed(row) for row in rows])
    expected = sorted(
        Lead.objects.filter(name__contains="Kiran").values_list("pk", flat=True), reverse=True
    )
    seen, cursor = [], None
    while True:
        params = {"q": "kiran", "limit": "15", **({"cursor": cursor} if cursor else {})}
        query = parse_list_query(KINDS["lead"], params, lambda: [])
        page = record_list(actor=actor, kind="lead", query=query, columns=["id", "name"])
        assert (page.count, page.count_capped) == (20, True)
        seen += [row["id"] for row in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == expected


def _walk(actor, q, limit):
    """Every page of a search: (count, capped) of each page, and the ids in page order."""
    counts, seen, cursor = set(), [], None
    while True:
        params = {"q": q, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        query = parse_list_query(KINDS["lead"], params, lambda: [])
        page = record_list(actor=actor, kind="lead", query=query, columns=["id", "name"])
        counts.add((page.count, page.count_capped))
        seen += [row["id"] for row in page.items]
        if not (cursor := page.next_cursor):
            return counts, seen


def _bulk_leads(organisation, names):
    now = timezone.now()
    rows = [Lead(organisation=organisation, name=n, created_at=now, updated_at=now) for n in names]
    return [row.pk for row in Lead.objects.bulk_create([indexed(row) for row in rows])]


@pytest.mark.parametrize("q", ["kiran r", "ki"])
@pytest.mark.parametrize(("cap", "expected"), [(20, (20, True)), (40, (30, False))])
def test_a_dense_word_is_counted_from_the_newest_rows_exactly_to_the_cap(
    actor, other_actor, settings, monkeypatch, q, cap, expected
):
    """Every row holds the word: the count tests the organisation's newest rows (by id) instead
    of the word index, and pages past the cap walk them — capped or exact, the same answer,
    and another organisation's newer rows never count. SQLite does so too for a one-letter
    word (tested on the rows) and a prefix shorter than its prefix index ('ki')."""
    from salesline.records import selectors

    settings.SALESLINE_COUNT_CAP = cap
    monkeypatch.setattr(selectors, "WALK_ROWS", 12)
    mine = _bulk_leads(actor.organisation, [f"Person {i:02} Kiran Rao" for i in range(30)])
    _bulk_leads(other_actor.organisation, [f"Person {i:02} Kiran Ross" for i in range(50)])
    counts, seen = _walk(actor, q, limit=7)
    assert counts == {expected}
    assert seen == sorted(mine, reverse=True)


@pytest.mark.parametrize("q", ["kiran", "ki"])
@pytest.mark.parametrize(
    ("cap", "walk", "expected"), [(5, 5_000, (5, True)), (5, 50, (5, True)), (20, 50, (10, False))]
)
def test_a_sparse_word_below_a_short_page_is_listed_once_and_paged_newest_first(
    actor, settings, monkeypatch, q, cap, walk, expected
):
    """Matches that ranks 0 and 1 leave to rank 2, sparse among the newest rows: PostgreSQL
    lists them from the word index once for both the count and the pages (within the cap);
    past it, it walks the newest `walk` rows and reads the rest from the word index. Every
    match once, newest first, whole names first. SQLite walks too for a prefix shorter than its
    prefix index ('ki'), then reads its word index below the rows walked."""
    from salesline.records import selectors

    settings.SALESLINE_COUNT_CAP = cap
    monkeypatch.setattr(selectors, "WALK_ROWS", walk)
    whole = _bulk_leads(actor.organisation, ["Kiranjit Singh"])
    words = _bulk_leads(actor.organisation, [f"Person {i:02} Kiran Rao" for i in range(9)])
    _bulk_leads(actor.organisation, [f"Other {i:03} Nobody" for i in range(120)])
    counts, seen = _walk(actor, q, limit=3)
    assert counts == {expected}
    assert seen == whole + sorted(words, reverse=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's organisation index")
def test_postgresql_has_the_index_the_dense_count_walks(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN "
            "('company_newest', 'person_newest', 'lead_newest', 'opportunity_newest')"
        )
        assert len(cursor.fetchall()) == 4
