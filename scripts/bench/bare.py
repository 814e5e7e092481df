"""The bare baseline: Starlette + sqlite3 doing the benchmarked work with nothing in between.

Endpoints mirror what the pentapi cases do: GET /healthz (SELECT 1), POST /write (one upsert),
POST /rate (one conditional increment: allow while under a per-minute limit), and Gvnr's two
hot writes with the very statements Gvnr runs (handlers/gvnr/spend.py, rates.py): POST /clear
(take an operation, reserve against the envelope, record the clearance, in one BEGIN
IMMEDIATE transaction) and POST /ratecheck (the fixed-window conditional UPDATE). Both check a
Bearer key by its SHA-256 against keys loaded at start, as Gvnr's remembered keys do.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DB = os.environ.get("BARE_DB", "bare.sqlite3")
_conn: sqlite3.Connection | None = None


def conn() -> sqlite3.Connection:
    global _conn
    if _conn is None:
        _conn = sqlite3.connect(DB, isolation_level=None, check_same_thread=False)
        _conn.execute("PRAGMA busy_timeout=5000")
        _conn.execute("PRAGMA synchronous=NORMAL")
        _conn.execute("PRAGMA foreign_keys=1")  # as pentapi's connections (storage/db.py)
    return _conn


async def healthz(request: Request) -> JSONResponse:
    conn().execute("SELECT 1").fetchone()
    return JSONResponse({"status": "ok", "database": "ok"})


async def write(request: Request) -> JSONResponse:
    body = await request.json()
    n = conn().execute(
        "INSERT INTO counters(k, n) VALUES (?, 1) ON CONFLICT(k) DO UPDATE SET n = n + 1 RETURNING n",
        (body["key"],),
    ).fetchone()[0]
    return JSONResponse({"key": body["key"], "n": n})


async def rate(request: Request) -> JSONResponse:
    body = await request.json()
    window = int(time.time() // 60) * 60
    row = conn().execute(
        "INSERT INTO windows(k, start, n) VALUES (?, ?, 1) ON CONFLICT(k) DO UPDATE SET "
        "n = CASE WHEN start = excluded.start THEN n + 1 ELSE 1 END, start = excluded.start "
        "WHERE start <> excluded.start OR n < ? RETURNING n",
        (body["key"], window, int(body.get("limit", 1_000_000_000))),
    ).fetchone()
    return JSONResponse({"allowed": row is not None})


_keys: dict[str, str] = {}  # sha256(key) -> account id


def _account(request: Request) -> str | None:
    if not _keys:
        _keys.update(conn().execute("SELECT key_digest, id FROM gvnr_account").fetchall())
    key = request.headers.get("authorization", "").removeprefix("Bearer ")
    return _keys.get(hashlib.sha256(key.encode()).hexdigest())


async def clear(request: Request) -> JSONResponse:
    account = _account(request)
    if account is None:
        return JSONResponse({"error": "invalid_api_key"}, status_code=401)
    body = await request.json()
    now = time.time_ns() // 1_000_000
    cost = int(body["estimated_tokens"]) * 600  # gpt-4o-mini output, nano-USD
    c = conn()
    c.execute("BEGIN IMMEDIATE")
    try:
        taken = c.execute("UPDATE gvnr_account SET ops_remaining = ops_remaining - 1 "
                          "WHERE id = ? AND ops_remaining >= 1 RETURNING ops_remaining", (account,)).fetchone()
        reserved = c.execute("UPDATE gvnr_spend_envelope SET spent_nano = spent_nano + ? WHERE account_id = ? "
                             "AND agent_id = ? AND spent_nano + ? <= limit_nano RETURNING limit_nano, spent_nano, "
                             "reset_at", (cost, account, body["agent_id"], cost)).fetchone()
        c.execute("INSERT INTO gvnr_clearance (account_id, agent_id, model, input_milli, output_milli, "
                  "estimated_nano, window_reset_at, cleared_at) VALUES (?, ?, ?, 150, 600, ?, ?, ?)",
                  (account, body["agent_id"], body["model"], cost, reserved[2], now))
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
    return JSONResponse({"approved": True, "remaining_usd": (reserved[0] - reserved[1]) / 1e9,
                         "operations_remaining": taken[0]})


async def ratecheck(request: Request) -> JSONResponse:
    account = _account(request)
    if account is None:
        return JSONResponse({"error": "invalid_api_key"}, status_code=401)
    body = await request.json()
    now = time.time_ns() // 1_000_000
    row = conn().execute(
        "UPDATE gvnr_rate_envelope SET window_start = CASE WHEN ? - window_start >= 60000 THEN ? ELSE window_start "
        "END, requests_in_window = CASE WHEN ? - window_start >= 60000 THEN 1 ELSE requests_in_window + 1 END "
        "WHERE account_id = ? AND agent_id = ? AND provider = ? AND model = ? AND (? - window_start >= 60000 "
        "OR requests_in_window < requests_per_minute) RETURNING requests_per_minute - requests_in_window",
        (now, now, now, account, body["agent_id"], body["provider"], body["model"], now)).fetchone()
    return JSONResponse({"allowed": True, "requests_remaining_this_minute": row[0]} if row else
                        {"allowed": False, "reason": "rate_exceeded"})


app = Starlette(routes=[
    Route("/healthz", healthz),
    Route("/write", write, methods=["POST"]),
    Route("/rate", rate, methods=["POST"]),
    Route("/clear", clear, methods=["POST"]),
    Route("/ratecheck", ratecheck, methods=["POST"]),
])

# Gvnr's hot tables, as storage/gvnr.py creates them (same keys and indexes).
GVNR_DDL = (
    "CREATE TABLE IF NOT EXISTS gvnr_account (id TEXT PRIMARY KEY, key_digest TEXT UNIQUE NOT NULL, "
    "ops_remaining INTEGER NOT NULL CHECK (ops_remaining >= 0))",
    "CREATE TABLE IF NOT EXISTS gvnr_spend_envelope (account_id TEXT NOT NULL REFERENCES gvnr_account (id), "
    "agent_id TEXT NOT NULL, limit_nano INTEGER NOT NULL, spent_nano INTEGER NOT NULL, window_type TEXT NOT NULL, "
    "reset_at INTEGER NOT NULL, PRIMARY KEY (account_id, agent_id))",
    "CREATE TABLE IF NOT EXISTS gvnr_clearance (seq INTEGER PRIMARY KEY, account_id TEXT NOT NULL REFERENCES "
    "gvnr_account (id), agent_id TEXT NOT NULL, model TEXT NOT NULL, input_milli INTEGER NOT NULL, output_milli "
    "INTEGER NOT NULL, estimated_nano INTEGER NOT NULL, window_reset_at INTEGER NOT NULL, cleared_at INTEGER NOT "
    "NULL, created_at DATETIME DEFAULT CURRENT_TIMESTAMP)",
    "CREATE INDEX IF NOT EXISTS gvnr_clearance_agent ON gvnr_clearance (account_id, agent_id, seq)",
    "CREATE INDEX IF NOT EXISTS gvnr_clearance_cleared_at ON gvnr_clearance (cleared_at)",
    "CREATE TABLE IF NOT EXISTS gvnr_rate_envelope (account_id TEXT NOT NULL REFERENCES gvnr_account (id), "
    "agent_id TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, requests_per_minute INTEGER NOT NULL, "
    "window_start INTEGER NOT NULL, requests_in_window INTEGER NOT NULL, "
    "PRIMARY KEY (account_id, agent_id, provider, model))",
)


def seed_gvnr(key: str, agent_id: str, provider: str, model: str) -> None:
    """One account holding `key`, with a spend envelope and a rate envelope for the benchmark."""
    c = conn()
    for statement in GVNR_DDL:
        c.execute(statement)
    digest = hashlib.sha256(key.encode()).hexdigest()
    c.execute("INSERT INTO gvnr_account VALUES ('bench', ?, 1000000000000)", (digest,))
    c.execute("INSERT INTO gvnr_spend_envelope VALUES ('bench', ?, 1000000000000000, 0, 'session', 0)", (agent_id,))
    c.execute("INSERT INTO gvnr_rate_envelope VALUES ('bench', ?, ?, ?, 1000000, 0, 0)", (agent_id, provider, model))


if __name__ == "__main__" and "--init" in sys.argv:
    c = conn()
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE IF NOT EXISTS counters (k TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    c.execute("CREATE TABLE IF NOT EXISTS windows (k TEXT PRIMARY KEY, start INTEGER NOT NULL, n INTEGER NOT NULL)")
    if os.environ.get("BARE_GVNR_KEY"):
        seed_gvnr(os.environ["BARE_GVNR_KEY"], "bench-agent", "openai", "gpt-4o-mini")
