"""Word search in the database's own full-text machinery, over each record's `search_text`.

The words themselves are made in Python (`matching.search_text`: case and accents folded,
split on anything that is not a letter or digit), so both databases index the same words:

- **SQLite**: an FTS5 table `<table>_words` with external content (the record table's own
  `search_text`, no second copy of the text), kept in step by three triggers on the record
  table — every write path (the services, the import's bulk inserts, demo data, purge and
  cascading deletes, raw SQL) updates it without remembering to. Prefix indexes of 2 and 3
  characters make short prefixes cheap.
- **PostgreSQL**: a GIN index on `array_to_tsvector(string_to_array(search_text, ' '))`, the
  words as lexemes exactly as given (no text-search parser, whose idea of a word depends on the
  server's locale), queried with `'word':*` prefix lexemes. The index is kept by PostgreSQL.

A table that SQLite rebuilds for a later schema change (Django copies it into a new table)
loses its triggers: `ensure_sqlite_triggers` runs after every `migrate` and puts them back,
rebuilding the index from the table when any were missing.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

# The tables of every record kind that word search covers.
TABLES = ("records_company", "records_person", "records_lead", "pipeline_opportunity")

# Marks (M*) are part of a word, as in Python's \w (Devanagari vowel signs, for instance).
_TOKENIZE = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"


def fts_table(table: str) -> str:
    return f"{table}_words"


def _gin_index(table: str) -> str:
    return f"{table.removeprefix('records_').removeprefix('pipeline_')}_words"


def _sqlite_triggers(table: str) -> list[str]:
    fts = fts_table(table)
    # Table names here are the constants of TABLES, never input.
    delete = (
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text);"  # noqa: E501, S608
    )
    insert = f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text);"  # noqa: S608
    return [
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        # Only a change of the words touches the index: most updates leave it alone.
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF search_text ON {table} "
        f"BEGIN {delete} {insert} END",
    ]


def install(schema_editor, table: str) -> None:
    """Create the word index of `table` and fill it from the rows already there."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        fts = fts_table(table)
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}', "
            f"content_rowid='id', tokenize=\"{_TOKENIZE}\", prefix='2 3')"
        )
        for statement in _sqlite_triggers(table):
            schema_editor.execute(statement)
        schema_editor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")  # noqa: S608
    elif vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX "{_gin_index(table)}" ON "{table}" '
            "USING gin (array_to_tsvector(string_to_array(search_text, ' ')))"
        )


def uninstall(schema_editor, table: str) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        fts = fts_table(table)
        for suffix in ("insert", "delete", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {fts}")
    elif vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{_gin_index(table)}"')


def ensure_sqlite_triggers(connection: BaseDatabaseWrapper) -> list[str]:
    """Put back the triggers of any word index that lost them, and rebuild that index; returns
    the tables repaired. Nothing to do on PostgreSQL, or before the index exists."""
    if connection.vendor != "sqlite":
        return []
    repaired = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {name for _, name in cursor.fetchall()}
        for table in TABLES:
            fts = fts_table(table)
            if fts not in present:
                continue
            wanted = {f"{fts}_insert", f"{fts}_delete", f"{fts}_update"}
            if wanted <= present:
                continue
            for statement in _sqlite_triggers(table):
                cursor.execute(statement)
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")  # noqa: S608
            repaired.append(table)
    return repaired


def match_sql(connection: BaseDatabaseWrapper, table: str, words: list[str]) -> tuple[str, list]:
    """A WHERE condition on `table`'s rows: every word is the start of one of its words."""
    if connection.vendor == "postgresql":
        # Words are letters and digits only (matching.search_words), so quoting is enough.
        query = " & ".join(f"'{word}':*" for word in words)
        return (
            f'array_to_tsvector(string_to_array("{table}"."search_text", \' \')) @@ %s::tsquery',
            [query],
        )
    fts = fts_table(table)
    query = " ".join(f'"{word}"*' for word in words)
    return (
        f'"{table}"."id" IN (SELECT rowid FROM {fts} WHERE {fts} MATCH %s)',  # noqa: S608
        [query],
    )


def backfill(schema_editor, model) -> None:
    """Compute `search_text` of every existing row of `model` (a migration's historical model),
    in batches of plain UPDATEs — a million rows cost one pass, no model instances."""
    from . import matching

    names = {f.name for f in model._meta.concrete_fields}
    sources = [c for c in ("email", "company_name", "phone", "email_domain") if c in names]
    keyword = {"email_domain": "domain"}
    table = schema_editor.connection.ops.quote_name(model._meta.db_table)
    sql = f"UPDATE {table} SET search_text = %s WHERE id = %s"  # noqa: S608
    rows = model._base_manager.using(schema_editor.connection.alias).values_list(
        "id", "name", *sources
    )
    batch: list[tuple[str, int]] = []
    with schema_editor.connection.cursor() as cursor:
        for pk, name, *values in rows.order_by("id").iterator(chunk_size=5000):
            extra = {keyword.get(c, c): v or "" for c, v in zip(sources, values, strict=True)}
            batch.append((matching.search_text(name, **extra), pk))
            if len(batch) == 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
