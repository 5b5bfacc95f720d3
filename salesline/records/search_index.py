"""Word search in the database's own full-text machinery, over each record's `search_text`.

The words themselves are made in Python (`matching.search_text`: case and accents folded,
split on anything that is not a letter or digit), so both databases index the same words.
Each indexed row also carries its **scope** — its organisation and whether it is deleted — so
that a search of one organisation's live records is answered by the index alone: counting
1,000 matches reads no record rows.

- **SQLite**: a contentless FTS5 table `<table>_words(scope, words)` kept in step by triggers
  on the record table (after insert, after delete, after an update that changes the words,
  the deleted state or the organisation): every write path — the services, the import's bulk
  inserts, demo data, purge and cascading deletes, raw SQL — updates it without remembering
  to. The scope is one token, `s<organisation id>l` (live) or `…d` (deleted), in its own
  column, so no query word can match it. A prefix index of 3 characters makes the
  commonest prefixes cheap; positions are not kept (`detail=column`: no phrase is ever
  searched), and segments are merged 16 at a time: cheaper writes than full detail, prefixes
  of 2 and 3 and the default merging (measured in `docs/benchmarks.md`). FTS5
  yields matches in rowid (= id) order, so "the newest matches first" is read from the index
  without a sort.
- **PostgreSQL**: two partial GIN indexes (live rows, deleted rows) of the words, each
  prefixed with the organisation's id (`12:rao`), built with
  `array_to_tsvector(string_to_array(...))` — the words become lexemes exactly as given, so no
  text-search parser (whose idea of a word depends on the server's locale) is involved — and
  queried with `'12:word':*` prefix lexemes: one organisation's matches of a prefix are one
  range of the index. (A separate organisation lexeme ANDed with the words made GIN walk the
  organisation's million-entry posting tree: 25 ms.) The indexes are kept by PostgreSQL.

A table that SQLite rebuilds for a later schema change (Django copies it into a new table)
loses its triggers: `ensure_sqlite_triggers` runs after every `migrate` and puts them back,
refilling that index from the table when any were missing.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

# The tables of every record kind that word search covers.
TABLES = ("records_company", "records_person", "records_lead", "pipeline_opportunity")

# SQLite's FTS5 keeps an index of every word's first PREFIX_INDEX letters: a shorter prefix
# (`ex`) is answered by gathering every word that starts with it, whole, before the first row.
PREFIX_INDEX = 3


# Marks (M*) are part of a word, as in Python's \w (Devanagari vowel signs, for instance).
_TOKENIZE = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"


def fts_table(table: str) -> str:
    return f"{table}_words"


def _gin_index(table: str) -> str:
    return f"{table.removeprefix('records_').removeprefix('pipeline_')}_words"


def scope(organisation_id: int, deleted: bool) -> str:
    """The scope token of an organisation's live (or deleted) records (SQLite)."""
    return f"s{int(organisation_id)}{'d' if deleted else 'l'}"


def _sqlite_scope(row: str) -> str:
    return (
        f"'s' || {row}.organisation_id || CASE WHEN {row}.deleted_at IS NULL THEN 'l' ELSE 'd' END"
    )


def pg_words(table: str | None) -> str:
    """The PostgreSQL index expression: each word prefixed with the organisation's id
    (`12:rao`), so one organisation's matches of a prefix are one range of the index. Queries
    repeat it exactly so the planner uses the index (`table` qualifies the columns)."""

    def column(name: str) -> str:
        return f'"{table}"."{name}"' if table else name

    org = f"{column('organisation_id')}::text || ':'"
    return (
        f"array_to_tsvector(string_to_array({org} || "
        f"replace({column('search_text')}, ' ', ' ' || {org}), ' '))"
    )


# Live and deleted rows have an index each (partial): a search of live records — nearly all of
# them — counts its matches from the index without reading a row to check its state.
_PG_PARTS = {"": "deleted_at IS NULL", "_deleted": "deleted_at IS NOT NULL"}


# The tables an import writes: their insert trigger leaves the import's own rows to
# `index_imported`, which adds a chunk's rows in one statement (a trigger per row cost an import
# about 70 µs a row against 7 µs for the same words inserted together; docs/benchmarks.md).
IMPORTED_TABLES = frozenset({"records_company", "records_person", "records_lead"})


