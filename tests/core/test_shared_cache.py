"""The shared cache: CACHE_URL's parser, a rate limit counted by two processes' cache clients
against the database and Redis, and the database cache's atomic, expiry-keeping incr."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client, override_settings

from config.settings.base import cache_from_url
from salesline.core import ratelimit
from tests.scheduling.booking_fixtures import make_page, next_weekday

REDIS_URL = "redis://127.0.0.1:6379/15"
TABLE = "salesline_cache_test"

# ---------------------------------------------------------------- CACHE_URL


def test_db_names_the_database_cache_with_its_table():
    for url in ("db://", "DB://", " db:// "):
        config = cache_from_url(url)
        assert config["BACKEND"] == "salesline.core.cache.DatabaseCache"
        assert config["LOCATION"] == "salesline_cache"
        assert config["OPTIONS"]["MAX_ENTRIES"] == 20_000
    assert cache_from_url("db://shared_cache")["LOCATION"] == "shared_cache"


def test_redis_and_rediss_name_djangos_redis_cache_at_that_url():
    assert cache_from_url("redis://cache.internal:6379/2") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/2",
    }
    secure = cache_from_url("rediss://:secret@cache.internal:6380/0")
    assert secure["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert secure["LOCATION"] == "rediss://:secret@cache.internal:6380/0"


def test_locmem_is_this_process_only():
    assert cache_from_url("locmem://") == {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "",
    }


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("memcached://127.0.0.1:11211", "the scheme 'memcached'"),
        ("file:///var/tmp/cache", "the scheme 'file'"),
        ("dummy://", "the scheme 'dummy'"),
        ("redis", "a value without a scheme"),
        ("user:secret@cache.internal", "a value without a scheme"),
    ],
)
def test_any_other_value_is_refused_naming_the_variable_and_the_accepted_ones(url, named):
    with pytest.raises(ImproperlyConfigured) as refused:
        cache_from_url(url)
    message = str(refused.value)
    assert message.startswith(f"CACHE_URL: {named} is not a cache")
    for accepted in ("db://", "redis://", "rediss://", "locmem://"):
        assert accepted in message
    assert "secret" not in message


def test_a_table_name_that_is_not_one_is_refused():
    with pytest.raises(ImproperlyConfigured, match=r"CACHE_URL: 'cache; drop' is not a table"):
        cache_from_url("db://cache; drop")


def test_the_test_settings_keep_a_cache_per_process(settings):
    assert {"default": cache_from_url("locmem://")} == settings.CACHES
    assert type(caches["default"]).__name__ == "LocMemCache"


# ---------------------------------------------------------------- shared across processes


def _drop_table(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(name)}")


@pytest.fixture
def database_cache(transactional_db):
    """The default cache in a table of the test database, as the production settings have it."""
    with override_settings(CACHES={"default": cache_from_url(f"db://{TABLE}")}):
        call_command("createcachetable", verbosity=0)
        yield caches["default"]
    _drop_table(TABLE)


@pytest.fixture
def redis_cache(transactional_db):
    """The default cache in Redis's database 15, under a prefix of this test's own (other test
    processes may use the same database; nothing here flushes it). Transactional, so the other
    thread sees the booking page."""
    import redis

    prefix = f"salesline-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL} (CI machines have one)")
    with override_settings(CACHES={"default": {**cache_from_url(REDIS_URL), "KEY_PREFIX": prefix}}):
        yield caches["default"]
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()


class OtherProcess:
    """Requests made from another thread: Django gives it its own cache client (and its own
    database connection), as it would another app server."""

    def __init__(self):
        self.pool = ThreadPoolExecutor(max_workers=1)

    def run(self, function, *args):
        return self.pool.submit(function, *args).result(timeout=60)

    def close(self):
        self.run(connections.close_all)
        self.pool.shutdown()


def _limit_holds_across_two_clients(org, user, settings):
    settings.SALESLINE_BOOKING_RATE_LIMITS = {"read": (4, 600), "book": (10, 600)}
    make_page(org, user, slug="ann-30", minimum_notice_hours=0)
    path = f"/api/v1/booking/ann-30/slots?date={next_weekday()}"
    here = Client(REMOTE_ADDR="203.0.113.9")
    other = OtherProcess()
    there_client = other.run(lambda: Client(REMOTE_ADDR="203.0.113.9"))
    there_cache = other.run(lambda: caches["default"])
    assert there_cache is not caches["default"]  # two clients, as two processes have
    try:
        # A window of its own, started a second ago, so the test never straddles two windows.
        start = (int(time.time()) // 600 + 1) * 600 + 1
        with time_machine.travel(start, tick=True):
            statuses = []
            for n in range(6):
                if n % 2:
                    statuses.append(other.run(lambda: there_client.get(path).status_code))
                else:
                    statuses.append(here.get(path).status_code)
            # Two each from either side, then the fifth overall is refused, on either side.
            assert statuses == [200, 200, 200, 200, 429, 429]
            # Another address still has its own count.
            assert Client(REMOTE_ADDR="203.0.113.10").get(path).status_code == 200
    finally:
        other.close()


def test_two_cache_clients_share_the_count_in_the_database(database_cache, org, user, settings):
    _limit_holds_across_two_clients(org, user, settings)


def test_two_cache_clients_share_the_count_in_redis(redis_cache, org, user, settings):
    _limit_holds_across_two_clients(org, user, settings)


# ---------------------------------------------------------------- the database cache's incr


def test_concurrent_increments_are_all_counted(database_cache):
    database_cache.add("hits", 0, timeout=600)
    workers, each = 4, 10
    barrier = threading.Barrier(workers)

    def count():
        try:
            barrier.wait()
            for _ in range(each):
                caches["default"].incr("hits")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done in [pool.submit(count) for _ in range(workers)]:
            done.result(timeout=120)
    assert database_cache.get("hits") == workers * each


@pytest.mark.django_db
def test_an_increment_keeps_the_entrys_expiry():
    with override_settings(CACHES={"default": cache_from_url(f"db://{TABLE}")}):
        call_command("createcachetable", verbosity=0)
        counted = caches["default"]
        now = dt.datetime.now(dt.UTC)
        with time_machine.travel(now, tick=False) as clock:
            counted.add("hour", 1, timeout=3600)
            assert counted.incr("hour") == 2
            assert counted.incr("hour", 3) == 5
            clock.shift(dt.timedelta(seconds=400))  # past Django's default timeout (300 s)
            assert counted.get("hour") == 5
            clock.shift(dt.timedelta(seconds=3300))  # past the hour
            assert counted.get("hour") is None
            with pytest.raises(ValueError, match="not found"):
                counted.incr("hour")
        with pytest.raises(ValueError, match="not found"):
            counted.incr("never-set")


@pytest.mark.django_db
def test_djangos_own_incr_would_reset_a_windows_expiry():
    """Why salesline.core.cache exists: Django's DatabaseCache sets the default timeout on incr."""
    with override_settings(
        CACHES={
            "default": {**cache_from_url(f"db://{TABLE}"), "BACKEND": _dotted(DjangoDatabaseCache)}
        }
    ):
        call_command("createcachetable", verbosity=0)
        plain = caches["default"]
        with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as clock:
            plain.add("hour", 1, timeout=3600)
            plain.incr("hour")
            clock.shift(dt.timedelta(seconds=400))
            assert plain.get("hour") is None


def _dotted(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_rate_limit_counts_past_djangos_default_timeout(database_cache):
    """A limit of 2 an hour still refuses the third request ten minutes later."""
    with time_machine.travel((int(time.time()) // 3600 + 1) * 3600 + 1, tick=False) as clock:
        ratelimit.hit("send", "203.0.113.9", limit=2, window=3600)
        ratelimit.hit("send", "203.0.113.9", limit=2, window=3600)
        clock.shift(dt.timedelta(minutes=10))
        with pytest.raises(ratelimit.RateLimited) as limited:
            ratelimit.hit("send", "203.0.113.9", limit=2, window=3600)
        assert limited.value.retry_after == 3600 - 1 - 600
