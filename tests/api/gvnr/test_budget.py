"""Spend envelopes, clearance and reconcile over HTTP: every reason and error code, the daily
reset, tenant isolation, and the request shapes the spec refuses."""

from __future__ import annotations

import sqlite3

import pytest

from handlers.gvnr import spend
from tests.api.gvnr.conftest import P

ENV = f"{P}/v1/budget/envelope"
CLEAR = f"{P}/v1/budget/clear"
RECONCILE = f"{P}/v1/budget/reconcile"


def put(api, account, agent="writer", limit=5, **extra):
    r = api.put(ENV, json={"agent_id": agent, "limit_usd": limit, **extra}, headers=account.headers)
    assert r.status_code == 200, r.text
    return r.json()


def clear(api, account, agent="writer", model="claude-sonnet-4-6", tokens=2000):
    r = api.post(CLEAR, json={"agent_id": agent, "model": model, "estimated_tokens": tokens}, headers=account.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_envelope_crud(api, account):
    assert put(api, account) == {"success": True, "agent_id": "writer", "limit_usd": 5, "window": "daily"}
    got = api.get(f"{ENV}/writer", headers=account.headers).json()
    assert got["limit_usd"] == 5 and got["spent_usd"] == 0 and got["remaining_usd"] == 5
    assert got["window"] == "daily" and got["reset_at"] % 86_400_000 == 0
    assert put(api, account, limit=7.5, window="session")["window"] == "session"
    assert api.get(f"{ENV}/writer", headers=account.headers).json()["limit_usd"] == 7.5
    r = api.delete(f"{ENV}/writer", headers=account.headers)
    assert r.status_code == 200 and r.json() == {"success": True, "agent_id": "writer"}
    for method in (api.get, api.delete):
        r = method(f"{ENV}/writer", headers=account.headers)
        assert r.status_code == 404 and r.json()["error"] == "not_found" and r.json()["retryable"] is False


def test_clear_approves_then_denies_and_spends_one_op_per_approval(api, make_account):
    account = make_account(ops=10)
    put(api, account, limit=0.05)
    assert clear(api, account) == {"approved": True, "remaining_usd": 0.02, "operations_remaining": 9}
    assert clear(api, account, tokens=1000) == {"approved": True, "remaining_usd": 0.005, "operations_remaining": 8}
    assert clear(api, account) == {"approved": False, "remaining_usd": 0.005, "reason": "envelope_exceeded"}
    assert api.get(f"{P}/v1/account/balance", headers=account.headers).json() == {"operations_remaining": 8}
    got = api.get(f"{ENV}/writer", headers=account.headers).json()
    assert got["spent_usd"] == 0.045 and got["remaining_usd"] == pytest.approx(0.005)


def test_clear_denials_no_credits_before_no_envelope(api, make_account):
    broke = make_account(ops=0)
    assert clear(api, broke) == {"approved": False, "remaining_usd": 0, "reason": "no_credits"}
    funded = make_account(ops=1)
    assert clear(api, funded) == {"approved": False, "remaining_usd": 0, "reason": "no_envelope"}
    put(api, funded, limit=1)
    assert clear(api, funded)["approved"] is True
    assert clear(api, funded) == {"approved": False, "remaining_usd": 0, "reason": "no_credits"}


def test_embedding_and_unlisted_models(api, account):
    put(api, account, limit=1)
    # input-only: 1M input tokens of text-embedding-3-small cost $0.02
    assert clear(api, account, model="text-embedding-3-small", tokens=1_000_000)["remaining_usd"] == 0.98
    # an unlisted model is priced at the highest listed rates ($80/1M output): fail-safe
    assert clear(api, account, model="mystery-model-9", tokens=1000)["remaining_usd"] == pytest.approx(0.9)


def test_update_keeps_spend(api, account):
    put(api, account, limit=1)
    clear(api, account)  # $0.03
    put(api, account, limit=2)
    got = api.get(f"{ENV}/writer", headers=account.headers).json()
    assert got["spent_usd"] == 0.03 and got["remaining_usd"] == 1.97


def test_daily_envelope_resets_after_midnight(api, account, settings):
    put(api, account, limit=0.03)
    clear(api, account)
    assert clear(api, account)["reason"] == "envelope_exceeded"
    # Midnight passes: move the envelope's reset time into the past, as the clock would.
    with sqlite3.connect(settings.data_dir / "pentapi.sqlite3") as conn:
        conn.execute("UPDATE gvnr_spend_envelope SET reset_at = reset_at - 86400000")
    got = api.get(f"{ENV}/writer", headers=account.headers).json()
    assert got["spent_usd"] == 0 and got["reset_at"] > spend.now_ms()
    assert clear(api, account)["approved"] is True


def test_reconcile(api, account):
    put(api, account, limit=5)
    clear(api, account)  # estimate: 2000 output tokens of claude-sonnet-4-6 = $0.03
    r = api.post(RECONCILE, json={"agent_id": "writer", "actual_input_tokens": 1000, "actual_output_tokens": 1500},
                 headers=account.headers)
    assert r.status_code == 200
    assert r.json() == {"ok": True, "drift_usd": -0.0045, "remaining_usd": 4.9745, "operations_remaining": 999}
    r = api.post(RECONCILE, json={"agent_id": "writer", "actual_input_tokens": 1, "actual_output_tokens": 1},
                 headers=account.headers)
    assert r.status_code == 400 and r.json()["error"] == "no_pending_clearance"
    clear(api, account, tokens=100)  # $0.0015
    r = api.post(RECONCILE, json={"agent_id": "writer", "actual_input_tokens": 0, "actual_output_tokens": 1000},
                 headers=account.headers)
    assert r.json()["warning"] == "drift_exceeds_2x_threshold" and r.json()["drift_usd"] == 0.0135
    r = api.post(RECONCILE, json={"agent_id": "nobody", "actual_input_tokens": 0, "actual_output_tokens": 0},
                 headers=account.headers)
    assert r.status_code == 400 and r.json()["error"] == "no_envelope"


def test_tenants_are_isolated(api, account, other):
    put(api, account, agent="shared-name", limit=1)
    clear(api, account, agent="shared-name")
    assert api.get(f"{ENV}/shared-name", headers=other.headers).status_code == 404
    assert api.delete(f"{ENV}/shared-name", headers=other.headers).status_code == 404
    assert clear(api, other, agent="shared-name")["reason"] == "no_envelope"
    r = api.post(RECONCILE, json={"agent_id": "shared-name", "actual_input_tokens": 0, "actual_output_tokens": 0},
                 headers=other.headers)
    assert r.json()["error"] == "no_envelope"
    put(api, other, agent="shared-name", limit=9)
    assert api.get(f"{ENV}/shared-name", headers=account.headers).json()["limit_usd"] == 1


@pytest.mark.parametrize(("url", "method", "body", "required"), [
    (ENV, "put", {"agent_id": "a", "limit_usd": 0}, None),
    (ENV, "put", {"agent_id": "a", "limit_usd": 1_000_001}, None),
    (ENV, "put", {"agent_id": "a" * 129, "limit_usd": 1}, None),
    (ENV, "put", {"agent_id": "a", "limit_usd": 1, "window": "weekly"}, None),
    (ENV, "put", {"limit_usd": 1}, ["agent_id"]),
    (CLEAR, "post", {"agent_id": "a", "model": "gpt-4o", "estimated_tokens": 0}, None),
    (CLEAR, "post", {"agent_id": "a", "model": "gpt-4o", "estimated_tokens": 1.5}, None),
    (CLEAR, "post", {"agent_id": "a", "model": "gpt-4o"}, ["estimated_tokens"]),
    (CLEAR, "post", None, None),
    (RECONCILE, "post", {"agent_id": "a", "actual_input_tokens": -1, "actual_output_tokens": 0}, None),
    (RECONCILE, "post", {"agent_id": "a", "actual_input_tokens": 1}, ["actual_output_tokens"]),
])
def test_invalid_params(api, account, url, method, body, required):
    kwargs = {"json": body} if body is not None else {}
    r = getattr(api, method)(url, headers=account.headers, **kwargs)
    assert r.status_code == 400 and r.json()["error"] == "invalid_params", r.text
    assert r.json().get("required") == required
    if body is None:
        assert "required" in r.json()["hint"]


def test_requires_a_key(api):
    for method, url in (("PUT", ENV), ("GET", f"{ENV}/a"), ("POST", CLEAR), ("POST", RECONCILE)):
        r = api.request(method, url, json={"agent_id": "a"})
        assert r.status_code == 401 and r.json()["error"] == "missing_api_key"
