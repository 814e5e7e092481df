"""The search cache: identical queries within the TTL are answered without the provider.

Two backends with the same semantics (`get` -> the stored value or None; `set` with a TTL in
seconds; `clear` drops every search entry and returns how many):

* `RedisCache` when REDIS_URL is set: `SET key value EX ttl`, `GET`, `SCAN` + `DEL` to clear.
  A Redis outage degrades to "no cache" (logged), never to a failed search.
* `SqliteCache` otherwise: the `lithtrix_cache` table in the database, an expiry per row; an
  expired row is never returned and is deleted by the next write (indexed range delete).

The key is the provider, the query normalised (whitespace collapsed, case folded) and
`num_results`: "Moon  landing" and "moon landing" share an entry, 5 and 10 results do not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import typing as t

from server.settings import Settings
from storage import db
from storage.lithtrix import CacheEntry

log = logging.getLogger("pentapi.lithtrix.cache")
PREFIX = "lithtrix:search:v1:"


def normalise(query: str) -> str:
    return " ".join(query.split()).casefold()


def key_for(provider: str, query: str, num_results: int) -> str:
    material = json.dumps([provider, normalise(query), num_results], ensure_ascii=False)
    return PREFIX + hashlib.sha256(material.encode()).hexdigest()


class Cache(t.Protocol):
    backend: str

    def get(self, key: str) -> t.Any | None: ...

    def set(self, key: str, value: t.Any, ttl: int) -> None: ...

    def clear(self) -> int: ...


class SqliteCache:
    backend = "sqlite"

    def __init__(self, clock: t.Callable[[], float] = time.time) -> None:
        self.clock = clock

    def get(self, key: str) -> t.Any | None:
        row = (
            CacheEntry.select(CacheEntry.value)
            .where((CacheEntry.key == key) & (CacheEntry.expires_at > self.clock()))
            .first()
        )
        return json.loads(row.value) if row else None

    def set(self, key: str, value: t.Any, ttl: int) -> None:
        now = self.clock()
        upsert = CacheEntry.insert(key=key, value=json.dumps(value), expires_at=now + ttl).on_conflict(
            conflict_target=[CacheEntry.key],
            update={CacheEntry.value: json.dumps(value), CacheEntry.expires_at: now + ttl},
        )
        prune = CacheEntry.delete().where(CacheEntry.expires_at <= now)
        with db.write():
            prune.execute()
            upsert.execute()

    def clear(self) -> int:
        statement = CacheEntry.delete()
        with db.write():
            return statement.execute()


class RedisCache:
    backend = "redis"

    def __init__(self, url: str) -> None:
        import redis

        self._errors = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def get(self, key: str) -> t.Any | None:
        try:
            raw = self.client.get(key)
        except self._errors as exc:
            log.warning("redis cache unavailable (get): %s", exc)
            return None
        return json.loads(raw) if raw is not None else None

    def set(self, key: str, value: t.Any, ttl: int) -> None:
        try:
            self.client.set(key, json.dumps(value), ex=max(1, ttl))
        except self._errors as exc:
            log.warning("redis cache unavailable (set): %s", exc)

    def clear(self) -> int:
        removed = 0
        batch: list[bytes] = []
        for key in self.client.scan_iter(match=PREFIX + "*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                removed += self.client.delete(*batch)
                batch = []
        if batch:
            removed += self.client.delete(*batch)
        return removed


_lock = threading.Lock()
_redis: dict[str, RedisCache] = {}


def cache_for(settings: Settings) -> Cache:
    """Redis when REDIS_URL is set (one client pool per URL and process), else SQLite."""
    if not settings.redis_url:
        return SqliteCache()
    with _lock:
        if settings.redis_url not in _redis:
            _redis[settings.redis_url] = RedisCache(settings.redis_url)
        return _redis[settings.redis_url]
