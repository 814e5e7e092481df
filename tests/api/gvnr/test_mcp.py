"""POST /mcp through the official `mcp` client (Streamable HTTP), plus the transport rules
checked on the wire. Tool calls must behave exactly like their REST operations."""

from __future__ import annotations

import json

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from handlers.gvnr import inputs
from tests.api.gvnr.conftest import P

BASE = "http://testserver"
TOOLS = {"budget_clear", "set_envelope", "get_balance", "set_rate_envelope", "rate_check", "reconcile",
         "idempotency_check", "request_approval", "check_approval"}


def mcp_session(api, *, key: str | None = None, query_key: str | None = None, **client_options):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    url = f"{BASE}{P}/mcp" + (f"?api_key={query_key}" if query_key else "")
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=api.app), base_url=BASE, headers=headers)
    return http, Client(streamable_http_client(url, http_client=http), **client_options)


def run(api, key, script, **options):
    async def main():
        http, client = mcp_session(api, key=key, **options)
        async with http, client:
            return await script(client)

    return anyio.run(main)


def body(result) -> dict:
    assert len(result.content) == 1 and result.content[0].type == "text"
    return json.loads(result.content[0].text)


def test_initialize_and_list_tools(api, account):
    async def script(client):
        return client.protocol_version, client.server_info, await client.list_tools()

    version, info, listed = run(api, account.key, script)
    assert version == "2025-11-25" and info.name == "gvnr" and info.version == "1.8.1"
    tools = {t.name: t for t in listed.tools}
    assert set(tools) == TOOLS
    assert tools["budget_clear"].input_schema == inputs.schema("postBudgetClear")
    assert tools["budget_clear"].input_schema["required"] == ["agent_id", "model", "estimated_tokens"]
    assert tools["get_balance"].annotations.read_only_hint is True
    assert all(t.description for t in tools.values())


def test_a_whole_call_cycle_through_mcp_matches_rest(api, make_account):
    account = make_account(ops=5)

    async def script(client):
        calls = [
            ("set_envelope", {"agent_id": "writer", "limit_usd": 0.05}),
            ("budget_clear", {"agent_id": "writer", "model": "claude-sonnet-4-6", "estimated_tokens": 2000}),
            ("reconcile", {"agent_id": "writer", "actual_input_tokens": 1000, "actual_output_tokens": 1500}),
            ("reconcile", {"agent_id": "writer", "actual_input_tokens": 1, "actual_output_tokens": 1}),
            ("set_rate_envelope", {"agent_id": "writer", "provider": "anthropic", "model": "m",
                                   "requests_per_minute": 1}),
            ("rate_check", {"agent_id": "writer", "provider": "anthropic", "model": "m"}),
            ("rate_check", {"agent_id": "writer", "provider": "anthropic", "model": "m"}),
            ("idempotency_check", {"key": "job-1"}),
            ("idempotency_check", {"key": "job-1"}),
            ("get_balance", {}),
        ]
        return [await client.call_tool(name, args) for name, args in calls]

    results = run(api, account.key, script)
    answers = [body(r) for r in results]
    assert answers[0] == {"success": True, "agent_id": "writer", "limit_usd": 0.05, "window": "daily"}
    assert answers[1] == {"approved": True, "remaining_usd": 0.02, "operations_remaining": 4}
    assert answers[2] == {"ok": True, "drift_usd": -0.0045, "remaining_usd": 0.0245, "operations_remaining": 4}
    assert results[3].is_error and answers[3]["error"] == "no_pending_clearance"
    assert answers[5] == {"allowed": True, "requests_remaining_this_minute": 0}
    assert answers[6]["allowed"] is False and answers[6]["reason"] == "rate_exceeded"
    assert [answers[7]["is_first_call"], answers[8]["is_first_call"]] == [True, False]
    assert answers[9] == {"operations_remaining": 4}
    assert results[1].structured_content == answers[1]
    # The REST door sees exactly what the MCP door did.
    envelope = api.get(f"{P}/v1/budget/envelope/writer", headers=account.headers).json()
    assert envelope["spent_usd"] == pytest.approx(0.0255) and envelope["remaining_usd"] == 0.0245
    assert api.get(f"{P}/v1/account/balance", headers=account.headers).json() == {"operations_remaining": 4}
    replay = api.post(f"{P}/v1/idempotency/check", json={"key": "job-1"}, headers=account.headers).json()
    assert replay["is_first_call"] is False


