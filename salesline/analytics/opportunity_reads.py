"""Reading columns of many opportunities at once, for the metrics and the forecast.

The ORM would bind one parameter per id (and SQLite caps their number) and build a model row
per result; at a quarter's tens of thousands of wins or a pipeline's hundred thousand open deals
that costs seconds. Here the ids travel as one parameter — an array on PostgreSQL, JSON text
read by `json_each` on SQLite — and rows come back as plain tuples, values as floats.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from django.db import connection

from salesline.pipeline.models import Opportunity, Stage

OPPORTUNITIES = Opportunity._meta.db_table


def _ids_clause(ids: np.ndarray) -> tuple[str, object]:
    # Written out as text in one join: adapting a list of Python ints element by element costs
    # more than the query at tens of thousands of ids.
    listed = ",".join(map(str, ids.astype(np.int64).tolist()))
    if connection.vendor == "postgresql":
        return "o.id = ANY(CAST(%s AS bigint[]))", "{" + listed + "}"
    return "o.id IN (SELECT value FROM json_each(%s))", "[" + listed + "]"


def values_of(organisation, ids: np.ndarray) -> list[tuple[int, float, str]]:
    """(id, value, currency) of those of `ids` that have a value."""
    if ids.size == 0:
        return []
    clause, param = _ids_clause(np.unique(ids))
    sql = (
        f"SELECT o.id, CAST(o.value AS DOUBLE PRECISION), o.currency FROM {OPPORTUNITIES} o "  # noqa: S608 - table names and a fixed clause
        f"WHERE o.organisation_id = %s AND o.value IS NOT NULL AND {clause}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [organisation.pk, param])
        return cursor.fetchall()


def _day_number_sql(column: str) -> str:
    """The date as whole days since 1970-01-01, computed by the database: a hundred thousand
    dates parsed into Python objects cost more than the rest of the query."""
    if connection.vendor == "postgresql":
        return f"({column} - DATE '1970-01-01')"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def open_in_pipeline(
    organisation, pipeline_key: str
) -> list[tuple[int, float | None, int | None, str, str]]:
    """(id, value, expected close date as days since 1970-01-01, stage key, currency) of the
    pipeline's live open opportunities (those in its open stages), by id."""
    stage_keys = dict(
        Stage.objects.filter(
            pipeline__organisation=organisation,
            pipeline__key=pipeline_key,
            kind=Stage.Kind.OPEN,
        ).values_list("pk", "key")
    )
    if not stage_keys:
        return []
    marks = ", ".join(["%s"] * len(stage_keys))
    # By stage, so both databases read the board's covering index of live open cards
    # (`opportunity_board_open`) and never the closed million.
    close_day = _day_number_sql("o.expected_close_date")
    sql = (
        f"SELECT o.id, CAST(o.value AS DOUBLE PRECISION), {close_day}, "  # noqa: S608 - table name and placeholders only
        f"o.stage_id, o.currency FROM {OPPORTUNITIES} o WHERE o.organisation_id = %s "
        f"AND o.stage_id IN ({marks}) AND o.deleted_at IS NULL ORDER BY o.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [organisation.pk, *stage_keys])
        return [
            (pk, value, close, stage_keys[stage], currency)
            for pk, value, close, stage, currency in cursor.fetchall()
        ]


def deal_terms_of(
    organisation, ids: np.ndarray
) -> list[tuple[int, float | None, date | None, str]]:
    """(id, value, expected close date, currency) of those of `ids` that are live, by id."""
    if ids.size == 0:
        return []
    clause, param = _ids_clause(np.unique(ids))
    sql = (
        "SELECT o.id, CAST(o.value AS DOUBLE PRECISION), o.expected_close_date, o.currency "  # noqa: S608 - table name and a fixed clause
        f"FROM {OPPORTUNITIES} o WHERE o.organisation_id = %s AND o.deleted_at IS NULL "
        f"AND {clause} ORDER BY o.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [organisation.pk, param])
        return cursor.fetchall()
