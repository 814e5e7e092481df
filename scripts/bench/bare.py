"""The bare baseline: Starlette + sqlite3 doing the benchmarked work with nothing in between.

Endpoints mirror what the pentapi cases do: GET /healthz (SELECT 1), POST /write (one upsert),
POST /rate (one conditional increment: allow while under a per-minute limit).
"""

from __future__ import annotations

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


app = Starlette(routes=[
    Route("/healthz", healthz),
    Route("/write", write, methods=["POST"]),
    Route("/rate", rate, methods=["POST"]),
])


if __name__ == "__main__" and "--init" in sys.argv:
    c = conn()
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE IF NOT EXISTS counters (k TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    c.execute("CREATE TABLE IF NOT EXISTS windows (k TEXT PRIMARY KEY, start INTEGER NOT NULL, n INTEGER NOT NULL)")