def test_tool_errors_are_the_rest_errors(api, account):
    async def script(client):
        bad = await client.call_tool("budget_clear", {"agent_id": "a", "model": "gpt-4o"})
        negative = await client.call_tool("set_envelope", {"agent_id": "a", "limit_usd": -1})
        missing = await client.call_tool("reconcile", {"agent_id": "nobody", "actual_input_tokens": 0,
                                                       "actual_output_tokens": 0})
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("view_dashboard", {})
        return bad, negative, missing, unknown.value

    bad, negative, missing, unknown = run(api, account.key, script)
    assert bad.is_error and body(bad)["error"] == "invalid_params" and body(bad)["required"] == ["estimated_tokens"]
    assert negative.is_error and body(negative)["error"] == "invalid_params"
    assert missing.is_error and body(missing) == {"error": "no_envelope", "retryable": False,
                                                  "hint": "this agent has no spend envelope"}
    assert unknown.code == -32602 and "view_dashboard" in str(unknown)


def test_api_key_query_parameter_and_legacy_mode(api, account):
    async def main():
        http, client = mcp_session(api, query_key=account.key, mode="legacy")
        async with http, client:
            return body(await client.call_tool("get_balance", {}))

    assert anyio.run(main) == {"operations_remaining": 1000}


def test_tenants_are_isolated_through_mcp(api, account, other):
    async def set_it(client):
        return await client.call_tool("set_envelope", {"agent_id": "mine", "limit_usd": 1})

    run(api, account.key, set_it)

    async def clear_other(client):
        return body(await client.call_tool("budget_clear", {"agent_id": "mine", "model": "gpt-4o",
                                                            "estimated_tokens": 1}))

    assert run(api, other.key, clear_other) == {"approved": False, "remaining_usd": 0, "reason": "no_envelope"}


