"""Spend envelopes, clearance and reconcile: the domain, as writer jobs (storage/writer.py).

Every function taking `conn` runs inside the writer's transaction (or, for reads, on a read
connection); the REST handlers and the MCP tools call the very same functions.

* A **clearance** takes one governance operation and reserves the estimated cost against the
  agent's envelope, or takes nothing: two conditional UPDATEs in one transaction (the
  operation is given back by rolling the job's savepoint when the envelope refuses), so N
  concurrent clears against an envelope that fits K approve exactly K and the quota never
  goes below zero. Each approved clearance is recorded as pending.
* A **reconcile** settles the agent's *oldest* pending clearance (first approved, first
  settled): it deletes that clearance and adds (actual - estimated) to the envelope, priced
  at the rates remembered when it was cleared. A clearance settles exactly once.
* A `daily` envelope resets at 00:00 UTC. The reset is applied inside the clear statement
  when due; reads show the reset state too (they never show yesterday's spend).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from handlers.gvnr.pricing import Price
from storage.writer import Conn, Rollback

DAY_MS = 86_400_000
# Amounts are clamped into SQLite's 64-bit integers; nothing real comes near (1e6 USD is
# 1e15 nano-USD), but token counts in a request are unbounded integers.
CAP = 2**61


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def next_midnight(ms: int) -> int:
    return (ms // DAY_MS + 1) * DAY_MS


def _clamp(value: int) -> int:
    return max(-CAP, min(CAP, value))


@dataclass(frozen=True)
class Envelope:
    agent_id: str
    limit_nano: int
    spent_nano: int
    window: str
    reset_at: int

    @property
    def remaining_nano(self) -> int:
        return max(0, self.limit_nano - self.spent_nano)


@dataclass(frozen=True)
class Clearance:
    approved: bool
    remaining_nano: int
    operations_remaining: int | None = None  # present when approved
    reason: str | None = None  # no_credits | no_envelope | envelope_exceeded


@dataclass(frozen=True)
class Reconciled:
    drift_nano: int
    remaining_nano: int
    operations_remaining: int
    applied: bool  # False when the envelope's window has reset since the clearance
    warning: str | None = None


class NoEnvelope(LookupError):
    pass


class NoPendingClearance(LookupError):
    pass


_DUE = "(window_type = 'daily' AND reset_at <= :now)"


def _effective(row: tuple, agent_id: str, now: int) -> Envelope:
    limit, spent, window, reset_at = row
    if window == "daily" and reset_at <= now:
        return Envelope(agent_id, limit, 0, window, next_midnight(now))
    return Envelope(agent_id, limit, spent, window, reset_at)


_SELECT = ("SELECT limit_nano, spent_nano, window_type, reset_at FROM gvnr_spend_envelope "
           "WHERE account_id = :account AND agent_id = :agent")


# ------------------------------------------------------------------ envelopes


_UPSERT = (
    "INSERT INTO gvnr_spend_envelope (account_id, agent_id, limit_nano, spent_nano, window_type, reset_at) "
    "VALUES (:account, :agent, :limit, 0, :window, :reset_at) "
    "ON CONFLICT (account_id, agent_id) DO UPDATE SET limit_nano = excluded.limit_nano, "
    "window_type = excluded.window_type"
)


def set_envelope(conn: Conn, account: str, agent_id: str, limit_nano: int, window: str, now: int | None = None) -> None:
    """Create, or update the limit and window of, an envelope (an update keeps spend and reset)."""
    now = now_ms() if now is None else now
    conn.execute(_UPSERT, {"account": account, "agent": agent_id, "limit": limit_nano, "window": window,
                           "reset_at": next_midnight(now)})


def get_envelope(conn: Conn, account: str, agent_id: str, now: int | None = None) -> Envelope:
    row = conn.execute(_SELECT, {"account": account, "agent": agent_id}).fetchone()
    if row is None:
        raise NoEnvelope(agent_id)
    return _effective(row, agent_id, now_ms() if now is None else now)


_DELETE_PENDING = "DELETE FROM gvnr_clearance WHERE account_id = :account AND agent_id = :agent"
_DELETE = "DELETE FROM gvnr_spend_envelope WHERE account_id = :account AND agent_id = :agent RETURNING agent_id"


def delete_envelope(conn: Conn, account: str, agent_id: str) -> None:
    """Delete an envelope and its pending clearances."""
    params = {"account": account, "agent": agent_id}
    if conn.execute(_DELETE, params).fetchone() is None:
        raise NoEnvelope(agent_id)
    conn.execute(_DELETE_PENDING, params)


# ------------------------------------------------------------------ clearance

_TAKE_OP = ("UPDATE gvnr_account SET ops_remaining = ops_remaining - 1 "
            "WHERE id = :account AND ops_remaining >= 1 RETURNING ops_remaining")
_RESERVE = (
    "UPDATE gvnr_spend_envelope SET "
    f"spent_nano = CASE WHEN {_DUE} THEN :cost ELSE spent_nano + :cost END, "
    f"reset_at = CASE WHEN {_DUE} THEN :next_reset ELSE reset_at END "
    "WHERE account_id = :account AND agent_id = :agent "
    f"AND (CASE WHEN {_DUE} THEN 0 ELSE spent_nano END) + :cost <= limit_nano "
    "RETURNING limit_nano, spent_nano, reset_at"
)
_RECORD = (
    "INSERT INTO gvnr_clearance (account_id, agent_id, model, input_milli, output_milli, estimated_nano, "
    "window_reset_at, cleared_at) VALUES (:account, :agent, :model, :input, :output, :cost, :reset_at, :now) "
    "RETURNING seq"
)
_PURGE = "DELETE FROM gvnr_clearance WHERE cleared_at < :before"
PURGE_EVERY = 1024  # clearances between two purges of abandoned ones


def clear(conn: Conn, account: str, agent_id: str, model: str, price: Price, tokens: int,
          pending_ttl_ms: int, now: int | None = None) -> Clearance:
    """Approve (take one operation, reserve the estimate, record it pending) or deny."""
    now = now_ms() if now is None else now
    cost = _clamp(price.estimate_nano(tokens))
    taken = conn.execute(_TAKE_OP, {"account": account}).fetchone()
    if taken is None:
        return Clearance(False, 0, reason="no_credits")
    params = {"account": account, "agent": agent_id, "cost": cost, "now": now, "next_reset": next_midnight(now)}
    reserved = conn.execute(_RESERVE, params).fetchone()
    if reserved is None:  # give the operation back: roll this job's savepoint
        row = conn.execute(_SELECT, params).fetchone()
        if row is None:
            raise Rollback(Clearance(False, 0, reason="no_envelope"))
        raise Rollback(Clearance(False, _effective(row, agent_id, now).remaining_nano, reason="envelope_exceeded"))
    limit, spent, reset_at = reserved
    seq = conn.execute(_RECORD, {**params, "model": model, "input": price.input_milli, "output": price.output_milli,
                                 "reset_at": reset_at}).fetchone()[0]
    if seq % PURGE_EVERY == 0:  # abandoned clearances (never reconciled) stay charged, unlisted
        conn.execute(_PURGE, {"before": now - pending_ttl_ms})
    return Clearance(True, max(0, limit - spent), operations_remaining=taken[0])


# ------------------------------------------------------------------ reconcile

_OLDEST = (
    "DELETE FROM gvnr_clearance WHERE seq = (SELECT seq FROM gvnr_clearance "
    "WHERE account_id = :account AND agent_id = :agent AND cleared_at >= :since ORDER BY seq LIMIT 1) "
    "RETURNING input_milli, output_milli, estimated_nano, window_reset_at"
)
_CORRECT = (
    "UPDATE gvnr_spend_envelope SET spent_nano = CASE WHEN spent_nano + :drift > :cap THEN :cap "
    "WHEN spent_nano + :drift < -:cap THEN -:cap ELSE spent_nano + :drift END "
    f"WHERE account_id = :account AND agent_id = :agent AND reset_at = :charged AND NOT {_DUE} "
    "RETURNING limit_nano, spent_nano"
)
_OPS = "SELECT ops_remaining FROM gvnr_account WHERE id = :account"


def reconcile(conn: Conn, account: str, agent_id: str, input_tokens: int, output_tokens: int,
              pending_ttl_ms: int, now: int | None = None) -> Reconciled:
    """Settle the agent's oldest pending clearance with the call's actual token counts.

    Clearances older than `pending_ttl_ms` are abandoned: they stay charged and are skipped."""
    now = now_ms() if now is None else now
    params = {"account": account, "agent": agent_id, "now": now, "since": now - pending_ttl_ms, "cap": CAP}
    envelope = conn.execute(_SELECT, params).fetchone()
    if envelope is None:
        raise NoEnvelope(agent_id)
    pending = conn.execute(_OLDEST, params).fetchone()
    if pending is None:
        raise NoPendingClearance(agent_id)
    input_milli, output_milli, estimated, charged = pending
    actual = input_tokens * input_milli + output_tokens * output_milli
    current = _effective(envelope, agent_id, now)
    drift = _clamp(actual - estimated)  # spend stays a 64-bit integer whatever token counts arrive
    corrected = conn.execute(_CORRECT, {**params, "drift": drift, "charged": charged}).fetchone()
    if corrected is not None:
        remaining, applied = max(0, corrected[0] - corrected[1]), True
    else:  # the window the clearance was charged to has ended: nothing left to correct
        remaining, applied = current.remaining_nano, False
    ops = conn.execute(_OPS, params).fetchone()[0]
    warning = "drift_exceeds_2x_threshold" if actual > 2 * estimated else None
    return Reconciled(drift, remaining, ops, applied, warning)
