"""Reads of records, always scoped to the actor's organisation."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BooleanField, Case, F, Model, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from salesline.core import compiled
from salesline.core.actors import Actor
from salesline.core.errors import NotFound
from salesline.process.definition import match_choice
from salesline.process.kinds import list_columns
from salesline.process.selectors import definition_for

from . import matching, search_index
from .fields import KINDS, KindDef
from .filters import ListQuery, encode_cursor, encode_ranked_cursor, ranked
from .models import Lead, Person


@dataclass
class Page:
    items: list[Model] | list[dict[str, Any]]
    count: int
    count_capped: bool
    next_cursor: str | None


def _base(actor: Actor, kind: KindDef, *, deleted: bool = False) -> QuerySet:
    queryset = kind.model.objects.filter(
        organisation=actor.organisation, deleted_at__isnull=not deleted
    )
    if kind.select_related:
        queryset = queryset.select_related(*kind.select_related)
    return queryset


def record_get_for(*, actor: Actor, kind: str, record_id: Any, deleted: bool = False) -> Model:
    """One record of the actor's organisation — another organisation's is NotFound."""
    kind_def = KINDS[kind]
    try:
        pk = int(record_id)
    except (TypeError, ValueError):
        raise NotFound(f"No {kind} with id {record_id}.") from None
    obj = _base(actor, kind_def, deleted=deleted).filter(pk=pk).first()
    if obj is None:
        raise NotFound(f"No {kind} with id {record_id}.")
    return obj


# Orderings by name sort on the case-folded key: case-insensitive, and served by an index.
ORDER_COLUMNS = {"name": "search_name"}


def order_column(ordering: str, kind: str = "") -> str:
    column = ordering.lstrip("-")
    if extra := list_columns(kind).get(column):
        return extra.path
    return ORDER_COLUMNS.get(column, column)


def _prefix(queryset: QuerySet, column: str, prefix: str) -> QuerySet:
    """Rows whose `column` starts with `prefix`: a half-open range, which both databases serve
    from a B-tree index (byte-order collation on both, see records migration 0002)."""
    return queryset.filter(_prefix_q(column, prefix))


# Above every character: `prefix <= value < prefix + _TOP` is "value starts with prefix".
_TOP = "\U0010ffff"


def _prefix_q(column: str, prefix: str) -> Q:
    return Q(**{f"{column}__gte": prefix, f"{column}__lt": prefix + _TOP})


@dataclass(frozen=True)
class Search:
    """A search split by rank, best first:

    0. rows whose whole name starts with q (`first`), in name order, read from the name index;
    1. for a one-word q, rows whose name's last word starts with it (`second`: "rao" finds
       "Asha Rao"), in surname order, read from the last-word index;
    2. the other rows of the word index where every word of q starts a word of the name,
       e-mail, company name or phone digits, newest first (the order SQLite's index yields).

    Ranks 0 and 1 are B-tree ranges: a page and a capped count of the names people type cost
    the same at any size. Only rank 2 reads the full-text index.
    """

    model: type[Model]
    words: list[str]
    name_prefix: str  # the folded q: rank 0 is the range of names starting with it
    last_word_prefix: str | None  # a one-word q: rank 1 is the range of last words starting with it
    organisation_id: int
    deleted: bool

    @property
    def first(self) -> Q:
        return _prefix_q("search_name", self.name_prefix)

    @property
    def second(self) -> Q | None:
        if self.last_word_prefix is None:
            return None
        return _prefix_q("search_last_word", self.last_word_prefix)

    def _scope(self) -> dict[str, Any]:
        return {"organisation_id": self.organisation_id, "deleted": self.deleted}

    def then(self) -> RawSQL | None:
        """The word-index condition (None when q has no words, e.g. only punctuation)."""
        if not self.words:
            return None
        sql, params = search_index.match_sql(
            connection, self.model._meta.db_table, self.words, **self._scope()
        )
        return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611

    def ranked_above_words(self) -> Q:
        return self.first | self.second if self.second is not None else self.first

    def matches(self) -> Q:
        then = self.then()
        above = self.ranked_above_words()
        return above | Q(then) if then is not None else above

    def rank(self) -> Case:
        whens = [When(self.first, then=Value(0))]
        if self.second is not None:
            whens.append(When(self.second, then=Value(1)))
        return Case(*whens, default=Value(2))


def word_search(kind: KindDef, q: str, *, organisation_id: int, deleted: bool) -> Search:
    words = matching.query_words(q)
    return Search(
        model=kind.model,
        words=words,
        name_prefix=matching.search_key(q),
        last_word_prefix=words[0] if len(words) == 1 else None,
        organisation_id=organisation_id,
        deleted=deleted,
    )


def search(queryset: QuerySet, kind: KindDef, q: str, *, organisation_id: int, deleted: bool):
    """By e-mail prefix when the text has an '@', else word search (see `Search`)."""
    if "@" in q and "email" in kind.fields:
        return _prefix(queryset, "email", matching.email_key(q))
    found = word_search(kind, q, organisation_id=organisation_id, deleted=deleted)
    return queryset.filter(found.matches())


# How many distinct values of a field a filter offers (and matches ignoring case): a field with
# more holds free text rather than a short list such as lead sources.
VALUE_LIST_CAP = 200


def values_in_use(*, actor: Actor, kind: str, field: str) -> tuple[list[str], bool]:
    """The distinct non-blank values of one of a kind's `value_lists` fields on live records,
    in index order: at most VALUE_LIST_CAP, and whether there are more. A loose index scan —
    each step asks the index for the next larger value — so a dozen sources on a million leads
    cost a dozen probes, on both databases."""
    kind_def = KINDS[kind]
    if field not in kind_def.value_lists:
        raise ValueError(f"{kind}.{field} keeps no list of values")
    model = kind_def.model
    quote = connection.ops.quote_name
    table, column = quote(model._meta.db_table), quote(model._meta.get_field(field).column)
    live = "organisation_id = %s AND deleted_at IS NULL"  # the partial index's condition
    # Names come from the model's own metadata; the organisation and cap are parameters.
    sql = (
        f"WITH RECURSIVE walk(v, n) AS ("  # noqa: S608
        f" SELECT MIN({column}), 0 FROM {table} WHERE {live}"
        f" UNION ALL"
        f" SELECT (SELECT MIN({column}) FROM {table} WHERE {live} AND {column} > walk.v), n + 1"
        f" FROM walk WHERE walk.v IS NOT NULL AND n <= %s"
        f") SELECT v FROM walk WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [actor.organisation.pk, actor.organisation.pk, VALUE_LIST_CAP])
        found = [row[0] for row in cursor.fetchall() if row[0].strip()]
    return found[:VALUE_LIST_CAP], len(found) > VALUE_LIST_CAP


def _spellings(actor: Actor, kind: KindDef, field: str, value: str) -> list[str]:
    """The stored spellings of `value`, ignoring case ("trade show" finds "Trade show")."""
    found, _ = values_in_use(actor=actor, kind=kind.key, field=field)
    folded = value.casefold()
    return [v for v in found if v.casefold() == folded and v != value] + [value]


def _by_ids(actor: Actor, kind: KindDef, lookups: dict[str, Any]) -> dict[str, Any]:
    """The lookups as the database takes them: a related row's key as its ids, a value of a
    field with a choice list as the value stored (named by any case or its label), a source
    as every spelling of it in use."""
    resolved = {}
    fields = kind.fields
    for lookup, value in lookups.items():
        if lookup not in kind.key_lookups:
            field = fields.get(lookup)
            if field is not None and field.type == "text" and isinstance(value, str):
                choices = definition_for(actor.organisation).field_choices(kind.key, lookup)
                if choices:
                    value = match_choice(choices, value) or value
                elif lookup in kind.value_lists:
                    lookup, value = f"{lookup}__in", _spellings(actor, kind, lookup, value)
            resolved[lookup] = value
            continue
        relation, scope = kind.key_lookups[lookup]
        related = kind.model._meta.get_field(relation).related_model
        ids = list(
            related.objects.filter(**{scope: actor.organisation, "key": value}).values_list(
                "id", flat=True
            )
        )
        resolved[f"{relation}_id__in"] = ids
    return resolved


def _filtered(actor: Actor, kind_def: KindDef, query: ListQuery) -> QuerySet:
    lookups = _by_ids(actor, kind_def, query.lookups)
    for column in list_columns(kind_def.key).values():
        if column.scope and any(name.startswith(f"{column.relation}__") for name in lookups):
            lookups[column.scope] = actor.organisation.pk
            copied = column.copied_filter
            if copied is not None and not query.deleted and lookups.get(copied[0]) == copied[1]:
                lookups[copied[2]] = True
    return _base(actor, kind_def, deleted=query.deleted).filter(**lookups)


def record_queryset(*, actor: Actor, kind: str, query: ListQuery) -> QuerySet:
    """The filtered, searched, ordered rows of a list (export reuses it without paging)."""
    kind_def = KINDS[kind]
    queryset = _filtered(actor, kind_def, query)
    scope = {"organisation_id": actor.organisation.pk, "deleted": query.deleted}
    if query.q:
        queryset = search(queryset, kind_def, query.q, **scope)
    if ranked(kind_def, query):
        found = word_search(kind_def, query.q, **scope)
        # The order of _ranked_page: whole names by name, surnames by surname then name, the
        # rest newest first.
        above = found.ranked_above_words()
        second = found.second if found.second is not None else Q(pk__in=[])
        key = Case(
            When(found.first, then=F("search_name")),
            When(second, then=F("search_last_word")),
            default=Value(""),
        )
        then_name = Case(
            When(found.first, then=Value("")),
            When(second, then=F("search_name")),
            default=Value(""),
        )
        tie = Case(When(above, then=F("id")), default=-F("id"))
        return queryset.annotate(_rank=found.rank()).order_by("_rank", key, then_name, tie)
    descending = query.ordering.startswith("-")
    column = order_column(query.ordering, kind)
    if column == "id":
        return queryset.order_by(query.ordering)
    sign = "-" if descending else ""
    extra = list_columns(kind).get(query.ordering.lstrip("-"))
    tie_column = extra.tie if extra is not None and extra.tie else "id"
    return queryset.order_by(f"{sign}{column}", f"{sign}{tie_column}")


def _capped_count_sql(queryset: QuerySet, cap: int) -> tuple[str, tuple]:
    """SQL counting the rows of `queryset`, stopping at cap + 1. EmptyResultSet when a filter
    no row can match (e.g. a stage key that does not exist)."""
    capped_sql, capped_params = queryset.order_by().values("id")[: cap + 1].query.sql_with_params()
    # The SQL is the ORM's own compilation of the queryset; user values stay parameters.
    return f"SELECT COUNT(*) FROM ({capped_sql}) AS capped", capped_params  # noqa: S608


def _after(column: str, value: Any, pk: int, op: str = "gt") -> Q:
    # The non-strict bound lets the index start the scan at the cursor; the OR then only
    # breaks ties on the cursor's own value.
    return Q(**{f"{column}__{op}e": value}) & (
        Q(**{f"{column}__{op}": value}) | Q(**{f"id__{op}": pk})
    )


def record_list(
    *, actor: Actor, kind: str, query: ListQuery, columns: Sequence[str] | None = None
) -> Page:
    """One page of a list. With `columns`, items are `.values()` dicts of those ORM paths —
    an API page needs no model instances, and building them costs more than the query."""
    if ranked(KINDS[kind], query) and not query.offset:
        return _ranked_page(actor=actor, kind=kind, query=query, columns=columns)
    queryset = record_queryset(actor=actor, kind=kind, query=query)
    cap = settings.SALESLINE_COUNT_CAP
    # Counting stops at the cap: an exact count of a million rows costs more than the page. The
    # capped count rides along with the page as a scalar subquery — one round trip, not two.
    try:
        total_sql, capped_params = _capped_count_sql(queryset, cap)
    except EmptyResultSet:
        return Page(items=[], count=0, count_capped=False, next_cursor=None)
    total = RawSQL(total_sql, capped_params)  # noqa: S611
    column = order_column(query.ordering, kind)
    is_ranked = ranked(KINDS[kind], query)
    paged = queryset
    if query.cursor is not None:
        value, pk = query.cursor
        op = "lt" if query.ordering.startswith("-") else "gt"
        if column == "id":
            paged = paged.filter(**{f"id__{op}": pk})
        else:
            paged = paged.filter(_after(column, value, pk, op))
        paged = paged[: query.limit + 1]
    else:
        paged = paged[query.offset : query.offset + query.limit + 1]
    paged = paged.annotate(_capped_total=total)
    extra = ("_rank", "search_last_word") if is_ranked else ()
    rows = list(paged.values(*columns, column, *extra, "_capped_total") if columns else paged)
    if rows:
        first = rows[0]
        count = first["_capped_total"] if isinstance(first, dict) else first._capped_total
    else:
        # Past the last page the subquery had no row to ride on.
        count = queryset.order_by()[: cap + 1].count() if query.offset or query.cursor else 0
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = None
    if has_more and rows and query.ordering.lstrip("-") in KINDS[kind].cursor_orderings:
        last = rows[-1]
        if isinstance(last, dict):
            value, pk, rank = last[column], last["id"], last.get("_rank")
        else:
            value, pk, rank = getattr(last, column), last.pk, getattr(last, "_rank", None)
        if is_ranked:
            next_cursor = _ranked_cursor(last, int(rank or 0))
        else:
            next_cursor = encode_cursor(query.ordering, value, pk)
    return Page(
        items=rows, count=min(count, cap), count_capped=count > cap, next_cursor=next_cursor
    )


def _field(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)


def _ranked_cursor(row: Any, rank: int) -> str:
    """The position after `row` in rank order: the name (rank 0), the last word and the name
    (rank 1: a word has no space, so the first space splits them), or the id alone (rank 2)."""
    pk = _field(row, "id")
    if rank == 0:
        return encode_ranked_cursor(0, _field(row, "search_name"), pk)
    if rank == 1:
        position = f"{_field(row, 'search_last_word')} {_field(row, 'search_name')}"
        return encode_ranked_cursor(1, position, pk)
    return encode_ranked_cursor(2, "", pk)


def _after_last_word(last_word: str, name: str, pk: int) -> Q:
    return Q(search_last_word__gte=last_word) & (
        Q(search_last_word__gt=last_word)
        | Q(search_last_word=last_word, search_name__gt=name)
        | Q(search_last_word=last_word, search_name=name, id__gt=pk)
    )


def _ranked_page(
    *, actor: Actor, kind: str, query: ListQuery, columns: Sequence[str] | None
) -> Page:
    """A page of a search in rank order (see `Search`) as keyset reads, none of which sorts the
    matches:

    0. whole-name matches: a range of the name index, already in name order;
    1. surname matches: a range of the last-word index, in surname and name order;
    2. once those are exhausted, word matches, newest first. On SQLite the word index yields
       ids in order: a window of the next ids is read from it alone, then their rows, widening
       the window while other filters leave the page short. On PostgreSQL the planner reads
       the id index backwards, testing each row, or the GIN index when the words are rare.

    Sorting word matches by name would sort every match: 50–130 ms for the 10,000–30,000 rows
    a three-letter prefix matches among a million. The cursor carries the rank.
    """
    kind_def = KINDS[kind]
    organisation_id = actor.organisation.pk
    found = word_search(kind_def, query.q, organisation_id=organisation_id, deleted=query.deleted)
    # Built when needed: the common page (no other filter, ranks 0 and 1) runs compiled SQL.
    filtered = functools.cache(lambda: _filtered(actor, kind_def, query))
    cap = settings.SALESLINE_COUNT_CAP
    rank, value, pk = 0, None, None
    if query.cursor is not None:
        (rank, value), pk = query.cursor
    wanted = query.limit + 1
    rows: list[Any] = []
    ranks: list[int] = []
    shown = ("search_name", "search_last_word")

    def read(part: QuerySet, part_rank: int) -> None:
        got = list(part.values(*columns, *shown) if columns else part)
        rows.extend(got)
        ranks.extend([part_rank] * len(got))

    def read_range(part_rank: int, build: Callable[..., QuerySet], values: list[Any]) -> None:
        """Rank 0 or 1 (`build(*values)`): without other filters an API page runs SQL compiled
        once per shape (core.compiled) — these two reads are every search's first."""
        if columns is None or query.lookups:
            read(build(*values), part_rank)
            return
        shape = ("ranked", kind, part_rank, tuple(columns), query.deleted, len(values), wanted)
        got = compiled.values_rows(shape, lambda *v: build(*v).values(*columns, *shown), values)
        rows.extend(got)
        ranks.extend([part_rank] * len(got))

    def scoped(org: int) -> QuerySet:
        if query.lookups:
            return filtered()
        live = not query.deleted
        return kind_def.model.objects.filter(organisation_id=org, deleted_at__isnull=live)

    name_range = [found.name_prefix, found.name_prefix + _TOP]
    # A part read whole from its start (it gave fewer rows than asked) needs no count.
    known: dict[int, int] = {}
    try:
        if rank == 0:
            if value is not None and pk is not None:

                def names_after(org, low, high, after, after_pk, limit=wanted):
                    part = scoped(org).filter(search_name__gte=low, search_name__lt=high)
                    part = part.filter(_after("search_name", after, after_pk))
                    return part.order_by("search_name", "id")[:limit]

                read_range(0, names_after, [organisation_id, *name_range, value, pk])
            else:

                def names(org, low, high, limit=wanted):
                    part = scoped(org).filter(search_name__gte=low, search_name__lt=high)
                    return part.order_by("search_name", "id")[:limit]

                read_range(0, names, [organisation_id, *name_range])
                if len(rows) < wanted:
                    known[0] = len(rows)
        if len(rows) < wanted and found.last_word_prefix is not None and rank <= 1:
            asked, before_read = wanted - len(rows), len(rows)
            last = found.last_word_prefix
            last_range = [last, last + _TOP]

            def surnames(org, low, high, name_low, name_high, *after, limit=asked):
                part = scoped(org).filter(search_last_word__gte=low, search_last_word__lt=high)
                part = part.exclude(search_name__gte=name_low, search_name__lt=name_high)
                if after:
                    part = part.filter(_after_last_word(*after))
                return part.order_by("search_last_word", "search_name", "id")[:limit]

            after: list[Any] = []
            if rank == 1 and value is not None and pk is not None:
                after = [*value.partition(" ")[::2], pk]
            read_range(1, surnames, [organisation_id, *last_range, *name_range, *after])
            if 0 in known and len(rows) - before_read < asked:
                known[1] = len(rows) - before_read
        before = pk if rank == 2 else None
        listed = None
        if len(rows) < wanted and found.words and not query.lookups:
            listed = _listed_word_matches(found, cap)
        if listed is not None and len(listed) <= cap:
            count = len(listed)
            _read_listed_matches(found, filtered(), read, rows, wanted, before, listed)
        else:
            # More than the cap listed: the count is capped, and rank 2 walks the id index.
            if listed is not None:
                count = len(listed)
            else:
                count = _search_count(found, filtered, query, cap, known)
            if len(rows) < wanted and found.words:
                _read_word_matches(found, filtered(), read, rows, wanted, before, count)
    except EmptyResultSet:  # a filter no row can match, e.g. a stage key that does not exist
        return Page(items=[], count=0, count_capped=False, next_cursor=None)
    next_cursor = None
    if len(rows) > query.limit:
        next_cursor = _ranked_cursor(rows[query.limit - 1], ranks[query.limit - 1])
    return Page(
        items=rows[: query.limit],
        count=min(count, cap),
        count_capped=count > cap,
        next_cursor=next_cursor,
    )


# Word matches newest first. PostgreSQL's GIN index yields no order: below the count cap every
# match is fetched and sorted. SQLite's FTS5 yields ids in order, a window at a time — but a
# prefix shorter than its prefix index (`ex`, `co`) it must gather whole first (70 ms for a
# word of every row among a million). So where matches pass the cap on PostgreSQL, or a short
# prefix's do on SQLite, the newest WALK_ROWS rows are walked first, testing each with LIKE;
# a dense word fills the page there, and only a sparse word's older matches come from the
# index. (Its estimate of a prefix's matches being poor, the capped count, known first,
# decides.)
WALK_ROWS = 5_000


def _read_word_matches(found: Search, filtered: QuerySet, read, rows, wanted, before, matches):
    then = filtered.exclude(found.ranked_above_words())
    table = found.model._meta.db_table
    postgres = connection.vendor != "sqlite"
    if before is not None:
        then, filtered = then.filter(id__lt=before), filtered.filter(id__lt=before)
    many = matches > settings.SALESLINE_COUNT_CAP
    if postgres and not many:
        # Few: every match from the GIN index, sorted (id + 0 is not the indexed id: the
        # planner cannot walk the id index for it).
        read(then.filter(found.then()).order_by((F("id") + 0).desc())[: wanted - len(rows)], 2)
        return
    if postgres or (many and search_index.has_unindexed_prefix(found.words)):
        # LIKE is the same test as the index's, at a seventh of the cost of building the row's
        # tsvector on PostgreSQL. Walking on for a sparse word read every row (280 ms for
        # 'बल e' among a million).
        sql, params = search_index.row_sql(table, found.words)
        tested = then.filter(RawSQL(sql, params, output_field=BooleanField()))  # noqa: S611
        walked = filtered.order_by("-id").values_list("id", flat=True)
        floor = next(iter(walked[WALK_ROWS - 1 : WALK_ROWS]), None)  # the oldest row walked
        if floor is not None:
            tested = tested.filter(id__gte=floor)
        read(tested.order_by("-id")[: wanted - len(rows)], 2)
        if len(rows) >= wanted or floor is None:
            return
        if postgres:
            rest = then.filter(found.then(), id__lt=floor).order_by((F("id") + 0).desc())
            read(rest[: wanted - len(rows)], 2)
            return
        before = floor
    _read_word_windows(found, then, read, rows, wanted, before)


def _read_word_windows(found: Search, then: QuerySet, read, rows, wanted, before) -> None:
    """SQLite: windows of ids below `before` from the word index, newest first, widened while
    other filters leave the page short; then their rows."""
    tested = search_index.split_words(found.words)[1]
    if tested:  # short words are not looked up in the index: test them on the rows
        sql, params = search_index.row_sql(found.model._meta.db_table, tested)
        then = then.filter(RawSQL(sql, params, output_field=BooleanField()))  # noqa: S611
    then = then.order_by("-id")
    size = max(4 * wanted, 200)
    while len(rows) < wanted:
        ids = search_index.window_ids(
            connection,
            found.model._meta.db_table,
            found.words,
            organisation_id=found.organisation_id,
            deleted=found.deleted,
            before_id=before,
            size=size,
        )
        if ids:
            read(then.filter(id__in=ids)[: wanted - len(rows)], 2)
        if len(ids) < size:
            return
        before, size = ids[-1], size * 4


def _listed_word_matches(found: Search, cap: int) -> list[tuple[int, str, str | None]] | None:
    """PostgreSQL, a page that ranks 0 and 1 left short: every match of the word index (id, name,
    last word), up to cap + 1 of them — at once the capped count and, when within the cap, the
    rows rank 2 pages through, so the GIN index is read once and not once to count and again
    to page (45 ms, not 23, for 'pål j' among a million leads). None for a dense word, which
    the usual count reads from the newest rows instead (see search_index.count_sql)."""
    if connection.vendor != "postgresql":
        return None
    table = found.model._meta.db_table
    if not found.deleted and search_index.is_dense(
        connection, table, found.words, found.organisation_id
    ):
        return None
    condition, params = search_index.match_sql(
        connection, table, found.words, organisation_id=found.organisation_id, deleted=found.deleted
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT id, search_name, search_last_word FROM "{table}" '  # noqa: S608
            f"WHERE {condition} LIMIT %s",
            [*params, cap + 1],
        )
        return cursor.fetchall()


def _read_listed_matches(found: Search, filtered: QuerySet, read, rows, wanted, before, listed):
    """Rank 2 from the listed matches: those not in rank 0 or 1 (the same ranges, compared as
    the byte-order collation of both columns compares), newest first."""
    low, last = found.name_prefix, found.last_word_prefix

    def ranked_above(name: str, last_word: str | None) -> bool:
        if low <= name < low + _TOP:
            return True
        return last is not None and last_word is not None and last <= last_word < last + _TOP

    ids = sorted(
        (
            pk
            for pk, name, last_word in listed
            if (before is None or pk < before) and not ranked_above(name, last_word)
        ),
        reverse=True,
    )[: wanted - len(rows)]
    if ids:
        read(filtered.filter(id__in=ids).order_by("-id"), 2)


def _search_count(
    found: Search,
    filtered: Callable[[], QuerySet],
    query: ListQuery,
    cap: int,
    known: dict[int, int],
) -> int:
    """Matches counted to cap + 1. Without other filters, in one statement: whole-name and
    surname matches from their B-tree ranges (or `known`, the sizes of ranks the page read
    whole), and only when those stay under the cap, every match from the word index alone
    (whole-name and surname matches are word matches too)."""
    if query.lookups or not found.words:
        return _count(*_capped_count_sql(filtered().filter(found.matches()), cap))
    table = found.model._meta.db_table
    # Each range apart, so that each is read from its index alone (an OR of the two read a row
    # from the table for every match: 7 ms for a thousand). Written out rather than compiled
    # by the ORM: compiling three querysets cost more than running them.
    state = "deleted_at IS NOT NULL" if found.deleted else "deleted_at IS NULL"
    scope_sql = f'SELECT 1 FROM "{table}" WHERE organisation_id = %s AND {state}'  # noqa: S608
    scope_params: list[Any] = [found.organisation_id]
    name_range = "search_name >= %s AND search_name < %s"
    name_params = [found.name_prefix, found.name_prefix + _TOP]
    parts: list[str] = []
    params: list[Any] = []
    if 0 in known:
        parts.append("%s")
        params.append(known[0])
    else:
        parts.append(f"(SELECT COUNT(*) FROM ({scope_sql} AND {name_range} LIMIT %s) AS c)")  # noqa: S608
        params += [*scope_params, *name_params, cap + 1]
    if found.last_word_prefix is None:
        parts.append("0")
    elif 1 in known:
        parts.append("%s")
        params.append(known[1])
    else:
        last = found.last_word_prefix
        parts.append(
            f"(SELECT COUNT(*) FROM ({scope_sql} AND search_last_word >= %s "  # noqa: S608
            f"AND search_last_word < %s AND NOT ({name_range}) LIMIT %s) AS c)"
        )
        params += [*scope_params, last, last + _TOP, *name_params, cap + 1]
    ranges = f"FROM (SELECT {parts[0]} + {parts[1]} AS above) AS ranges"
    if not found.words:
        return _count(f"SELECT above {ranges}", params)
    words_sql, words_params = search_index.count_sql(
        connection,
        table,
        found.words,
        organisation_id=found.organisation_id,
        deleted=found.deleted,
        cap=cap + 1,
    )
    # The word index is read only when the ranges stay under the cap (both databases evaluate
    # a scalar subquery where it is first needed).
    sql = f"SELECT CASE WHEN above <= %s THEN {words_sql} ELSE above END {ranges}"  # noqa: S608
    return _count(sql, [cap, *words_params, *params])


def _count(sql: str, params: Sequence[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def note_list(*, actor: Actor, target: dict[str, Any], limit: int, offset: int):
    from .models import Note

    queryset = Note.objects.filter(organisation=actor.organisation, deleted_at=None, **target)
    return queryset.order_by("-created_at", "-id")[offset : offset + limit], queryset.count()


def note_get_for(*, actor: Actor, note_id: Any):
    from .models import Note

    note = Note.objects.filter(organisation=actor.organisation, pk=note_id, deleted_at=None).first()
    if note is None:
        raise NotFound(f"No note with id {note_id}.")
    return note


@dataclass
class Related:
    """One group of records linked to a record, for its page: at most `limit` of them, and
    whether there are more."""

    title: str
    kind: str
    items: list[Model]
    more: bool

    @property
    def plural(self) -> str:
        return KINDS[self.kind].plural


@dataclass(frozen=True)
class RelatedGroup:
    kind: str  # the record kind whose page shows the group
    position: int
    title: str
    related_kind: str
    rows: Callable[[dict[str, Any], Any], QuerySet]  # (scope, the record) -> its related rows


# Other apps add their own groups (the pipeline app: a company's opportunities) in ready().
_RELATED_GROUPS: list[RelatedGroup] = []


def register_related_group(
    *,
    kind: str,
    position: int,
    title: str,
    related_kind: str,
    rows: Callable[[dict[str, Any], Any], QuerySet],
) -> None:
    group = RelatedGroup(kind, position, title, related_kind, rows)
    if all((g.kind, g.title) != (kind, title) for g in _RELATED_GROUPS):
        _RELATED_GROUPS.append(group)
        _RELATED_GROUPS.sort(key=lambda g: (g.kind, g.position))


register_related_group(
    kind="company",
    position=10,
    title="People",
    related_kind="person",
    rows=lambda scope, obj: Person.objects.filter(**scope, company=obj).order_by(
        "search_name", "id"
    ),
)
register_related_group(
    kind="company",
    position=30,
    title="Leads converted into this company",
    related_kind="lead",
    rows=lambda scope, obj: Lead.objects.filter(**scope, converted_company=obj).order_by(
        "-converted_at", "-id"
    ),
)
register_related_group(
    kind="person",
    position=20,
    title="Leads converted into this person",
    related_kind="lead",
    rows=lambda scope, obj: Lead.objects.filter(**scope, converted_person=obj).order_by(
        "-converted_at", "-id"
    ),
)


def related_records(*, actor: Actor, kind: str, obj: Model, limit: int = 20) -> list[Related]:
    """The records linked to `obj`: a company's people, opportunities and the leads converted
    into it; a person's opportunities (as primary contact) and leads converted into them.
    Each group is bounded, so a company with 100,000 people still costs one short query."""
    scope = {"organisation": actor.organisation}
    related = []
    for group in _RELATED_GROUPS:
        if group.kind != kind:
            continue
        rows = list(group.rows(scope, obj).filter(deleted_at=None)[: limit + 1])
        related.append(Related(group.title, group.related_kind, rows[:limit], len(rows) > limit))
    return related


def reference_name(*, actor: Actor, kind: str, record_id: Any) -> str | None:
    """The name of a live record of the organisation, or None: a picker shows the chosen one."""
    try:
        pk = int(record_id)
    except (TypeError, ValueError):
        return None
    return (
        KINDS[kind]
        .model.objects.filter(organisation=actor.organisation, pk=pk, deleted_at=None)
        .values_list("name", flat=True)
        .first()
    )
