"""The admin API: X-Admin-Key (constant-time; refused when none is configured), agents with
this month's calls, agent detail, stats, suspend and reinstate."""

from __future__ import annotations

import datetime as dt

from tests.api.lithtrix.conftest import ADMIN_KEY, P, backdate_usage, register, set_agent

ADMIN = {"X-Admin-Key": ADMIN_KEY}
ROUTES = [("GET", "/admin/agents"), ("GET", "/admin/agents/x"), ("GET", "/admin/stats"),
          ("POST", "/admin/agents/x/suspend"), ("POST", "/admin/agents/x/reinstate")]


def test_the_admin_api_is_closed_without_a_configured_key(make_client):
    api = make_client()  # LITHTRIX_ADMIN_API_KEY unset
    for method, path in ROUTES:
        r = api.request(method, P + path, headers={"X-Admin-Key": "anything"})
        assert r.status_code == 401 and r.json()["error_code"] == "ADMIN_DISABLED", path
        assert api.request(method, P + path, headers={"X-Admin-Key": ""}).status_code == 401


def test_a_wrong_or_missing_admin_key_is_401(api):
    for method, path in ROUTES:
        wrong = api.request(method, P + path, headers={"X-Admin-Key": ADMIN_KEY + "x"})
        assert wrong.status_code == 401 and wrong.json()["error_code"] == "INVALID_ADMIN_KEY", path
        assert api.request(method, P + path).status_code == 401
    agent = register(api)
    # An agent's key is no admin key.
    assert api.get(f"{P}/admin/stats", headers={"X-Admin-Key": agent.key}).status_code == 401


def test_agents_are_listed_newest_first_with_this_months_calls(api):
    names = [f"agent-{i}" for i in range(5)]
    made = [register(api, name, "ops@example.com") for name in names]
    for _ in range(3):
        api.get(f"{P}/v1/search", params={"q": "moon"}, headers=made[1].headers)
    backdate_usage(made[1].agent_id, dt.datetime.now(dt.UTC).date().replace(day=1) - dt.timedelta(days=1), 7)
    page = api.get(f"{P}/admin/agents", params={"page": 1, "page_size": 2}, headers=ADMIN).json()
    assert page["total"] == 5 and page["page"] == 1 and page["page_size"] == 2
    assert [a["agent_name"] for a in page["agents"]] == ["agent-4", "agent-3"]
    everyone = api.get(f"{P}/admin/agents", headers=ADMIN).json()
    assert [a["agent_name"] for a in everyone["agents"]] == names[::-1] and everyone["page_size"] == 20
    calls = {a["agent_name"]: a["calls_this_month"] for a in everyone["agents"]}
    assert calls == {"agent-0": 0, "agent-1": 3, "agent-2": 0, "agent-3": 0, "agent-4": 0}
    item = everyone["agents"][0]
    assert set(item) == {"id", "agent_name", "owner_identifier", "tier", "status", "created_at", "calls_this_month"}
    third = api.get(f"{P}/admin/agents", params={"page": 3, "page_size": 2}, headers=ADMIN).json()
    assert [a["agent_name"] for a in third["agents"]] == ["agent-0"]
    beyond = api.get(f"{P}/admin/agents", params={"page": 10**12, "page_size": 100}, headers=ADMIN).json()
    assert beyond["agents"] == [] and beyond["total"] == 5
    assert api.get(f"{P}/admin/agents", params={"page_size": 101}, headers=ADMIN).status_code == 422
    assert api.get(f"{P}/admin/agents", params={"page": 0}, headers=ADMIN).status_code == 422


def test_agent_detail_has_the_row_the_month_and_seven_days(api):
    agent = register(api)
    api.get(f"{P}/v1/search", params={"q": "moon"}, headers=agent.headers)
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    backdate_usage(agent.agent_id, yesterday, 2)
    detail = api.get(f"{P}/admin/agents/{agent.agent_id}", headers=ADMIN).json()
    row = detail["agent"]
    assert row["id"] == agent.agent_id and row["calls_total"] == 1 and row["monthly_limit"] == 300
    assert "key_hash" not in row and agent.key not in str(detail)
    assert len(detail["daily_breakdown"]) == 7
    assert detail["daily_breakdown"][-1]["calls"] == 1 and detail["daily_breakdown"][-2]["calls"] == 2
    today = dt.datetime.now(dt.UTC).date()
    assert detail["calls_this_month"] == 1 + (2 if yesterday.month == today.month else 0)


def test_unknown_agents_are_404(api):
    for method, path in (("GET", "/admin/agents/nope"), ("POST", "/admin/agents/nope/suspend"),
                         ("POST", "/admin/agents/00000000-0000-4000-8000-000000000000/reinstate")):
        r = api.request(method, P + path, headers=ADMIN)
        assert r.status_code == 404 and r.json()["error_code"] == "AGENT_NOT_FOUND", path


def test_control_characters_in_path_parameters_reach_the_handler(api):
    # A newline in a mounted API's path parameter once missed Connexion's routing (a 500).
    for raw in ("a%0Ab", "%0A", "x%0D%0Ay", "%F2%B9%9F%BE%0A%23"):
        r = api.post(f"{P}/admin/agents/{raw}/suspend", headers=ADMIN)
        assert r.status_code == 404 and r.json()["error_code"] == "AGENT_NOT_FOUND", raw


def test_suspend_and_reinstate(api):
    agent = register(api)
    r = api.post(f"{P}/admin/agents/{agent.agent_id}/suspend", headers=ADMIN)
    assert r.json() == {"status": "ok", "agent_id": agent.agent_id, "new_status": "suspended"}
    assert api.get(f"{P}/v1/search", params={"q": "moon"}, headers=agent.headers).status_code == 403
    assert api.get(f"{P}/admin/agents", headers=ADMIN).json()["agents"][0]["status"] == "suspended"
    r = api.post(f"{P}/admin/agents/{agent.agent_id}/reinstate", headers=ADMIN)
    assert r.json() == {"status": "ok", "agent_id": agent.agent_id, "new_status": "active"}
    assert api.get(f"{P}/v1/search", params={"q": "moon"}, headers=agent.headers).status_code == 200


def test_stats_count_agents_and_calls(api):
    a, b, c = (register(api, f"s{i}", "o") for i in range(3))
    for who in (a, a, b):
        api.get(f"{P}/v1/search", params={"q": "liberty"}, headers=who.headers)
    backdate_usage(c.agent_id, dt.datetime.now(dt.UTC).date().replace(day=1) - dt.timedelta(days=1), 4)
    api.post(f"{P}/admin/agents/{c.agent_id}/suspend", headers=ADMIN)
    set_agent(b.agent_id, flagged=True)
    stats = api.get(f"{P}/admin/stats", headers=ADMIN).json()
    assert stats == {"total_agents": 3, "active_agents": 2, "flagged_agents": 1, "calls_today": 3,
                     "calls_this_month": 3}
    api.post(f"{P}/admin/agents/{b.agent_id}/reinstate", headers=ADMIN)  # also clears the flag
    assert api.get(f"{P}/admin/stats", headers=ADMIN).json()["flagged_agents"] == 0
