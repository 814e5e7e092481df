"""/v1/capabilities, /v1/guide and /health: built from the spec and the live settings."""

from __future__ import annotations

import json

from server.apis import APIS
from tests.api.lithtrix.conftest import P, register

SPEC = APIS["lithtrix"].document


def test_capabilities_describe_the_served_api(api):
    caps = api.get(f"{P}/v1/capabilities").json()
    assert caps["service"] == "Lithtrix Search API" and caps["version"] == "1.0.0"
    assert caps["base_url"] == "http://testserver/lithtrix"
    assert caps["authentication"]["type"] == "bearer" and caps["authentication"]["obtain_via"] == "POST /v1/register"
    listed = {(e["method"], e["path"]) for e in caps["endpoints"]}
    documented = {(m.upper(), p) for p, item in SPEC["paths"].items() for m in item if not p.startswith("/admin")}
    assert listed == documented
    by_path = {e["path"]: e for e in caps["endpoints"]}
    assert by_path["/v1/search"]["auth_required"] is True and by_path["/v1/register"]["auth_required"] is False
    assert by_path["/v1/capabilities"]["hint"].startswith("Start here")
    assert caps["rate_limits"]["free_tier"] == "300 calls (one-time trial, lifetime total)"
    assert caps["rate_limits"]["pro_tier"] == "unlimited"
    assert caps["rate_limits"]["per_minute"] == {"free": 60, "pro": 600, "window_seconds": 60}
    params = caps["search"]["parameters"]
    assert params["q"]["minLength"] == 1 and params["q"]["maxLength"] == 500 and params["q"]["required"]
    assert params["num_results"]["minimum"] == 1 and params["num_results"]["maximum"] == 20
    assert params["num_results"]["default"] == 10
    assert caps["search"]["provider"] == "local" and caps["search"]["cache"]["backend"] == "sqlite"
    scores = {r["category"]: r["score"] for r in caps["credibility_scoring"]["rules"]}
    assert scores == {"government": 1.0, "education": 0.9, "major_news": 0.8, "organisation": 0.7, "other": 0.5}
    codes = caps["errors"]["codes"]
    assert codes["INVALID_API_KEY"] == 401 and codes["RATE_LIMIT_EXCEEDED"] == 429 and codes["OVER_LIMIT"] == 200
    assert codes["AGENT_ALREADY_EXISTS"] == 409 and codes["INVALID_PAYLOAD"] == 400
    assert caps["billing"]["configured"] is False


def test_capabilities_follow_the_live_settings(make_api, redis_url):
    api = make_api(lithtrix_free_call_limit=50, lithtrix_rate_limit_free=7, redis_url=redis_url,
                   lithtrix_brave_api_key="BSA-x", public_url="https://search.example.org/")
    caps = api.get(f"{P}/v1/capabilities").json()
    assert caps["rate_limits"]["free_tier"] == "50 calls (one-time trial, lifetime total)"
    assert caps["rate_limits"]["per_minute"]["free"] == 7
    assert caps["search"]["provider"] == "brave" and caps["search"]["cache"]["backend"] == "redis"
    assert caps["base_url"] == "https://search.example.org/lithtrix"
    assert api.get(f"{P}/v1/guide").json()["steps"][2]["example_response"]["usage"]["calls_remaining"] == 49


def test_the_guide_walks_five_steps_that_work(api):
    guide = api.get(f"{P}/v1/guide").json()
    assert guide["base_url"] == "http://testserver/lithtrix" and guide["title"]
    steps = guide["steps"]
    assert [s["name"] for s in steps] == ["discover", "register", "search", "check_usage", "upgrade"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5]
    assert [(s["method"], s["path"], s["auth_required"]) for s in steps] == [
        ("GET", "/v1/capabilities", False), ("POST", "/v1/register", False), ("GET", "/v1/search", True),
        ("GET", "/v1/billing", True), ("POST", "/v1/billing/setup", True)]
    assert steps[2]["params"] == {"q": "Singapore climate policy 2025", "num_results": 5}
    assert steps[2]["example_response"]["usage"] == {"calls_total": 1, "calls_remaining": 299, "over_limit": False,
                                                     "upgrade_url": "/v1/billing/setup"}
    assert steps[2]["example_response"]["results"][0]["credibility_score"] == 1.0
    assert steps[1]["body_rules"]["agent_name"]["pattern"] == "^[a-zA-Z0-9_-]+$"
    # Following the guide literally works against this server.
    registered = api.post(P + steps[1]["path"], json=steps[1]["body"]).json()
    assert set(registered) == set(steps[1]["example_response"])
    headers = {"Authorization": f"Bearer {registered['api_key']}"}
    found = api.get(P + steps[2]["path"], params=steps[2]["params"], headers=headers).json()
    assert found["usage"] == steps[2]["example_response"]["usage"]
    billing = api.get(P + steps[3]["path"], headers=headers).json()
    assert billing == steps[3]["example_response"]


def test_health_reports_status_and_version(api):
    assert api.get(f"{P}/health").json() == {"status": "ok", "version": "1.0.0"}


def test_health_is_degraded_not_a_500_when_the_database_is_unreachable(api, settings):
    import shutil

    from storage import db

    shutil.rmtree(settings.data_dir)  # the database file and its directory are gone
    db.database.close_idle()  # as the pool does past stale_timeout: new connections must open the file
    r = api.get(f"{P}/health")
    assert r.status_code == 200 and r.json() == {"status": "degraded", "version": "1.0.0"}


def test_the_served_spec_documents_what_the_server_answers(api):
    served = api.get(f"{P}/openapi.json").json()
    search = served["paths"]["/v1/search"]["get"]["responses"]
    assert {"200", "401", "403", "422", "429", "502", "503"} <= set(search)
    assert json.dumps(served["paths"]) == json.dumps(SPEC["paths"])
    agent = register(api)
    assert api.get(f"{P}/v1/me", headers=agent.headers).status_code == 200
