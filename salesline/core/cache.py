"""Django's database cache with an atomic `incr` that keeps the entry's expiry.

The production settings use the database as the shared cache (docs/deployment.md). Django's
DatabaseCache inherits BaseCache.incr: a get and then a set, so two processes counting at once
both write the same number, and the set gives the entry the default timeout (300 s) instead of
keeping its own — a rate limit of 5 an hour (core/ratelimit.py) would start again five minutes
after each request. Here the row is locked (SELECT … FOR UPDATE on PostgreSQL; SQLite's
transactions take the write lock at BEGIN, config/settings/base.py) and only its value changes.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, models, router, transaction
from django.utils.timezone import now


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        cache_key = self.make_and_validate_key(key, version=version)
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        quote_name = connection.ops.quote_name
        table = quote_name(self._table)  # type: ignore[attr-defined]  # BaseDatabaseCache sets it
        key_column, value_column = quote_name("cache_key"), quote_name("value")
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {value_column}, {quote_name('expires')} FROM {table} "  # noqa: S608 - quoted names
                f"WHERE {key_column} = %s{lock}",
                [cache_key],
            )
            row = cursor.fetchone()
            if row is None or _expires(connection, row[1]) < now():
                raise ValueError(f"Key '{key}' not found")
            stored = connection.ops.process_clob(row[0])
            value = pickle.loads(base64.b64decode(stored.encode(), validate=True)) + delta  # noqa: S301 - our own rows
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(
                f"UPDATE {table} SET {value_column} = %s WHERE {key_column} = %s",  # noqa: S608
                [encoded, cache_key],
            )
        return value


def _expires(connection, stored):
    """The expiry column as an aware datetime, converted as Django's DatabaseCache does."""
    expression = models.Expression(output_field=models.DateTimeField())
    converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(
        connection
    )
    for converter in converters:
        stored = converter(stored, expression, connection)
    return stored
