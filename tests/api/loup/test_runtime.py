"""Install-token operations: runtime installs, whats-new, invoke (echo and claude)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from handlers.loup import provisioning as prov
from storage.loup import Install, PackVersion, UsageEvent
from tests.api.loup.conftest import P
from tests.standins.anthropic import MessagesStandIn

RUNTIME_ROUTES = ("/runtime/installs", "/runtime/whats-new")


def test_runtime_installs_returns_the_tokens_one_pack(api, world):
    r = api.get(f"{P}/runtime/installs", headers=world.token_headers())
    assert r.status_code == 200
    assert r.json()["data"] == [
        {
            "install_id": world.ids["alice_install"],
            "status": "active",
            "creator": "selr-ai",
            "slug": "voice-graded-writer",
            "name": "Voice-Graded Content Writer",
            "version": "1.1.0",
            "description": "Writes LinkedIn posts in your own voice, graded against samples.",
            "local": True,
            "hosted": False,
        }
    ]
    other = api.get(f"{P}/runtime/installs", headers=world.token_headers("bob_install")).json()
    assert [i["slug"] for i in other["data"]] == ["ledger-helper"]


@pytest.mark.parametrize("route", RUNTIME_ROUTES)
def test_runtime_refuses_creator_keys_and_garbage(api, world, route):
    assert api.get(f"{P}{route}").status_code == 401
    assert api.get(f"{P}{route}", headers=world.creator_headers()).status_code == 401
    assert (
        api.get(f"{P}{route}", headers={"Authorization": "Bearer loupit_nope"}).status_code == 401
    )


def test_canceled_install_and_revoked_token_get_401_everywhere(api, world):
    token, secret = prov.mint_install_token(world.ids["alice_install"])
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get(f"{P}/runtime/installs", headers=headers).status_code == 200
    prov.revoke_install_token(token.id)
    r = api.get(f"{P}/runtime/installs", headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "TOKEN_REVOKED"
    prov.set_install_status(world.ids["alice_install"], "canceled")
    for route in RUNTIME_ROUTES:
        r = api.get(f"{P}{route}", headers=world.token_headers())
        assert r.status_code == 401 and r.json()["code"] == "INSTALL_CANCELED"
    assert api.get(f"{P}/skills/download", headers=world.token_headers()).status_code == 401
    r = api.post(f"{P}/runtime/invoke", json={"prompt": "x"}, headers=world.token_headers())
    assert r.status_code == 401


def test_whats_new_lists_approved_versions_newest_first(api, world):
    world.publish("writer", "1.2.0-rc1", {"SKILL.md": b"draft"}, "Unreviewed", approve=False)
    preparing = world.publish("writer", "1.2.0", {"SKILL.md": b"soon"}, "Not ready")
    PackVersion.update(state="preparing").where(PackVersion.id == preparing.id).execute()
    r = api.get(f"{P}/runtime/whats-new", headers=world.token_headers())
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["skill"] == {
        "creator": "selr-ai",
        "slug": "voice-graded-writer",
        "name": "Voice-Graded Content Writer",
        "version": "1.1.0",
    }
    assert data["items"] == [
        {"type": "version", "title": "v1.1.0", "body": "Sharper hooks"},
        {"type": "version", "title": "v1.0.0", "body": "First release"},
    ]
    assert [f["version"] for f in data["feed"]] == ["1.1.0", "1.0.0"]
    assert not any(f["installed"] for f in data["feed"])
    # After downloading, the feed marks what the buyer has.
    assert api.get(f"{P}/skills/download", headers=world.token_headers()).status_code == 200
    feed = api.get(f"{P}/runtime/whats-new", headers=world.token_headers()).json()["data"]["feed"]
    assert [f["installed"] for f in feed] == [True, False]


def test_whats_new_for_a_pack_without_releases(api, world):
    install = prov.create_install(world.ids["kit"])
    _, secret = prov.mint_install_token(install.id)
    data = api.get(f"{P}/runtime/whats-new", headers={"Authorization": f"Bearer {secret}"}).json()[
        "data"
    ]
    assert data["skill"]["version"] == "unreleased" and data["items"] == []


def test_invoke_is_410_with_install_guidance_when_hosted_runtime_is_off(api, world):
    r = api.post(
        f"{P}/runtime/invoke", json={"prompt": "Draft a launch hook"}, headers=world.token_headers()
    )
    assert r.status_code == 410
    body = r.json()
    assert body["ok"] is False
    assert (
        body["error"]["code"] == "hosted_runtime_disabled" and body["error"]["retryable"] is False
    )
    assert "npx @louphq/install selr-ai/voice-graded-writer" in body["error"]["message"]
    assert Install.get_by_id(world.ids["alice_install"]).invocation_count == 0


def test_invoke_echo_records_usage_and_counts(api, world):
    prov.set_hosted_runtime(world.ids["writer"], True)
    r = api.post(
        f"{P}/runtime/invoke",
        json={"prompt": "Draft a launch hook", "message_text": "for Friday"},
        headers=world.token_headers(),
    )
    assert r.status_code == 200
    data = r.json()["data"]
    assert r.json()["ok"] is True
    assert data["client_name"] == "echo"
    assert data["reply_text"].startswith("[selr-ai/voice-graded-writer@1.1.0] Draft a launch hook")
    assert "for Friday" in data["reply_text"]
    assert data["llm_cost_usd"] == 0 and data["llm_tokens_used"] > 0
    assert data["skill"]["version"] == "1.1.0"
    assert [e["event_type"] for e in data["events"]] == ["skill.invoked", "skill.success"]
    assert Install.get_by_id(world.ids["alice_install"]).invocation_count == 1
    usage = api.get(f"{P}/usage", headers=world.creator_headers()).json()["data"]
    assert {e["event_type"] for e in usage} == {"skill.invoked", "skill.success"}
    success = next(e for e in usage if e["event_type"] == "skill.success")
    assert success["llm_tokens_used"] == data["llm_tokens_used"]
    assert success["payload"]["client_name"] == "echo"
    # The creator sees the count too; another creator sees none of it.
    installs = api.get(f"{P}/installs", headers=world.creator_headers()).json()["data"]
    assert installs[0]["invocation_count"] == 1
    assert api.get(f"{P}/usage", headers=world.creator_headers("bob")).json()["data"] == []


def test_invoke_body_is_validated(api, world):
    prov.set_hosted_runtime(world.ids["writer"], True)
    r = api.post(
        f"{P}/runtime/invoke", json={"message_text": "no prompt"}, headers=world.token_headers()
    )
    assert r.status_code == 400 and r.json()["code"] == "BAD_REQUEST"
    r = api.post(
        f"{P}/runtime/invoke",
        content=b"{not json",
        headers={**world.token_headers(), "Content-Type": "application/json"},
    )
    assert r.status_code == 400


def test_invoke_stops_at_the_spend_cap(make_client, loup_settings, world, tmp_path):
    with MessagesStandIn(input_tokens=1_000_000, output_tokens=0) as standin:  # $3.00 per call
        api = make_client(
            loup_runtime_client="claude",
            loup_anthropic_api_key="sk-test",
            loup_anthropic_base_url=standin.url,
            loup_rate_limit_token=10_000,
        )
        install = prov.create_install(world.ids["writer"], spend_cap_usd=5.0)
        _, secret = prov.mint_install_token(install.id)
        prov.set_hosted_runtime(world.ids["writer"], True)
        headers = {"Authorization": f"Bearer {secret}"}
        codes = [
            api.post(f"{P}/runtime/invoke", json={"prompt": "go"}, headers=headers).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 422]  # $0 < 5, $3 < 5, then $6 >= 5
        r = api.post(f"{P}/runtime/invoke", json={"prompt": "go"}, headers=headers)
        assert r.json() == {"error": "spend cap exceeded", "code": "spend_cap_exceeded"}
        row = Install.get_by_id(install.id)
        assert row.invocation_count == 2 and row.spent_micro_usd == 6_000_000
        assert len(standin.requests) == 2


def test_invoke_claude_through_the_anthropic_sdk(make_client, world):
    with MessagesStandIn(reply="Hook: ship it.", input_tokens=200, output_tokens=50) as standin:
        api = make_client(
            loup_runtime_client="claude",
            loup_anthropic_api_key="sk-ant-test",
            loup_anthropic_base_url=standin.url,
            loup_anthropic_model="claude-sonnet-4-6",
            loup_rate_limit_token=10_000,
        )
        prov.set_hosted_runtime(world.ids["writer"], True)
        r = api.post(
            f"{P}/runtime/invoke",
            json={"prompt": "Draft a launch hook", "message_text": "launch"},
            headers=world.token_headers(),
        )
        assert r.status_code == 200
        data = r.json()["data"]
        assert data["client_name"] == "claude" and data["reply_text"] == "Hook: ship it."
        assert data["llm_tokens_used"] == 250
        assert data["llm_cost_usd"] == pytest.approx((200 * 3 + 50 * 15) / 1_000_000)
        sent = standin.requests[0]
        assert sent["path"] == "/v1/messages"
        # anthropic 2.x sends the API key as a bearer credential (older SDKs used x-api-key)
        auth = sent["headers"].get("authorization") or sent["headers"].get("x-api-key")
        assert auth in ("Bearer sk-ant-test", "sk-ant-test")
        assert sent["headers"]["anthropic-version"]
        assert sent["body"]["model"] == "claude-sonnet-4-6"
        assert "Voice-Graded Content Writer" in sent["body"]["system"]
        assert sent["body"]["messages"] == [
            {"role": "user", "content": "Draft a launch hook\n\nMessage:\nlaunch"}
        ]
        success = UsageEvent.get(UsageEvent.event_type == "skill.success")
        assert success.llm_tokens_used == 250


def test_invoke_claude_failure_is_a_422_and_a_skill_error_event(make_client, world):
    with MessagesStandIn(status=529) as standin:
        api = make_client(
            loup_runtime_client="claude",
            loup_anthropic_api_key="sk-ant-test",
            loup_anthropic_base_url=standin.url,
            loup_rate_limit_token=10_000,
        )
        prov.set_hosted_runtime(world.ids["writer"], True)
        r = api.post(f"{P}/runtime/invoke", json={"prompt": "x"}, headers=world.token_headers())
        assert r.status_code == 422 and r.json()["code"] == "runtime_failed"
        kinds = [e.event_type for e in UsageEvent.select().order_by(UsageEvent.occurred_at)]
        assert kinds == ["skill.invoked", "skill.error"]


def test_an_answer_the_client_cannot_read_is_still_accounted(make_client, world):
    with MessagesStandIn(malformed=True) as standin:
        api = make_client(
            loup_runtime_client="claude",
            loup_anthropic_api_key="sk-ant-test",
            loup_anthropic_base_url=standin.url,
            loup_rate_limit_token=10_000,
        )
        prov.set_hosted_runtime(world.ids["writer"], True)
        r = api.post(f"{P}/runtime/invoke", json={"prompt": "x"}, headers=world.token_headers())
    assert r.status_code == 422 and r.json()["code"] == "runtime_failed"
    assert "traceback" not in r.text.lower()
    kinds = [e.event_type for e in UsageEvent.select().order_by(UsageEvent.occurred_at)]
    assert kinds == ["skill.invoked", "skill.error"]
    assert Install.get_by_id(world.ids["alice_install"]).invocation_count == 1


def test_invoke_claude_without_a_key_is_a_clear_422(make_client, world):
    api = make_client(
        loup_runtime_client="claude", loup_anthropic_api_key="", loup_rate_limit_token=10_000
    )
    prov.set_hosted_runtime(world.ids["writer"], True)
    r = api.post(f"{P}/runtime/invoke", json={"prompt": "x"}, headers=world.token_headers())
    assert r.status_code == 422 and r.json()["code"] == "runtime_not_configured"


@pytest.mark.parametrize("how", ["task.cancel", "cancel scope"])
def test_an_invocation_canceled_mid_call_is_settled_as_a_canceled_error(make_client, world, how):
    """The request is canceled while the model is still answering (a worker stopping cancels its
    tasks natively; anyio cancels a scope): the reservation is settled with skill.error
    `canceled` (no cost: none is known) before the cancellation goes on. Through httpx's
    ASGITransport the app runs inside the canceled task, as it does under uvicorn."""
    import json

    import anyio
    import httpx

    hold = threading.Event()
    with MessagesStandIn(hold=hold) as standin:
        api = make_client(
            loup_runtime_client="claude",
            loup_anthropic_api_key="sk-ant-test",
            loup_anthropic_base_url=standin.url,
            loup_rate_limit_token=10_000,
        )
        prov.set_hosted_runtime(world.ids["writer"], True)

        async def call() -> None:
            transport = httpx.ASGITransport(app=api.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                await http.post(f"{P}/runtime/invoke", json={"prompt": "x"}, headers=world.token_headers())

        async def when_the_model_is_called() -> None:
            while not standin.requests:
                await anyio.sleep(0.01)

        async def main() -> bool:
            if how == "task.cancel":
                task = asyncio.ensure_future(call())
                await when_the_model_is_called()
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    return True
                return False
            async with anyio.create_task_group() as group:
                group.start_soon(call)
                await when_the_model_is_called()
                group.cancel_scope.cancel()
            return group.cancel_scope.cancelled_caught

        canceled = anyio.run(main)
        hold.set()
    assert canceled  # the cancellation went on, it was not swallowed into an answer
    events = list(UsageEvent.select().order_by(UsageEvent.occurred_at))
    assert [e.event_type for e in events] == ["skill.invoked", "skill.error"]
    error = json.loads(events[1].payload)
    assert error["error"] == "canceled" and error["retryable"] is True and error["duration_ms"] >= 0
    assert events[1].llm_cost_usd is None and events[1].llm_tokens_used is None
    row = Install.get_by_id(world.ids["alice_install"])
    assert row.invocation_count == 1 and row.spent_micro_usd == 0