def _sqlite_triggers(table: str) -> list[str]:
    fts = fts_table(table)
    not_imported = "WHEN new.import_job_id IS NULL " if table in IMPORTED_TABLES else ""
    # Table names here are the constants of TABLES, never input.
    delete = (
        f"INSERT INTO {fts}({fts}, rowid, scope, words) "  # noqa: S608
        f"VALUES ('delete', old.id, {_sqlite_scope('old')}, old.search_text);"
    )
    insert = (
        f"INSERT INTO {fts}(rowid, scope, words) "  # noqa: S608
        f"VALUES (new.id, {_sqlite_scope('new')}, new.search_text);"
    )
    changed = (
        "old.search_text IS NOT new.search_text"
        " OR (old.deleted_at IS NULL) != (new.deleted_at IS NULL)"
        " OR old.organisation_id != new.organisation_id"
    )
    return [
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} "
        f"{not_imported}BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        # Only a change of what is indexed touches the index: most updates leave it alone.
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update "
        f"AFTER UPDATE OF search_text, deleted_at, organisation_id ON {table} "
        f"WHEN {changed} BEGIN {delete} {insert} END",
    ]


def suspend_insert_triggers(connection: BaseDatabaseWrapper, tables) -> None:
    """SQLite, inside an import's transaction: drop the insert triggers of `tables` until
    `restore_insert_triggers`, which the same transaction must call before it commits.

    A trigger costs SQLite a sub-program call for every row even when its WHEN clause is
    false: 13 µs a row, a third of an import's write phase, for a trigger that skips every
    row the import inserts (the import indexes them itself, `index_imported`). SQLite's DDL
    is transactional and the import holds the only write lock, so no other connection ever
    sees the trigger missing or inserts a row without it; a rollback puts it back."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DROP TRIGGER IF EXISTS {fts_table(table)}_insert")


def restore_insert_triggers(connection: BaseDatabaseWrapper, tables) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(_sqlite_triggers(table)[0])


def has_sqlite_index(connection: BaseDatabaseWrapper, table: str) -> bool:
    """SQLite: whether `table` has its word index (one dropped by hand, to measure an import
    without it, is skipped rather than an error)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [fts_table(table)])
        return cursor.fetchone() is not None


def last_id(connection: BaseDatabaseWrapper, table: str) -> int:
    """SQLite: the highest id of `table` (0 when empty), where an import's indexing starts."""
    if connection.vendor != "sqlite":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        return cursor.fetchone()[0]


def index_imported(connection: BaseDatabaseWrapper, table: str, job_id: int, after_id: int) -> int:
    """SQLite: add to the word index the rows of import `job_id` above `after_id` (which its
    insert trigger skipped), in one statement; returns the new highest id indexed. Called in
    the transaction that inserted them, so rows and index entries commit together. PostgreSQL
    keeps its GIN index itself."""
    if connection.vendor != "sqlite":
        return after_id
    fts = fts_table(table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {fts}(rowid, scope, words) "  # noqa: S608
            f"SELECT id, {_sqlite_scope(table)}, search_text FROM {table} "
            "WHERE id > %s AND import_job_id = %s",
            [after_id, job_id],
        )
        highest = f"SELECT COALESCE(MAX(id), %s) FROM {table} WHERE id > %s"  # noqa: S608
        cursor.execute(highest, [after_id, after_id])
        return cursor.fetchone()[0]


def _sqlite_fill(execute, table: str) -> None:
    fts = fts_table(table)
    execute(
        f"INSERT INTO {fts}(rowid, scope, words) "  # noqa: S608
        f"SELECT id, {_sqlite_scope(table)}, search_text FROM {table}"
    )


def install(schema_editor, table: str) -> None:
    """Create the word index of `table` and fill it from the rows already there."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        fts = fts_table(table)
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(scope, words, content='', "
            f"tokenize=\"{_TOKENIZE}\", prefix='{PREFIX_INDEX}', detail=column)"
        )
        schema_editor.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('automerge', 16)")  # noqa: S608
        for statement in _sqlite_triggers(table):
            schema_editor.execute(statement)
        _sqlite_fill(schema_editor.execute, table)
    elif vendor == "postgresql":
        for suffix, condition in _PG_PARTS.items():
            schema_editor.execute(
                f'CREATE INDEX "{_gin_index(table)}{suffix}" ON "{table}" '
                f"USING gin (({pg_words(None)})) WHERE {condition}"
            )


def merge_pending(connection: BaseDatabaseWrapper, table: str) -> None:
    """PostgreSQL: merge the word indexes' pending lists into the indexes now (after a bulk
    insert that let them grow, see importing.engine.bulk_writes), so that searches do not scan
    them."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for suffix in _PG_PARTS:
            # An index dropped by hand (to measure without it) is skipped, not an error.
            cursor.execute(
                "SELECT gin_clean_pending_list(i) FROM (SELECT to_regclass(%s) AS i) AS found "
                "WHERE i IS NOT NULL",
                [_gin_index(table) + suffix],
            )


