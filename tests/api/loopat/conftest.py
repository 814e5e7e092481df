"""Two loopat users (alice, bob) with web sessions and API tokens, made by the same functions
the admin commands use, on the real app (all five APIs; loopat at /loopat/api/v1)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import pytest
from httpx_sse import connect_sse

from handlers.loopat import accounts
from server.settings import Settings

P = "/loopat/api/v1"
AUTH = "/loopat/api/auth"
PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-22"}

# Fast, but not instant, local agent; pings, polls and lastUsedAt batches short enough for tests.
FAST = {
    "loopat_local_delta_ms": 1,
    "loopat_ping_seconds": 0.3,
    "loopat_poll_ms": 10,
    "loopat_token_touch_seconds": 0.1,
    # a cheap argon2id (the default costs 64 MiB and ~1 s of this loaded machine per hash)
    "loopat_argon2_time_cost": 1,
    "loopat_argon2_memory_kib": 1024,
    "loopat_argon2_parallelism": 1,
}


@dataclass
class World:
    client: object
    tokens: dict[str, str] = field(default_factory=dict)  # user -> la_ token
    cookies: dict[str, str] = field(default_factory=dict)  # user -> loopat_session value

    def bearer(self, user: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def cookie(self, user: str = "alice") -> dict[str, str]:
        return {"Cookie": f"loopat_session={self.cookies[user]}"}

    def new_loop(self, user: str = "alice", **body) -> str:
        r = self.client.post(f"{P}/loops", json=body, headers=self.bearer(user))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def loop(self, loop_id: str, user: str = "alice") -> dict:
        r = self.client.get(f"{P}/loops/{loop_id}", headers=self.bearer(user))
        assert r.status_code == 200, r.text
        return r.json()

    def stream(self, loop_id: str, content: str, *, user: str = "alice", key: str | None = None,
               headers: dict | None = None, **body):
        """connect_sse on POST /messages (a context manager yielding the EventSource)."""
        sent = {**self.bearer(user), **({"Idempotency-Key": key} if key else {}), **(headers or {})}
        return connect_sse(self.client, "POST", f"{P}/loops/{loop_id}/messages",
                           json={"content": content, **body}, headers=sent)

    def send(self, loop_id: str, content: str, **kwargs) -> list:
        """Send a message and read its stream to the end: the list of ServerSentEvents."""
        with self.stream(loop_id, content, **kwargs) as source:
            assert source.response.status_code == 200, source.response.read()
            return [e for e in source.iter_sse() if e.event != "ping"]

    def answer(self, loop_id: str, choice_id: str, body: dict, user: str = "alice"):
        return self.client.post(f"{P}/loops/{loop_id}/choices/{choice_id}", json=body, headers=self.bearer(user))

    def wait_idle(self, loop_id: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.loop(loop_id)
            if not state["busy"]:
                return state
            time.sleep(0.02)
        raise AssertionError(f"loop still busy: {state}")


def until(source_iter, name: str) -> list:
    """Read events (pings left out) up to and including the first named `name`."""
    seen = []
    for event in source_iter:
        if event.event == "ping" and name != "ping":
            continue
        seen.append(event)
        if event.event == name:
            return seen
    raise AssertionError(f"stream ended before {name}: {[e.event for e in seen]}")


def data(event) -> dict:
    return json.loads(event.data)


@pytest.fixture
def loopat_settings(settings: Settings) -> Settings:
    return settings.replace(**FAST)


@pytest.fixture
def api(make_client):
    return make_client(**FAST)


@pytest.fixture
def world(api) -> World:
    w = World(api)
    for user in ("alice", "bob"):
        accounts.create_user(user, PASSWORDS[user], vault=f"{user}-vault" if user == "bob" else "default")
        _, w.tokens[user] = accounts.create_token(user, "tests")
        _, w.cookies[user] = accounts.create_session(user, days=30)
    return w
