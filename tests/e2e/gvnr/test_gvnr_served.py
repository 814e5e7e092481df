"""Gvnr under `pentapi serve` (gunicorn, two uvicorn workers): the exact counters hold across
worker processes with 64 concurrent clients, and MCP works over the network.

* N concurrent clears against an envelope that fits K approve exactly K; every approval takes
  one operation; the quota never goes below zero; every approved clearance is recorded.
* A rate envelope of R per minute allows exactly R of many concurrent checks.
* Among 64 concurrent idempotency checks with one key, exactly one is the first call.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import REPO, Server

pytestmark = pytest.mark.e2e
P = "/gvnr"
CLIENTS = 64
COST = 30_000_000  # 2000 output tokens of claude-sonnet-4-6 ($15/1M) = $0.03, in nano-USD
CLEAR = {"model": "claude-sonnet-4-6", "estimated_tokens": 2000}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("gvnr-e2e")
    running = Server(data_dir, workers=2, env={"GVNR_ACCOUNT_LIMIT_PER_IP": "1000"})
    yield running
    running.stop()


def admin(server: Server, *args: str) -> dict:
    env = {**os.environ, "PENTAPI_DATA_DIR": str(server.log.parent)}
    done = subprocess.run([sys.executable, "-m", "server.cli", "gvnr", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def database(server: Server) -> sqlite3.Connection:
    return sqlite3.connect(Path(server.log.parent) / "pentapi.sqlite3")


def burst(server: Server, key: str, path: str, bodies: list[dict]) -> list[dict]:
    """POST every body at once from CLIENTS concurrent connections; the JSON answers."""

    async def main() -> list[dict]:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60, headers=headers) as http:
            gate = asyncio.Semaphore(CLIENTS)

            async def one(body: dict) -> dict:
                async with gate:
                    r = await http.post(f"{P}{path}", json=body)
                    assert r.status_code == 200, r.text
                    return r.json()

            return await asyncio.gather(*(one(b) for b in bodies))

    return asyncio.run(main())


def worker_pids(server: Server, path: str) -> set[str]:
    """Which worker processes answered `path` (from the access log lines)."""
    pattern = rf"\[(\d+)\] pentapi\.access: \S+ POST {re.escape(P + path)} 200"
    return set(re.findall(pattern, server.log.read_text()))


def test_concurrent_clears_approve_exactly_what_fits(server):
    made = admin(server, "account", "create", "--ops", "1000")
    key = made["api_key"]
    fits = 37
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as http:
        r = http.put(f"{P}/v1/budget/envelope", json={"agent_id": "burst", "limit_usd": fits * 0.03})
        assert r.status_code == 200
    answers = burst(server, key, "/v1/budget/clear", [{"agent_id": "burst", **CLEAR}] * 300)
    approved = [a for a in answers if a["approved"]]
    assert len(approved) == fits
    assert {a["reason"] for a in answers if not a["approved"]} == {"envelope_exceeded"}
    # Each approval took exactly one operation, and each saw a different quota.
    assert sorted(a["operations_remaining"] for a in approved) == list(range(1000 - fits, 1000))
    with database(server) as conn:
        ops, = conn.execute("SELECT ops_remaining FROM gvnr_account WHERE id = ?", (made["account_id"],)).fetchone()
        spent, = conn.execute("SELECT spent_nano FROM gvnr_spend_envelope WHERE agent_id = 'burst'").fetchone()
        pending, = conn.execute("SELECT count(*) FROM gvnr_clearance WHERE account_id = ?",
                                (made["account_id"],)).fetchone()
    assert (ops, spent, pending) == (1000 - fits, fits * COST, fits)  # no clearance lost
    assert len(worker_pids(server, "/v1/budget/clear")) == 2  # both processes took part


def test_the_quota_never_goes_negative(server):
    made = admin(server, "account", "create", "--ops", "25")
    key = made["api_key"]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as http:
        http.put(f"{P}/v1/budget/envelope", json={"agent_id": "a", "limit_usd": 1000})
        http.put(f"{P}/v1/budget/envelope", json={"agent_id": "b", "limit_usd": 1000})
    bodies = [{"agent_id": "a" if i % 2 else "b", **CLEAR} for i in range(200)]
    answers = burst(server, key, "/v1/budget/clear", bodies)
    assert sum(a["approved"] for a in answers) == 25
    assert {a["reason"] for a in answers if not a["approved"]} == {"no_credits"}
    assert admin(server, "account", "show", made["account_id"])["operations_remaining"] == 0
    with database(server) as conn:
        spent, = conn.execute("SELECT sum(spent_nano) FROM gvnr_spend_envelope WHERE account_id = ?",
                              (made["account_id"],)).fetchone()
        pending, = conn.execute("SELECT count(*) FROM gvnr_clearance WHERE account_id = ?",
                                (made["account_id"],)).fetchone()
    assert (spent, pending) == (25 * COST, 25)


def test_concurrent_reconciles_settle_each_clearance_once(server):
    made = admin(server, "account", "create", "--ops", "100")
    key = made["api_key"]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as http:
        http.put(f"{P}/v1/budget/envelope", json={"agent_id": "r", "limit_usd": 100})
    burst(server, key, "/v1/budget/clear", [{"agent_id": "r", **CLEAR}] * 40)
    actual = {"agent_id": "r", "actual_input_tokens": 0, "actual_output_tokens": 1000}  # $0.015 each
    answers = []

    async def main():
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=headers,
                                     limits=httpx.Limits(max_connections=CLIENTS)) as http:
            answers.extend(await asyncio.gather(*(http.post(f"{P}/v1/budget/reconcile", json=actual)
                                                  for _ in range(60))))

    asyncio.run(main())
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 40 and codes.count(400) == 20
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"no_pending_clearance"}
    with database(server) as conn:
        spent, = conn.execute("SELECT spent_nano FROM gvnr_spend_envelope WHERE account_id = ?",
                              (made["account_id"],)).fetchone()
    assert spent == 40 * 15_000_000


def test_rate_envelope_allows_exactly_r(server):
    key = admin(server, "account", "create")["api_key"]
    triple = {"agent_id": "burst", "provider": "openai", "model": "gpt-4o"}
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as http:
        http.put(f"{P}/v1/rate/envelope", json={**triple, "requests_per_minute": 50})
    answers = burst(server, key, "/v1/rate/check", [triple] * 256)
    allowed = [a for a in answers if a["allowed"]]
    assert len(allowed) == 50
    assert sorted(a["requests_remaining_this_minute"] for a in allowed) == list(range(50))
    denied = [a for a in answers if not a["allowed"]]
    assert all(a["reason"] == "rate_exceeded" and 0 < a["retry_after_ms"] <= 60_000 for a in denied)
    assert len(worker_pids(server, "/v1/rate/check")) == 2


def test_exactly_one_first_call_per_idempotency_key(server):
    key = admin(server, "account", "create")["api_key"]
    bodies = [{"key": f"job-{i % 4}"} for i in range(4 * CLIENTS)]
    answers = burst(server, key, "/v1/idempotency/check", bodies)
    firsts = [b["key"] for b, a in zip(bodies, answers, strict=True) if a["is_first_call"]]
    assert sorted(firsts) == ["job-0", "job-1", "job-2", "job-3"]


def test_mcp_over_the_network(server):
    key = admin(server, "account", "create", "--ops", "3")["api_key"]

    async def main():
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"})
        async with http, Client(streamable_http_client(f"{server.url}{P}/mcp", http_client=http)) as client:
            await client.call_tool("set_envelope", {"agent_id": "mcp", "limit_usd": 1})
            cleared = await client.call_tool("budget_clear", {"agent_id": "mcp", "model": "gpt-4o-mini",
                                                              "estimated_tokens": 100})
            return json.loads(cleared.content[0].text)

    assert anyio.run(main) == {"approved": True, "remaining_usd": 0.99994, "operations_remaining": 2}


def test_provisioning_cap_holds_across_workers(tmp_path):
    capped = Server(tmp_path / "capped", workers=2, env={"GVNR_ACCOUNT_LIMIT_PER_IP": "7"})
    try:
        async def main():
            async with httpx.AsyncClient(base_url=capped.url, limits=httpx.Limits(max_connections=16)) as http:
                return await asyncio.gather(*(http.post(f"{P}/v1/account") for _ in range(30)))

        codes = [r.status_code for r in asyncio.run(main())]
    finally:
        capped.stop()
    assert codes.count(201) == 7 and codes.count(429) == 23