def rebuild_sqlite(schema_editor, table: str) -> None:
    """SQLite: the word index made again with `install`'s options (PostgreSQL: nothing)."""
    if schema_editor.connection.vendor == "sqlite":
        uninstall(schema_editor, table)
        install(schema_editor, table)


def uninstall(schema_editor, table: str) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        fts = fts_table(table)
        for suffix in ("insert", "delete", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {fts}")
    elif vendor == "postgresql":
        for suffix in _PG_PARTS:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{_gin_index(table)}{suffix}"')


def ensure_sqlite_triggers(connection: BaseDatabaseWrapper) -> list[str]:
    """Put back the triggers of any word index that lost them, and refill that index; returns
    the tables repaired. Nothing to do on PostgreSQL, or before the index exists."""
    if connection.vendor != "sqlite":
        return []
    repaired = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {name for (name,) in cursor.fetchall()}
        for table in TABLES:
            fts = fts_table(table)
            if fts not in present:
                continue
            if {f"{fts}_insert", f"{fts}_delete", f"{fts}_update"} <= present:
                continue
            for statement in _sqlite_triggers(table):
                cursor.execute(statement)
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('delete-all')")  # noqa: S608
            _sqlite_fill(cursor.execute, table)
            repaired.append(table)
    return repaired


def _pg_query(organisation_id: int, words: list[str]) -> str:
    # Words are letters and digits only (matching.search_words), so quoting is enough.
    return " & ".join(f"'{int(organisation_id)}:{word}':*" for word in words)


def _sqlite_query(organisation_id: int, deleted: bool, words: list[str]) -> str:
    terms = [f"scope : {scope(organisation_id, deleted)}"]
    return " AND ".join(terms + [f'words : "{word}"*' for word in words])


def _sqlite_match(table: str, organisation_id: int, deleted: bool, words: list[str]):
    """The MATCH operand (SQL and params) of one organisation's live or deleted matches.

    ANDing the scope token costs FTS5 a seek in the scope's doclist for every match — the
    organisation's live token lists nearly every row: 2–3 ms for 1,000 matches against 0.1 ms
    without it. So when the table holds no other organisation (the usual embedded deployment),
    live matches are the words' matches NOT in the (small) deleted scope, decided in the same
    statement by two probes of the organisation index."""
    scoped = _sqlite_query(organisation_id, deleted, words)
    if deleted:
        return "%s", [scoped]
    matched = " AND ".join(f'words : "{word}"*' for word in words)
    alone = f"{matched} NOT scope : {scope(organisation_id, True)}"
    # Table names are the constants of TABLES, never input.
    sql = (
        f"(CASE WHEN EXISTS (SELECT 1 FROM {table} WHERE organisation_id < %s) "  # noqa: S608
        f"OR EXISTS (SELECT 1 FROM {table} WHERE organisation_id > %s) THEN %s ELSE %s END)"
    )
    return sql, [organisation_id, organisation_id, scoped, alone]


def split_words(words: list[str]) -> tuple[list[str], list[str]]:
    """The words the index looks up, and those tested on the row instead: a one-letter prefix
    ('may m') is the start of a large part of all words, and both indexes would gather every
    one of them (20–35 ms) only for the longer words to narrow it down."""
    looked_up = [word for word in words if len(word) > 1]
    if not looked_up:
        return words, []
    return looked_up, [word for word in words if len(word) <= 1]


def has_unindexed_prefix(words: list[str]) -> bool:
    """Whether a word SQLite looks up is shorter than its prefix index (see PREFIX_INDEX)."""
    return any(len(word) < PREFIX_INDEX for word in split_words(words)[0])


def row_sql(table: str, words: list[str], column: str | None = None) -> tuple[str, list]:
    """Every word the start of one of the row's words, tested on the row (`search_text` is
    folded words joined by single spaces; words are letters, digits and marks: no LIKE
    wildcard can come from the query). `column`: the words' column if not the table's."""
    column = column or f'"{table}"."search_text"'
    condition = " AND ".join(f"(' ' || {column}) LIKE %s" for _ in words)
    return condition, [f"% {word}%" for word in words]


def window_ids(
    connection: BaseDatabaseWrapper,
    table: str,
    words: list[str],
    *,
    organisation_id: int,
    deleted: bool,
    before_id: int | None,
    size: int,
) -> list[int]:
    """SQLite: the ids of the `size` newest matches of the looked-up words (`split_words`;
    the caller tests the others on the rows) below `before_id`, read from the index in id order
    (FTS5 yields rowids in order: no sort, and no record row is read)."""
    fts = fts_table(table)
    operand, params = _sqlite_match(table, organisation_id, deleted, split_words(words)[0])
    sql = f"SELECT rowid FROM {fts} WHERE {fts} MATCH {operand}"  # noqa: S608
    if before_id is not None:
        sql += " AND rowid < %s"
        params.append(before_id)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY rowid DESC LIMIT %s", [*params, size])
        return [pk for (pk,) in cursor.fetchall()]


def match_sql(
    connection: BaseDatabaseWrapper,
    table: str,
    words: list[str],
    *,
    organisation_id: int,
    deleted: bool,
) -> tuple[str, list]:
    """A WHERE condition on `table`'s rows: in the scope, and every word the start of one of
    the row's words."""
    looked_up, tested = split_words(words)
    if connection.vendor == "postgresql":
        state = _PG_PARTS["_deleted" if deleted else ""]
        sql = f'{pg_words(table)} @@ %s::tsquery AND "{table}".{state}'
        params = [_pg_query(organisation_id, looked_up)]
    else:
        fts = fts_table(table)
        operand, params = _sqlite_match(table, organisation_id, deleted, looked_up)
        sql = f'"{table}"."id" IN (SELECT rowid FROM {fts} WHERE {fts} MATCH {operand})'  # noqa: S608
    if tested:
        row_condition, row_params = row_sql(table, tested)
        sql, params = f"{sql} AND {row_condition}", params + row_params
    return sql, params


# Dense words: when this many of an organisation's newest PROBE_ROWS rows match (4%), the
# matches are counted from the newest NEWEST_ROWS rows instead of the word index.
PROBE_ROWS, DENSE_MATCHES, NEWEST_ROWS = 100, 4, 20_000


def _newest_index(table: str) -> str:
    return f"{table.removeprefix('records_').removeprefix('pipeline_')}_newest"


def install_newest(schema_editor, table: str) -> None:
    """PostgreSQL: the index of an organisation's live rows by id that the dense count walks
    backwards. SQLite needs none: its organisation index is in rowid order within each
    organisation already."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{_newest_index(table)}" ON "{table}" '
            "(organisation_id, id) WHERE deleted_at IS NULL"
        )


def uninstall_newest(schema_editor, table: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{_newest_index(table)}"')


def _newest_sql(table: str, words: list[str]) -> tuple[str, str, list]:
    """The organisation's newest live rows (params: organisation id, how many), and the test of
    every word on them."""
    newest = (
        f'SELECT search_text FROM "{table}" WHERE organisation_id = %s '  # noqa: S608
        "AND deleted_at IS NULL ORDER BY id DESC LIMIT %s"
    )
    matching, matching_params = row_sql(table, words, column="newest.search_text")
    return newest, matching, matching_params


def is_dense(connection: BaseDatabaseWrapper, table: str, words: list[str], organisation_id: int):
    """Whether at least DENSE_MATCHES of the organisation's newest PROBE_ROWS live rows match
    (`count_sql`'s first test, on its own)."""
    newest, matching, params = _newest_sql(table, words)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM ({newest}) AS newest WHERE {matching}",  # noqa: S608
            [organisation_id, PROBE_ROWS, *params],
        )
        return cursor.fetchone()[0] >= DENSE_MATCHES


def count_sql(
    connection: BaseDatabaseWrapper,
    table: str,
    words: list[str],
    *,
    organisation_id: int,
    deleted: bool,
    cap: int,
) -> tuple[str, list]:
    """The matches of one organisation's live (or deleted) rows, counted to `cap`: one scalar
    expression.

    The word index is the way for most words. But neither index can stop at the cap: GIN
    gathers the bitmap of every match before reading a row (30 ms for the 127,000 leads a
    company word like 'arch' matches among a million), and a one-letter word tested on the
    rows ('o'c') makes both databases read every row the other words match (70–90 ms). Such
    words are dense, and a dense word's first `cap` matches are found among a few thousand
    rows: so the organisation's newest PROBE_ROWS rows are tested first, and when at least
    DENSE_MATCHES of them match, the newest NEWEST_ROWS rows are tested until `cap` match.
    Only if they do not is the index read after all.

    "Newest" is by id: rows stored side by side, a few table pages for a hundred rows, where
    the newest by creation date are scattered over the table once imports bring old dates
    (measured on the bench's million leads: 4 ms against 18–23 ms for 'arch'). Deleted rows
    are few: their index count is always cheap."""
    index_sql, index_params = _index_count_sql(
        connection, table, words, organisation_id=organisation_id, deleted=deleted, cap=cap
    )
    if deleted or (
        connection.vendor == "sqlite"
        and not split_words(words)[1]
        and not has_unindexed_prefix(words)
    ):
        # FTS5 stops at the cap (30 ms for 'arch' on PostgreSQL is 3 ms here): no probe. A
        # prefix shorter than its prefix index it gathers whole first (70 ms for `ex`).
        return f"({index_sql})", index_params
    newest, matching, matching_params = _newest_sql(table, words)
    probe = f"SELECT COUNT(*) FROM ({newest}) AS newest WHERE {matching}"  # noqa: S608
    dense = (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM ({newest}) AS newest "  # noqa: S608
        f"WHERE {matching} LIMIT %s) AS capped"
    )
    # Nested CASEs fix the order: each subquery runs only where it is reached.
    sql = (
        f"CASE WHEN ({probe}) < %s THEN ({index_sql}) "
        f"WHEN ({dense}) >= %s THEN %s ELSE ({index_sql}) END"
    )
    params = [
        *(organisation_id, PROBE_ROWS, *matching_params, DENSE_MATCHES),
        *index_params,
        *(organisation_id, NEWEST_ROWS, *matching_params, cap, cap, cap),
        *index_params,
    ]
    return sql, params


def _index_count_sql(
    connection: BaseDatabaseWrapper,
    table: str,
    words: list[str],
    *,
    organisation_id: int,
    deleted: bool,
    cap: int,
) -> tuple[str, list]:
    """The matches counted to `cap` from the word index alone (with the rows, when a short
    word is tested on them)."""
    looked_up, tested = split_words(words)
    if connection.vendor == "postgresql" or tested:
        # The indexed condition (and the row tests): on PostgreSQL the partial index holds
        # exactly the rows in scope.
        condition, params = match_sql(
            connection, table, words, organisation_id=organisation_id, deleted=deleted
        )
        return (
            f'SELECT COUNT(*) FROM (SELECT 1 FROM "{table}" '  # noqa: S608
            f"WHERE {condition} LIMIT %s) AS capped",
            [*params, cap],
        )
    fts = fts_table(table)
    operand, params = _sqlite_match(table, organisation_id, deleted, looked_up)
    return (
        f"SELECT COUNT(*) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH {operand} LIMIT %s)",  # noqa: S608
        [*params, cap],
    )


def backfill(schema_editor, model) -> None:
    """Compute `search_text` of every existing row of `model` (a migration's historical model)."""
    from . import matching

    names = {f.name for f in model._meta.concrete_fields}
    sources = [c for c in ("email", "company_name", "phone", "email_domain") if c in names]
    keyword = {"email_domain": "domain"}

    def words(name, *values):
        extra = {keyword.get(c, c): v or "" for c, v in zip(sources, values, strict=True)}
        return matching.search_text(name, **extra)

    _fill(schema_editor, model, "search_text", ["name", *sources], words)


def backfill_last_word(schema_editor, model, *, collate: bool = True) -> None:
    """Compute `search_last_word` of every existing row of `model`, and on PostgreSQL give the
    column the "C" collation (unless `collate` is False: it has it already), so that a prefix is
    a range of its index (as search_name)."""
    from . import matching

    if collate and schema_editor.connection.vendor == "postgresql":
        table = schema_editor.connection.ops.quote_name(model._meta.db_table)
        schema_editor.execute(
            f'ALTER TABLE {table} ALTER COLUMN "search_last_word" TYPE varchar(255) COLLATE "C"'
        )
    _fill(schema_editor, model, "search_last_word", ["name"], lambda n: matching.last_word(n)[:255])


def _fill(schema_editor, model, column: str, sources: list[str], compute) -> None:
    """Set `column` of every row to `compute(*sources)` in batches of plain UPDATEs — a million
    rows cost one pass, no model instances; rows whose value is already right are not written."""
    table = schema_editor.connection.ops.quote_name(model._meta.db_table)
    sql = f"UPDATE {table} SET {column} = %s WHERE id = %s"  # noqa: S608
    rows = model._base_manager.using(schema_editor.connection.alias).values_list(
        "id", column, *sources
    )
    batch: list[tuple[str, int]] = []
    with schema_editor.connection.cursor() as cursor:
        for pk, current, *values in rows.order_by("id").iterator(chunk_size=5000):
            value = compute(*values)
            if value == current:
                continue
            batch.append((value, pk))
            if len(batch) == 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
