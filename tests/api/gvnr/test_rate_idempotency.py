"""Rate envelopes, the rate check and idempotency keys over HTTP."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tests.api.gvnr.conftest import P

RATE = f"{P}/v1/rate/envelope"
CHECK = f"{P}/v1/rate/check"
IDEM = f"{P}/v1/idempotency/check"
TRIPLE = {"agent_id": "writer", "provider": "anthropic", "model": "claude-sonnet-4-6"}


def test_rate_envelope_crud(api, account):
    r = api.put(RATE, json={**TRIPLE, "requests_per_minute": 3}, headers=account.headers)
    assert r.status_code == 200 and r.json() == {"success": True, **TRIPLE, "requests_per_minute": 3}
    before = int(time.time() * 1000)
    got = api.get(f"{RATE}/writer/anthropic/claude-sonnet-4-6", headers=account.headers).json()
    assert got == {**TRIPLE, "requests_per_minute": 3, "requests_in_window": 0, "window_start": got["window_start"]}
    assert before - 5000 <= got["window_start"] <= before + 5000
    r = api.delete(f"{RATE}/writer/anthropic/claude-sonnet-4-6", headers=account.headers)
    assert r.status_code == 200 and r.json() == {"success": True, **TRIPLE}
    for method in (api.get, api.delete):
        r = method(f"{RATE}/writer/anthropic/claude-sonnet-4-6", headers=account.headers)
        assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_rate_check_counts_to_the_limit(api, account):
    api.put(RATE, json={**TRIPLE, "requests_per_minute": 3}, headers=account.headers)
    answers = [api.post(CHECK, json=TRIPLE, headers=account.headers).json() for _ in range(5)]
    assert answers[:3] == [{"allowed": True, "requests_remaining_this_minute": n} for n in (2, 1, 0)]
    for denied in answers[3:]:
        assert denied["allowed"] is False and denied["reason"] == "rate_exceeded"
        assert 0 < denied["retry_after_ms"] <= 60_000
    got = api.get(f"{RATE}/writer/anthropic/claude-sonnet-4-6", headers=account.headers).json()
    assert got["requests_in_window"] == 3  # denials are not counted
    other_model = {**TRIPLE, "model": "claude-haiku-4-5"}
    assert api.post(CHECK, json=other_model, headers=account.headers).json() == {
        "allowed": False, "reason": "no_rate_envelope"}


def test_rate_put_resets_the_window(api, account):
    api.put(RATE, json={**TRIPLE, "requests_per_minute": 1}, headers=account.headers)
    assert api.post(CHECK, json=TRIPLE, headers=account.headers).json()["allowed"] is True
    assert api.post(CHECK, json=TRIPLE, headers=account.headers).json()["allowed"] is False
    api.put(RATE, json={**TRIPLE, "requests_per_minute": 1}, headers=account.headers)
    assert api.post(CHECK, json=TRIPLE, headers=account.headers).json()["allowed"] is True


def test_rate_window_ends_after_sixty_seconds(api, account, settings):
    api.put(RATE, json={**TRIPLE, "requests_per_minute": 1}, headers=account.headers)
    api.post(CHECK, json=TRIPLE, headers=account.headers)
    with sqlite3.connect(settings.data_dir / "pentapi.sqlite3") as conn:  # 60 s pass
        conn.execute("UPDATE gvnr_rate_envelope SET window_start = window_start - 60000")
    got = api.get(f"{RATE}/writer/anthropic/claude-sonnet-4-6", headers=account.headers).json()
    assert got["requests_in_window"] == 0
    assert api.post(CHECK, json=TRIPLE, headers=account.headers).json() == {
        "allowed": True, "requests_remaining_this_minute": 0}


def test_rate_tenants_are_isolated(api, account, other):
    api.put(RATE, json={**TRIPLE, "requests_per_minute": 1}, headers=account.headers)
    assert api.post(CHECK, json=TRIPLE, headers=other.headers).json()["reason"] == "no_rate_envelope"
    assert api.get(f"{RATE}/writer/anthropic/claude-sonnet-4-6", headers=other.headers).status_code == 404
    assert api.delete(f"{RATE}/writer/anthropic/claude-sonnet-4-6", headers=other.headers).status_code == 404
    assert api.post(CHECK, json=TRIPLE, headers=account.headers).json()["allowed"] is True


@pytest.mark.parametrize("body", [
    {**TRIPLE, "requests_per_minute": 0},
    {**TRIPLE, "requests_per_minute": 1_000_001},
    {**TRIPLE, "requests_per_minute": 1.5},
    {**TRIPLE, "provider": "p" * 65, "requests_per_minute": 1},
    {"agent_id": "a", "provider": "p", "requests_per_minute": 1},
])
def test_rate_envelope_invalid_params(api, account, body):
    r = api.put(RATE, json=body, headers=account.headers)
    assert r.status_code == 400 and r.json()["error"] == "invalid_params"


def test_idempotency_first_call_then_replays(api, account, other):
    first = api.post(IDEM, json={"key": "order-42"}, headers=account.headers).json()
    assert first == {"is_first_call": True, "ttl_remaining_seconds": 3600}
    replay = api.post(IDEM, json={"key": "order-42", "ttl_seconds": 10}, headers=account.headers).json()
    assert replay["is_first_call"] is False and 3598 <= replay["ttl_remaining_seconds"] <= 3600
    assert api.post(IDEM, json={"key": "order-42"}, headers=other.headers).json()["is_first_call"] is True
    assert api.post(IDEM, json={"key": "x", "ttl_seconds": 2_592_000}, headers=account.headers).json() == {
        "is_first_call": True, "ttl_remaining_seconds": 2_592_000}


def test_idempotency_key_expires(api, account, settings):
    api.post(IDEM, json={"key": "retry-me", "ttl_seconds": 30}, headers=account.headers)
    with sqlite3.connect(settings.data_dir / "pentapi.sqlite3") as conn:  # 30 s pass
        conn.execute("UPDATE gvnr_idempotency_key SET expires_at = expires_at - 30000")
    again = api.post(IDEM, json={"key": "retry-me", "ttl_seconds": 30}, headers=account.headers).json()
    assert again == {"is_first_call": True, "ttl_remaining_seconds": 30}


@pytest.mark.parametrize("body", [
    {"key": ""}, {"key": "k" * 257}, {"key": "k", "ttl_seconds": 0}, {"key": "k", "ttl_seconds": 2_592_001},
    {"ttl_seconds": 5}, {"key": 7},
])
def test_idempotency_invalid_params(api, account, body):
    r = api.post(IDEM, json=body, headers=account.headers)
    assert r.status_code == 400 and r.json()["error"] == "invalid_params"
