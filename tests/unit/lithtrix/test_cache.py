"""The search cache: one contract, two backends (the SQLite TTL table and a real redis-server)."""

from __future__ import annotations

import time

import pytest

from handlers.lithtrix import cache
from server.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "redis"])
def backend(request, database):
    if request.param == "sqlite":
        clock = Clock()
        store = cache.SqliteCache(clock=clock)

        def advance(seconds: float) -> None:
            clock.now += seconds
    else:
        store = cache.RedisCache(request.getfixturevalue("redis_url"))

        def advance(seconds: float) -> None:
            time.sleep(seconds)  # Redis expires keys on its own clock
    yield store, advance
    if request.param == "redis":
        store.client.close()


def test_miss_set_hit(backend):
    store, _ = backend
    key = cache.key_for("local", "moon landing", 10)
    assert store.get(key) is None
    store.set(key, [{"title": "Moon", "credibility_score": 1.0}], ttl=60)
    assert store.get(key) == [{"title": "Moon", "credibility_score": 1.0}]
    store.set(key, [{"title": "Replaced"}], ttl=60)
    assert store.get(key) == [{"title": "Replaced"}]


def test_entries_expire_after_their_ttl(backend):
    store, advance = backend
    key = cache.key_for("local", "ttl", 10)
    store.set(key, ["x"], ttl=1)
    assert store.get(key) == ["x"]
    advance(1.2)
    assert store.get(key) is None


def test_clear_drops_search_entries_only(backend, redis_server):
    store, _ = backend
    for i in range(3):
        store.set(cache.key_for("local", f"q{i}", 10), [i], ttl=60)
    redis_server.client.set("someone-elses-key", "kept")
    assert store.clear() == 3
    assert store.get(cache.key_for("local", "q0", 10)) is None
    assert redis_server.client.get("someone-elses-key") == b"kept"


def test_sqlite_prunes_expired_rows_on_write(database):
    from storage.lithtrix import CacheEntry

    clock = Clock()
    store = cache.SqliteCache(clock=clock)
    store.set("old", [1], ttl=5)
    clock.now += 10
    store.set("new", [2], ttl=5)
    assert [row.key for row in CacheEntry.select()] == ["new"]


def test_keys_normalise_the_query_but_not_the_page_size_or_provider():
    assert cache.key_for("local", "Moon  Landing ", 10) == cache.key_for("local", "moon landing", 10)
    assert cache.key_for("local", "moon", 10) != cache.key_for("local", "moon", 5)
    assert cache.key_for("local", "moon", 10) != cache.key_for("brave", "moon", 10)
    assert cache.key_for("local", "moon", 10).startswith(cache.PREFIX)


def test_redis_down_degrades_to_no_cache():
    store = cache.RedisCache("redis://127.0.0.1:1/0")
    store.set("k", [1], ttl=60)  # logged, not raised
    assert store.get("k") is None
    store.client.close()


def test_backend_follows_redis_url(redis_url):
    assert cache.cache_for(Settings().replace(redis_url="")).backend == "sqlite"
    assert cache.cache_for(Settings().replace(redis_url=redis_url)).backend == "redis"
