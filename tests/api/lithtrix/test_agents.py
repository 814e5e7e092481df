"""Agents and keys: register, me, usage, rotate; missing, bad, rotated and suspended keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage import db
from storage.lithtrix import Agent
from tests.api.lithtrix.conftest import P, agent_row, backdate_usage, register, set_agent


def test_register_returns_a_one_time_ltx_key_stored_only_as_sha256(api):
    r = api.post(f"{P}/v1/register", json={"agent_name": "my_agent-1", "owner_identifier": "you@example.com"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"api_key", "agent_id", "message"}
    assert re.fullmatch(r"ltx_[0-9a-f]{32}", body["api_key"])
    assert uuid.UUID(body["agent_id"]).version == 4
    assert "cannot be retrieved again" in body["message"]
    row = agent_row(body["agent_id"])
    assert row.key_hash == hashlib.sha256(body["api_key"].encode()).hexdigest()
    with db.database.connection_context():
        dump = " ".join(str(v) for a in Agent.select().dicts() for v in a.values())
    assert body["api_key"] not in dump


def test_same_name_and_owner_is_409_but_either_alone_is_fine(api):
    register(api, "bot", "a@example.com")
    r = api.post(f"{P}/v1/register", json={"agent_name": "bot", "owner_identifier": "a@example.com"})
    assert r.status_code == 409
    assert r.json() == {"status": "error", "error_code": "AGENT_ALREADY_EXISTS",
                        "message": "An agent with this agent_name and owner_identifier already exists."}
    register(api, "bot", "b@example.com")
    register(api, "other-bot", "a@example.com")


def test_concurrent_registrations_of_one_pair_make_exactly_one_agent(api):
    body = {"agent_name": "racer", "owner_identifier": "race@example.com"}
    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(lambda _: api.post(f"{P}/v1/register", json=body).status_code, range(8)))
    assert codes == [200] + [409] * 7
    with db.database.connection_context():
        assert Agent.select().where(Agent.agent_name == "racer").count() == 1


@pytest.mark.parametrize("name", ["has space", "dot.name", "", "x" * 101, "ünïcode", "trailing\n", "a/b"])
def test_agent_name_rules(api, name):
    r = api.post(f"{P}/v1/register", json={"agent_name": name, "owner_identifier": "o"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "agent_name"]


@pytest.mark.parametrize("owner", ["", "o" * 256])
def test_owner_identifier_is_1_to_255_characters(api, owner):
    r = api.post(f"{P}/v1/register", json={"agent_name": "bot", "owner_identifier": owner})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "owner_identifier"]
    assert api.post(f"{P}/v1/register", json={"agent_name": "bot", "owner_identifier": "o" * 255}).status_code == 200


def test_me_is_the_callers_profile(api, agent):
    other = register(api, "someone-else", "x@example.com")
    me = api.get(f"{P}/v1/me", headers=agent.headers).json()
    assert me["agent_id"] == agent.agent_id and me["agent_name"] == "research-agent"
    assert me["owner_identifier"] == "owner@example.com"
    assert (me["tier"], me["status"], me["monthly_limit"]) == ("free", "active", 300)
    created = dt.datetime.fromisoformat(me["created_at"])
    assert created.tzinfo is not None and abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=5)
    assert api.get(f"{P}/v1/me", headers=other.headers).json()["agent_id"] == other.agent_id


def test_free_cap_comes_from_settings_at_registration(make_api):
    api = make_api(lithtrix_free_call_limit=25)
    agent = register(api)
    assert api.get(f"{P}/v1/me", headers=agent.headers).json()["monthly_limit"] == 25


def test_usage_counts_this_month_and_breaks_down_seven_utc_days(api, agent):
    today = dt.datetime.now(dt.UTC).date()
    logged: Counter = Counter()
    for day, calls in ((today - dt.timedelta(days=2), 3), (today - dt.timedelta(days=6), 1),
                       (today - dt.timedelta(days=7), 5),  # outside the seven days
                       (today.replace(day=1) - dt.timedelta(days=1), 4)):  # last month
        backdate_usage(agent.agent_id, day, calls)
        logged[day] += calls
    for q in ("moon", "liberty"):
        assert api.get(f"{P}/v1/search", params={"q": q}, headers=agent.headers).status_code == 200
    logged[today] += 2
    usage = api.get(f"{P}/v1/usage", headers=agent.headers).json()
    days = [today - dt.timedelta(days=i) for i in range(6, -1, -1)]
    assert usage["daily_breakdown"] == [{"date": d.isoformat(), "calls": logged[d]} for d in days]
    assert usage["calls_this_month"] == sum(n for d, n in logged.items() if d >= today.replace(day=1))
    assert usage["monthly_limit"] == 300
    assert usage["calls_remaining"] == 298  # the lifetime counter moved by the two searches only


def test_usage_of_a_pro_agent_has_no_remaining(api, agent):
    set_agent(agent.agent_id, tier="pro")
    assert api.get(f"{P}/v1/usage", headers=agent.headers).json()["calls_remaining"] is None


def test_usage_is_per_agent(api, agent):
    other = register(api, "other", "o@example.com")
    api.get(f"{P}/v1/search", params={"q": "moon"}, headers=other.headers)
    assert api.get(f"{P}/v1/usage", headers=agent.headers).json()["calls_this_month"] == 0
    assert api.get(f"{P}/v1/usage", headers=other.headers).json()["calls_this_month"] == 1


def test_rotation_invalidates_the_old_key_at_once(api, agent):
    r = api.post(f"{P}/v1/keys/rotate", headers=agent.headers)
    assert r.status_code == 200
    new_key = r.json()["api_key"]
    assert re.fullmatch(r"ltx_[0-9a-f]{32}", new_key) and new_key != agent.key
    assert r.json()["message"] == "Your old key has been invalidated. Store this new key securely."
    old = api.get(f"{P}/v1/me", headers=agent.headers)
    assert old.status_code == 401 and old.json()["error_code"] == "INVALID_API_KEY"
    assert api.get(f"{P}/v1/search", params={"q": "moon"}, headers=agent.headers).status_code == 401
    me = api.get(f"{P}/v1/me", headers={"Authorization": f"Bearer {new_key}"})
    assert me.status_code == 200 and me.json()["agent_id"] == agent.agent_id
    assert agent_row(agent.agent_id).key_hash == hashlib.sha256(new_key.encode()).hexdigest()


def test_racing_rotations_with_one_key_issue_one_new_key(api, agent):
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: api.post(f"{P}/v1/keys/rotate", headers=agent.headers), range(6)))
    winners = [a.json()["api_key"] for a in answers if a.status_code == 200]
    assert len(winners) == 1 and all(a.status_code in (200, 401) for a in answers)
    me = api.get(f"{P}/v1/me", headers={"Authorization": f"Bearer {winners[0]}"})
    assert me.status_code == 200


AUTHENTICATED = [
    ("GET", "/v1/me", None), ("GET", "/v1/usage", None), ("POST", "/v1/keys/rotate", None),
    ("GET", "/v1/billing", None), ("POST", "/v1/billing/setup", {"payment_method_id": "pm_card_visa"}),
    ("GET", "/v1/search?q=moon", None),
]


BAD_AUTHORIZATION = [None, "Bearer", "Bearer ltx_" + "0" * 32, "Bearer plat_" + "0" * 32, "Basic dXNlcjpwYXNz",
                     "ltx_abc"]


def test_missing_or_bad_keys_are_401_invalid_api_key(api):
    for method, path, body in AUTHENTICATED:
        for authorization in BAD_AUTHORIZATION:
            headers = {"Authorization": authorization} if authorization else {}
            r = api.request(method, P + path, json=body, headers=headers)
            assert r.status_code == 401, (path, authorization, r.text)
            assert r.json()["status"] == "error" and r.json()["error_code"] == "INVALID_API_KEY"


def test_suspended_agents_are_refused_everywhere(api, agent):
    set_agent(agent.agent_id, status="suspended")
    for method, path, body in AUTHENTICATED:
        r = api.request(method, P + path, json=body, headers=agent.headers)
        assert r.status_code == 403, path
        assert r.json()["error_code"] == "AGENT_SUSPENDED"
    assert agent_row(agent.agent_id).calls_total == 0