def test_transport_rules_on_the_wire(api, account):
    url = f"{P}/mcp"
    h = {**account.headers, "Accept": "application/json, text/event-stream"}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}
    r = api.post(url, json=init, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["result"]["protocolVersion"] == "2025-06-18"
    old = api.post(url, json={**init, "params": {**init["params"], "protocolVersion": "1999-01-01"}}, headers=h)
    assert old.json()["result"]["protocolVersion"] == "2025-11-25"  # the server offers its newest
    note = api.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=h)
    assert note.status_code == 202 and note.content == b""
    ping = api.post(url, json={"jsonrpc": "2.0", "id": "p", "method": "ping"}, headers=h)
    assert ping.json() == {"jsonrpc": "2.0", "id": "p", "result": {}}
    nope = api.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "resources/list"}, headers=h)
    assert nope.status_code == 200 and nope.json()["error"]["code"] == -32601
    bad_version = api.post(url, json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
                           headers={**h, "MCP-Protocol-Version": "2099-01-01"})
    assert bad_version.status_code == 400 and bad_version.json()["error"] == "unsupported_protocol_version"
    ok_version = api.post(url, json={"jsonrpc": "2.0", "id": 4, "method": "tools/list"},
                          headers={**h, "MCP-Protocol-Version": "2025-06-18"})
    assert len(ok_version.json()["result"]["tools"]) == len(TOOLS)
    for junk in (b"not json", b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', b'{"id": 1}', b""):
        r = api.post(url, content=junk, headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] in ("invalid_json", "invalid_request"), junk
    r = api.post(url, json={"jsonrpc": "2.0", "id": True, "method": "ping"}, headers=h)
    assert r.status_code == 400
    assert api.get(url, headers=h).status_code == 405
    cross = api.post(url, json={"jsonrpc": "2.0", "id": 5, "method": "ping"},
                     headers={**h, "Origin": "https://evil.example"})
    assert cross.status_code == 403 and cross.json()["error"] == "forbidden_origin"
    same = api.post(url, json={"jsonrpc": "2.0", "id": 6, "method": "ping"}, headers={**h, "Origin": "http://testserver"})
    assert same.status_code == 200


def test_allowed_origins_setting(make_client, make_account):
    api = make_client(gvnr_mcp_allowed_origins="https://console.example")
    account = make_account()
    r = api.post(f"{P}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                 headers={**account.headers, "Origin": "https://console.example"})
    assert r.status_code == 200


def test_mcp_requires_a_key(api):
    r = api.post(f"{P}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status_code == 401 and r.json()["error"] == "missing_api_key"
    r = api.post(f"{P}/mcp?api_key=bg_{'0' * 32}", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_api_key"


def test_a_tool_added_to_the_table_is_listed_validated_and_called(api, account, monkeypatch):
    from handlers.gvnr import mcp_tools

    seen = []

    async def check(call):
        seen.append(call)
        return {"approval_id": call.arguments["approval_id"], "decision": "pending", "agent_id": "a",
                "action_summary": "deploy", "created_at": 1, "expires_at": 2}

    extra = mcp_tools.Tool("check_approval", "getApprovalCheckByApprovalId", check, "Poll an approval", read_only=True)
    monkeypatch.setattr(mcp_tools, "TOOLS", [*mcp_tools.TOOLS, extra])

    async def script(client):
        listed = {t.name: t for t in (await client.list_tools()).tools}
        ok = await client.call_tool("check_approval", {"approval_id": "abc"})
        missing = await client.call_tool("check_approval", {})
        return listed, ok, missing

    listed, ok, missing = run(api, account.key, script)
    assert listed["check_approval"].input_schema["required"] == ["approval_id"]
    assert body(ok)["approval_id"] == "abc" and ok.structured_content == body(ok)
    assert missing.is_error and body(missing)["required"] == ["approval_id"]
    assert seen[0].account_id == account.id and seen[0].base_url == "http://testserver/gvnr"


def test_malformed_params_are_json_rpc_invalid_params(api, account):
    url, h = f"{P}/mcp", {**account.headers, "Accept": "application/json, text/event-stream"}
    malformed = [
        ("tools/call", {"name": ["get_balance"], "arguments": {}}),  # the name is not a string
        ("tools/call", {"name": {"tool": "get_balance"}, "arguments": {}}),
        ("tools/call", {"name": 7}),
        ("tools/call", {"arguments": {"agent_id": "a"}}),  # no name at all
        ("tools/call", {"name": "get_balance", "arguments": ["agent_id", "a"]}),  # arguments not an object
        ("tools/call", {"name": "get_balance", "arguments": "agent_id=a"}),
        ("tools/call", ["get_balance"]),  # params not an object
        ("tools/call", []),
        ("tools/call", "get_balance"),
        ("tools/call", 0),
        ("initialize", [1]),
        ("tools/list", False),
    ]
    for i, (method, params) in enumerate(malformed):
        r = api.post(url, json={"jsonrpc": "2.0", "id": i, "method": method, "params": params}, headers=h)
        assert r.status_code == 200, (params, r.text)
        assert r.json()["id"] == i and r.json()["error"]["code"] == -32602, (params, r.text)
    # params and arguments may be left out (or null): that is an empty object
    for params in (None, {"name": "get_balance"}, {"name": "get_balance", "arguments": None}):
        message = {"jsonrpc": "2.0", "id": "ok", "method": "tools/call" if params else "ping"}
        if params is not None:
            message["params"] = params
        r = api.post(url, json=message, headers=h)
        assert "result" in r.json(), (params, r.text)
