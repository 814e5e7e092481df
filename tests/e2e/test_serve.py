"""`pentapi serve` for real: gunicorn, uvicorn workers, WAL before fork, SSE event by event."""

from __future__ import annotations

import json
import sqlite3
import threading

import httpx
import pytest
from httpx_sse import connect_sse

from tests.fixtures.oas31 import mount_json

pytestmark = pytest.mark.e2e


def test_serves_all_five_with_wal_and_logs_each_request(serve):
    server = serve(workers=2)
    assert httpx.get(f"{server.url}/healthz").json()["database"] == "ok"
    r = httpx.get(f"{server.url}/gvnr/v1/account/balance")
    assert r.status_code == 401 and r.json()["error"] == "missing_api_key"
    r = httpx.get(f"{server.url}/loopat/api/v1/loops")
    assert r.json()["error"]["code"] == "missing_credentials"
    db_file = server.log.parent / "pentapi.sqlite3"
    assert sqlite3.connect(db_file).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    server.stop()
    log = server.log.read_text()
    assert "GET /gvnr/v1/account/balance 401" in log and "rid=" in log
    assert "Traceback" not in log


def test_single_api_at_its_own_paths(serve):
    server = serve("--api", "loopat", workers=1)
    assert httpx.get(f"{server.url}/api/v1/loops").json()["error"]["type"] == "authentication_error"
    assert httpx.get(f"{server.url}/api/v1/openapi.json").json()["servers"] == [{"url": "/api/v1"}]


def test_many_workers_start_together_on_a_fresh_database(serve):
    server = serve(workers=4)
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_sse_reaches_the_client_event_by_event(serve):
    """The stream's second event is only produced after the client has received the first
    one (the client opens a gate the handler waits on), so buffering anywhere in
    gunicorn/uvicorn/Connexion would deadlock this test instead of passing it."""
    server = serve(workers=2, env={"PENTAPI_EXTRA_APIS": mount_json()})
    gate = server.log.parent / "gate-g1"
    received = []
    url = f"{server.url}/oas31/stream?n=3&gate=g1"
    with httpx.Client(timeout=10) as client, connect_sse(client, "GET", url) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        for event in source.iter_sse():
            received.append((event.id, event.event, json.loads(event.data)["i"]))
            if len(received) == 1:
                gate.touch()
    assert received == [("0", "tick", 0), ("1", "tick", 1), ("2", "tick", 2)]


def test_open_streams_do_not_hold_handler_threads(serve):
    """40 long streams on ONE worker (four times its 10 WSGI threads) while ordinary
    requests keep being answered: streams run on the event loop, not on handler threads."""
    server = serve(workers=1, env={"PENTAPI_EXTRA_APIS": mount_json()})
    opened = threading.Barrier(41)
    stop = threading.Event()

    def hold_stream():
        url = f"{server.url}/oas31/stream?n=1000&interval_ms=200"
        with httpx.Client(timeout=30) as client, client.stream("GET", url) as r:
            chunks = r.iter_text()
            next(chunks)
            opened.wait()
            stop.wait(20)

    threads = [threading.Thread(target=hold_stream, daemon=True) for _ in range(40)]
    for t in threads:
        t.start()
    opened.wait(timeout=20)
    answers = [httpx.post(f"{server.url}/oas31/counters", json={"key": "k"}, timeout=5).json()["n"] for _ in range(20)]
    stop.set()
    assert answers == list(range(1, 21))
