"""Reads of records, always scoped to the actor's organisation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db.models import Model, Q, QuerySet
from django.db.models.expressions import RawSQL

from salesline.core.actors import Actor
from salesline.core.errors import NotFound

from . import matching
from .fields import KINDS, KindDef
from .filters import ListQuery, encode_cursor
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


def order_column(ordering: str) -> str:
    column = ordering.lstrip("-")
    return ORDER_COLUMNS.get(column, column)


def _prefix(queryset: QuerySet, column: str, prefix: str) -> QuerySet:
    """Rows whose `column` starts with `prefix`: a half-open range, which both databases serve
    from a B-tree index (byte-order collation on both, see records migration 0002)."""
    return queryset.filter(**{f"{column}__gte": prefix, f"{column}__lt": prefix + "\U0010ffff"})


def search(queryset: QuerySet, kind: KindDef, q: str) -> QuerySet:
    """Prefix search: by e-mail when the text has an '@', else by name."""
    if "@" in q and "email" in kind.fields:
        return _prefix(queryset, "email", matching.email_key(q))
    return _prefix(queryset, "search_name", matching.search_key(q))


def _by_ids(actor: Actor, kind: KindDef, lookups: dict[str, Any]) -> dict[str, Any]:
    resolved = {}
    for lookup, value in lookups.items():
        if lookup not in kind.key_lookups:
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


def record_queryset(*, actor: Actor, kind: str, query: ListQuery) -> QuerySet:
    """The filtered, searched, ordered rows of a list (export reuses it without paging)."""
    kind_def = KINDS[kind]
    queryset = _base(actor, kind_def, deleted=query.deleted).filter(
        **_by_ids(actor, kind_def, query.lookups)
    )
    if query.q:
        queryset = search(queryset, kind_def, query.q)
    descending = query.ordering.startswith("-")
    column = order_column(query.ordering)
    if column == "id":
        return queryset.order_by(query.ordering)
    sign = "-" if descending else ""
    return queryset.order_by(f"{sign}{column}", f"{sign}id")


def record_list(
    *, actor: Actor, kind: str, query: ListQuery, columns: Sequence[str] | None = None
) -> Page:
    """One page of a list. With `columns`, items are `.values()` dicts of those ORM paths —
    an API page needs no model instances, and building them costs more than the query."""
    queryset = record_queryset(actor=actor, kind=kind, query=query)
    cap = settings.SALESLINE_COUNT_CAP
    # Counting stops at the cap: an exact count of a million rows costs more than the page. The
    # capped count rides along with the page as a scalar subquery — one round trip, not two.
    try:
        capped_sql, capped_params = (
            queryset.order_by().values("id")[: cap + 1].query.sql_with_params()
        )
    except EmptyResultSet:  # a filter no row can match, e.g. a stage key that does not exist
        return Page(items=[], count=0, count_capped=False, next_cursor=None)
    # The SQL is the ORM's own compilation of the queryset; user values stay parameters.
    total_sql = f"SELECT COUNT(*) FROM ({capped_sql}) AS capped"  # noqa: S608
    total = RawSQL(total_sql, capped_params)  # noqa: S611
    column = order_column(query.ordering)
    paged = queryset
    if query.cursor is not None:
        value, pk = query.cursor
        op = "lt" if query.ordering.startswith("-") else "gt"
        if column == "id":
            paged = paged.filter(**{f"id__{op}": pk})
        else:
            # The non-strict bound lets the index start the scan at the cursor; the OR then
            # only breaks ties on the cursor's own value.
            paged = paged.filter(
                Q(**{f"{column}__{op}e": value})
                & (Q(**{f"{column}__{op}": value}) | Q(**{f"id__{op}": pk}))
            )
        paged = paged[: query.limit + 1]
    else:
        paged = paged[query.offset : query.offset + query.limit + 1]
    paged = paged.annotate(_capped_total=total)
    rows = list(paged.values(*columns, column, "_capped_total") if columns else paged)
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
            next_cursor = encode_cursor(query.ordering, last[column], last["id"])
        else:
            next_cursor = encode_cursor(query.ordering, getattr(last, column), last.pk)
    return Page(
        items=rows, count=min(count, cap), count_capped=count > cap, next_cursor=next_cursor
    )


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
