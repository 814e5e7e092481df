"""Idempotency keys: the first call with a key (per account) within its TTL is told so; every
other call until the key expires is a replay.

One upsert decides: it inserts the key, or replaces it only when the stored one has expired,
and returns a row exactly when this call is the first - so among any number of concurrent
callers, across processes, exactly one is first. An expired key is a first call again;
expired keys are purged (an indexed range delete) whenever a key is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.gvnr.spend import now_ms
from storage.writer import Conn

DEFAULT_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 30 * 86_400


@dataclass(frozen=True)
class KeyCheck:
    is_first_call: bool
    ttl_remaining_seconds: int


_STORE = (
    'INSERT INTO gvnr_idempotency_key (account_id, "key", stored_at, expires_at) '
    "VALUES (:account, :key, :now, :expires) ON CONFLICT (account_id, \"key\") DO UPDATE SET "
    "stored_at = excluded.stored_at, expires_at = excluded.expires_at "
    "WHERE gvnr_idempotency_key.expires_at <= :now RETURNING expires_at"
)
_EXPIRES = 'SELECT expires_at FROM gvnr_idempotency_key WHERE account_id = :account AND "key" = :key'
_PURGE = "DELETE FROM gvnr_idempotency_key WHERE expires_at <= :now"


def check(conn: Conn, account: str, key: str, ttl_seconds: int = DEFAULT_TTL_SECONDS,
          now: int | None = None) -> KeyCheck:
    """Check-and-set `key`. A replay reports the time left on the stored key (not extended)."""
    now = now_ms() if now is None else now
    params = {"account": account, "key": key, "now": now, "expires": now + ttl_seconds * 1000}
    if conn.execute(_STORE, params).fetchone() is not None:
        conn.execute(_PURGE, params)
        return KeyCheck(True, ttl_seconds)
    expires = conn.execute(_EXPIRES, params).fetchone()[0]
    return KeyCheck(False, max(0, -(-(expires - now) // 1000)))
