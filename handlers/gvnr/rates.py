"""Rate envelopes: requests per fixed 60-second window for one (agent, provider, model).

A window opens at the first request after the previous one ended (or at the PUT that set the
envelope) and lasts exactly 60 s; it is not sliding. A check is one conditional UPDATE that
opens a new window or counts the request only while the window has room, so R allowed per
window is exact across threads and processes; a denied check counts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.gvnr.spend import now_ms
from storage.writer import Conn

WINDOW_MS = 60_000


@dataclass(frozen=True)
class RateState:
    agent_id: str
    provider: str
    model: str
    requests_per_minute: int
    requests_in_window: int
    window_start: int


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    remaining: int = 0  # requests left in this window after this one (allowed)
    reason: str | None = None  # rate_exceeded | no_rate_envelope
    retry_after_ms: int | None = None  # until the window ends (rate_exceeded)


class NoRateEnvelope(LookupError):
    pass


_KEY = "account_id = :account AND agent_id = :agent AND provider = :provider AND model = :model"
_UPSERT = (
    "INSERT INTO gvnr_rate_envelope (account_id, agent_id, provider, model, requests_per_minute, window_start, "
    "requests_in_window) VALUES (:account, :agent, :provider, :model, :rpm, :now, 0) "
    "ON CONFLICT (account_id, agent_id, provider, model) DO UPDATE SET "
    "requests_per_minute = excluded.requests_per_minute, window_start = excluded.window_start, requests_in_window = 0"
)


def _key(account: str, agent_id: str, provider: str, model: str) -> dict:
    return {"account": account, "agent": agent_id, "provider": provider, "model": model}


def set_envelope(conn: Conn, account: str, agent_id: str, provider: str, model: str, rpm: int,
                 now: int | None = None) -> None:
    """Create or replace an envelope; either way a fresh window opens now (count 0)."""
    conn.execute(_UPSERT, {**_key(account, agent_id, provider, model), "rpm": rpm,
                           "now": now_ms() if now is None else now})


_SELECT = f"SELECT requests_per_minute, requests_in_window, window_start FROM gvnr_rate_envelope WHERE {_KEY}"


def get_envelope(conn: Conn, account: str, agent_id: str, provider: str, model: str,
                 now: int | None = None) -> RateState:
    """The envelope's state; a window that has ended shows 0 requests (the next one opens on use)."""
    row = conn.execute(_SELECT, _key(account, agent_id, provider, model)).fetchone()
    if row is None:
        raise NoRateEnvelope(agent_id)
    rpm, count, start = row
    if (now_ms() if now is None else now) - start >= WINDOW_MS:
        count = 0
    return RateState(agent_id, provider, model, rpm, count, start)


_DELETE = f"DELETE FROM gvnr_rate_envelope WHERE {_KEY} RETURNING agent_id"


def delete_envelope(conn: Conn, account: str, agent_id: str, provider: str, model: str) -> None:
    if conn.execute(_DELETE, _key(account, agent_id, provider, model)).fetchone() is None:
        raise NoRateEnvelope(agent_id)


_ENDED = "(:now - window_start >= 60000)"
_COUNT = (
    "UPDATE gvnr_rate_envelope SET "
    f"window_start = CASE WHEN {_ENDED} THEN :now ELSE window_start END, "
    f"requests_in_window = CASE WHEN {_ENDED} THEN 1 ELSE requests_in_window + 1 END "
    f"WHERE {_KEY} AND ({_ENDED} OR requests_in_window < requests_per_minute) "
    "RETURNING requests_per_minute - requests_in_window"
)
_WINDOW = f"SELECT window_start FROM gvnr_rate_envelope WHERE {_KEY}"


def check(conn: Conn, account: str, agent_id: str, provider: str, model: str, now: int | None = None) -> RateDecision:
    """Count one request if the current window has room."""
    params = {**_key(account, agent_id, provider, model), "now": now_ms() if now is None else now}
    counted = conn.execute(_COUNT, params).fetchone()
    if counted is not None:
        return RateDecision(True, remaining=counted[0])
    row = conn.execute(_WINDOW, params).fetchone()
    if row is None:
        return RateDecision(False, reason="no_rate_envelope")
    retry = WINDOW_MS - (params["now"] - row[0])
    return RateDecision(False, reason="rate_exceeded", retry_after_ms=max(1, min(WINDOW_MS, retry)))
