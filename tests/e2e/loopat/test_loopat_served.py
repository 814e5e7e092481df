"""loopat under `pentapi serve` (gunicorn, two uvicorn workers): users from the admin command,
login over HTTP, and turns that outlive their request and move between workers - a client
reconnecting to the other worker, a choice or an interrupt posted to the worker that does not
run the turn, one Idempotency-Key raced across both, and a runner worker killed mid-turn.

Every response names its worker (X-Served-By, PENTAPI_EXPOSE_WORKER=1); a test that needs
"the other worker" retries on fresh connections until it gets one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import typing as t
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from tests.conftest import REPO, Server

pytestmark = pytest.mark.e2e
P = "/loopat/api/v1"
ASK = "ask me, then what is 6*7"
ENV = {
    "PENTAPI_EXPOSE_WORKER": "1",
    "LOOPAT_LOCAL_DELTA_MS": "1",
    "LOOPAT_PING_SECONDS": "0.5",
    "LOOPAT_LEASE_SECONDS": "2",
    "LOOPAT_ARGON2_MEMORY_KIB": "1024",
    "LOOPAT_ARGON2_TIME_COST": "1",
}
QUESTION = "How detailed should my answer be?"


def admin(data_dir: Path, *args: str, stdin: str | None = None) -> dict:
    """Run `pentapi loopat ...` against `data_dir` and parse its JSON answer."""
    done = subprocess.run([sys.executable, "-m", "server.cli", "loopat", *args], cwd=REPO, input=stdin,
                          env={**os.environ, **ENV, "PENTAPI_DATA_DIR": str(data_dir)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("loopat-e2e")
    admin(data_dir, "user", "create", "alice", "--password-stdin", stdin="alice-password\n")
    token = admin(data_dir, "token", "create", "alice", "--label", "e2e")["token"]
    server = Server(data_dir, workers=2, env=ENV)
    yield server, {"Authorization": f"Bearer {token}"}
    server.stop()
    assert "Traceback" not in server.log.read_text()


def _new_loop(url: str, auth: dict) -> str:
    r = httpx.post(f"{url}{P}/loops", json={}, headers=auth)
    assert r.status_code == 201
    return r.json()["id"]


def _events(events, stop: str | None = None) -> list:
    """Non-ping events from an iterator of events, up to `stop` (or the end)."""
    seen = []
    for event in events:
        if event.event == "ping":
            continue
        seen.append(event)
        if event.event == stop:
            break
    return seen


@contextlib.contextmanager
def _on_worker(url: str, want, *, tries: int = 40) -> t.Iterator[httpx.Client]:
    """A client whose (kept-alive) connection is served by a worker satisfying `want(pid)`."""
    for _ in range(tries):
        client = httpx.Client(base_url=url, timeout=30)
        if want(client.get("/healthz").headers["x-served-by"]):
            try:
                yield client
            finally:
                client.close()
            return
        client.close()
    raise AssertionError("could not reach the wanted worker")


def test_login_over_http_and_tokens_from_the_cookie(site):
    server, _ = site
    with httpx.Client(base_url=server.url) as client:
        r = client.post("/loopat/api/auth/login", json={"username": "alice", "password": "alice-password"})
        assert r.status_code == 200 and "HttpOnly" in r.headers["set-cookie"]
        made = client.post(f"{P}/me/tokens", json={"label": "from the web"})  # the jar sends the cookie
        assert made.status_code == 201
        client.cookies.clear()
        bearer = {"Authorization": f"Bearer {made.json()['token']}"}
        assert client.get(f"{P}/loops", headers=bearer).status_code == 200
        assert client.post(f"{P}/me/tokens", headers=bearer).status_code == 401  # cookie-only


def test_reconnecting_to_the_other_worker_replays_then_attaches_and_a_choice_crosses_workers(site):
    server, auth = site
    loop_id = _new_loop(server.url, auth)
    body = {"content": ASK, "permission_mode": "default"}
    headers = {**auth, "Idempotency-Key": "e2e-replay"}
    with httpx.Client(base_url=server.url, timeout=30) as client, \
            connect_sse(client, "POST", f"{P}/loops/{loop_id}/messages", json=body, headers=headers) as source:
        first_worker = source.response.headers["x-served-by"]
        seen = _events(source.iter_sse(), stop="requires_choice")
    # The connection is dropped; reconnect with the same key until the OTHER worker answers.
    with _on_worker(server.url, lambda pid: pid != first_worker) as other, \
            connect_sse(other, "POST", f"{P}/loops/{loop_id}/messages", json=body, headers=headers) as source:
        assert source.response.headers["x-served-by"] != first_worker
        events = source.iter_sse()
        replayed = _events(events, stop="requires_choice")
        assert [(e.id, e.event, e.data) for e in replayed] == [(e.id, e.event, e.data) for e in seen]
        # Answer through the other worker too: the runner (on the first worker) reads it from the log.
        choice_id = json.loads(seen[-1].data)["choice_id"]
        with _on_worker(server.url, lambda pid: pid != first_worker) as answering:
            r = answering.post(f"{P}/loops/{loop_id}/choices/{choice_id}", json={"answers": {QUESTION: "Brief"}},
                               headers=auth)
            assert r.status_code == 202 and r.headers["x-served-by"] != first_worker
        live = [e for e in events if e.event != "ping"]
    assert [e.event for e in live][0] == "choice_resolved" and live[-1].event == "done"
    text = "".join(json.loads(e.data)["text"] for e in seen + live if e.event == "assistant_delta")
    assert "6*7 = 42" in text
    state = httpx.get(f"{server.url}{P}/loops/{loop_id}", headers=auth).json()
    assert state["turn_count"] == 1 and state["busy"] is False


def test_an_interrupt_posted_to_the_other_worker_closes_the_stream(site):
    server, auth = site
    loop_id = _new_loop(server.url, auth)
    with httpx.Client(base_url=server.url, timeout=30) as client, \
            connect_sse(client, "POST", f"{P}/loops/{loop_id}/messages",
                        json={"content": ASK, "permission_mode": "default"}, headers=auth) as source:
        worker = source.response.headers["x-served-by"]
        events = source.iter_sse()
        turn_id = json.loads(_events(events, stop="requires_choice")[0].data)["turn_id"]
        with _on_worker(server.url, lambda pid: pid != worker) as other:
            assert other.post(f"{P}/loops/{loop_id}/interrupt", headers=auth).status_code == 202
        rest = _events(events)
    assert [(e.event, json.loads(e.data)) for e in rest] == [("interrupted", {"turn_id": turn_id})]
    assert httpx.get(f"{server.url}{P}/loops/{loop_id}", headers=auth).json()["busy"] is False


def _race(url: str, auth: dict, loop_id: str, key: str, n: int = 12) -> list[tuple[str, list[str]]]:
    """n concurrent POSTs with one key, each on its own connection: (worker, event ids) each."""
    results: list[tuple[str, list[str]]] = []
    barrier = threading.Barrier(n)

    def send() -> None:
        barrier.wait()
        with httpx.Client(base_url=url, timeout=30) as client, \
                connect_sse(client, "POST", f"{P}/loops/{loop_id}/messages", json={"content": "what is 2+2"},
                            headers={**auth, "Idempotency-Key": key}) as source:
            results.append((source.response.headers["x-served-by"], [e.id for e in _events(source.iter_sse())]))

    threads = [threading.Thread(target=send) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_one_idempotency_key_raced_across_both_workers_makes_one_turn(site):
    server, auth = site
    for attempt in range(5):
        loop_id = _new_loop(server.url, auth)
        results = _race(server.url, auth, loop_id, f"race-{attempt}")
        assert len(results) == 12
        assert len({tuple(ids) for _, ids in results}) == 1  # every stream saw the same single turn
        assert httpx.get(f"{server.url}{P}/loops/{loop_id}", headers=auth).json()["turn_count"] == 1
        if len({worker for worker, _ in results}) == 2:
            return
    raise AssertionError("the racing requests never reached both workers")


def test_a_killed_runner_worker_is_replaced_by_the_other(serve, tmp_path):
    data_dir = tmp_path / "serve0"
    admin(data_dir, "user", "create", "alice", "--password-stdin", stdin="alice-password\n")
    auth = {"Authorization": f"Bearer {admin(data_dir, 'token', 'create', 'alice')['token']}"}
    server = serve(workers=2, env=ENV)
    loop_id = _new_loop(server.url, auth)
    with httpx.Client(base_url=server.url, timeout=30) as client, \
            connect_sse(client, "POST", f"{P}/loops/{loop_id}/messages",
                        json={"content": ASK, "permission_mode": "default"}, headers=auth) as source:
        runner_pid = source.response.headers["x-served-by"]
        lost_turn = json.loads(_events(source.iter_sse(), stop="requires_choice")[0].data)["turn_id"]
    with _on_worker(server.url, lambda pid: pid != runner_pid) as other:
        with connect_sse(other, "POST", f"{P}/loops/{loop_id}/messages", json={"content": "what is 2+2"},
                         headers=auth) as queued:
            waiting = queued.iter_sse()
            assert next(waiting).event == "queued"
            os.kill(int(runner_pid), signal.SIGKILL)
            # The surviving worker's janitor sees the lease expire, ends the lost turn, runs the queue.
            rest = [e for e in waiting if e.event != "ping"]
        assert [e.event for e in rest][0] == "started" and rest[-1].event == "done"
        assert "2+2 = 4." in "".join(json.loads(e.data)["text"] for e in rest if e.event == "assistant_delta")
        with connect_sse(other, "GET", f"{P}/loops/{loop_id}/events", headers={**auth, "Last-Event-ID": "0"}) as log:
            history = []
            for event in log.iter_sse():
                history.append(event)
                if event.id == rest[-1].id:
                    break
    lost = [json.loads(e.data) for e in history if e.event == "error"]
    assert lost == [{"code": "sandbox_evicted",
                     "message": "the worker running this turn stopped; send the message again"}]
    ended = [e for e in history if e.event in ("done", "interrupted", "error")]
    assert [e.event for e in ended] == ["error", "done"]
    assert lost_turn in history[0].data  # the log starts with the lost turn's `started`
    state = httpx.get(f"{server.url}{P}/loops/{loop_id}", headers=auth).json()
    assert state["busy"] is False and state["turn_count"] == 2
