"""The MCP tools request_approval and check_approval, through the official `mcp` client: the same
answers and error codes as POST /v1/approval/request and GET /v1/approval/check/{id}."""

from __future__ import annotations

import pytest

from handlers.gvnr import inputs
from tests.api.gvnr.conftest import P
from tests.api.gvnr.smtp_standin import SmtpServer
from tests.api.gvnr.test_mcp import body, run


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def api(make_client, smtp):
    return make_client(gvnr_smtp_host="127.0.0.1", gvnr_smtp_port=smtp.port, gvnr_smtp_security="none")


def test_the_tools_are_listed_with_the_operations_input(api, account):
    async def script(client):
        return {t.name: t for t in (await client.list_tools()).tools}

    tools = run(api, account.key, script)
    assert tools["request_approval"].input_schema == inputs.schema("postApprovalRequest")
    assert tools["request_approval"].input_schema["required"] == ["agent_id", "action_summary"]
    assert tools["check_approval"].input_schema["required"] == ["approval_id"]
    assert tools["check_approval"].annotations.read_only_hint is True


def test_request_then_decide_then_check_through_mcp(api, make_account, smtp):
    owner = make_account(notification_email="owner@example.com")

    async def ask(client):
        return await client.call_tool("request_approval", {"agent_id": "ops-bot", "action_summary": "Drop table x",
                                                           "ttl_seconds": 120})

    asked = run(api, owner.key, ask)
    assert not asked.is_error
    created = body(asked)
    assert created["notification"] == {"email": "sent"}
    assert created["approval_url"] == f"http://testserver{P}/approve/{created['approval_id']}"
    assert created["approval_url"] in smtp.inbox.messages[0].get_body(("plain",)).get_content()
    assert asked.structured_content == created

    async def check(client):
        return await client.call_tool("check_approval", {"approval_id": created["approval_id"]})

    assert body(run(api, owner.key, check))["decision"] == "pending"
    assert api.post(f"{P}/approve/{created['approval_id']}/decide", data={"decision": "denied"}).status_code == 200
    state = body(run(api, owner.key, check))
    rest = api.get(f"{P}/v1/approval/check/{created['approval_id']}", headers=owner.headers).json()
    assert state == rest and state["decision"] == "denied" and state["responder"].startswith("ip:")


@pytest.mark.parametrize(("arguments", "code"), [
    ({"agent_id": "", "action_summary": "x"}, "invalid_agent_id"),
    ({"agent_id": "a", "action_summary": "x" * 281}, "invalid_action_summary"),
    ({"agent_id": "a", "action_summary": "x", "ttl_seconds": 0}, "invalid_ttl_seconds"),
    ({"agent_id": "a", "action_summary": "x", "channels": ["carrier-pigeon"]}, "invalid_channels"),
    ({"agent_id": "a", "action_summary": "x", "channels": ["sms"]}, "channel_not_implemented"),
])
def test_request_errors_are_the_rest_errors(api, make_account, arguments, code):
    owner = make_account(notification_email="owner@example.com")

    async def script(client):
        return await client.call_tool("request_approval", arguments)

    result = run(api, owner.key, script)
    assert result.is_error and body(result)["error"] == code
    rest = api.post(f"{P}/v1/approval/request", headers=owner.headers, json=arguments).json()
    assert rest["error"] == code


def test_no_notification_email_and_other_tenants(api, account, make_account):
    async def ask(client):
        return await client.call_tool("request_approval", {"agent_id": "a", "action_summary": "b"})

    unset = run(api, account.key, ask)
    assert unset.is_error and body(unset)["error"] == "notification_email_unset"

    owner = make_account(notification_email="owner@example.com")
    approval_id = body(run(api, owner.key, ask))["approval_id"]

    async def peek(client):
        return await client.call_tool("check_approval", {"approval_id": approval_id})

    stranger = run(api, account.key, peek)
    assert stranger.is_error and body(stranger)["error"] == "approval_not_found"
