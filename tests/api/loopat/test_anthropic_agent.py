"""The Anthropic-backed agent: the real `anthropic` SDK streaming from a local server that speaks
the Messages API's SSE format (tests/standins/anthropic.py)."""

from __future__ import annotations

import json

import pytest

from tests.api.loopat.conftest import FAST, data, until
from tests.standins.anthropic import MessagesStandIn


@pytest.fixture
def model_world(make_client, world):
    def configure(standin: MessagesStandIn, **changes):
        world.client = make_client(**FAST, loopat_agent="anthropic", loopat_anthropic_api_key="sk-ant-test",
                                   loopat_anthropic_base_url=standin.url, loopat_anthropic_model="claude-sonnet-4-6",
                                   **changes)
        return world

    return configure


def _text(events) -> str:
    return "".join(data(e)["text"] for e in events if e.event == "assistant_delta")


def test_text_and_thinking_stream_through_and_history_is_sent(model_world):
    script = [[{"type": "thinking", "thinking": "The user greets me."},
               {"type": "text", "text": "Hello there, Alice!"}]]
    with MessagesStandIn(script=script) as standin:
        world = model_world(standin, loopat_anthropic_thinking_tokens=1024)
        loop_id = world.new_loop(title="greetings")
        events = world.send(loop_id, "hi")
        assert [e.event for e in events][0] == "started" and events[-1].event == "done"
        assert _text(events) == "Hello there, Alice!"
        thinking = "".join(data(e)["text"] for e in events if e.event == "thinking_delta")
        assert thinking == "The user greets me."
        first = standin.requests[0]
        assert first["path"] == "/v1/messages"
        # this SDK release sends the key as a bearer token (older ones used x-api-key)
        assert "sk-ant-test" in (first["headers"].get("x-api-key"), first["headers"].get("authorization", "")[7:])
        assert first["body"]["stream"] is True and first["body"]["model"] == "claude-sonnet-4-6"
        assert first["body"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        assert first["body"]["messages"] == [{"role": "user", "content": "hi"}]
        assert {tool["name"] for tool in first["body"]["tools"]} == {
            "Clock", "Calculator", "LoopInfo", "RenameLoop", "AskUserQuestion"}
        assert "greetings" in first["body"]["system"]
        world.send(loop_id, "and again")
        assert standin.requests[1]["body"]["messages"] == [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello there, Alice!"},
            {"role": "user", "content": "and again"},
        ]


def test_tool_use_runs_the_tool_and_sends_its_result_back(model_world):
    script = [
        [{"type": "text", "text": "Let me compute. "},
         {"type": "tool_use", "id": "toolu_01calc", "name": "Calculator", "input": {"expression": "6*7"}}],
        [{"type": "text", "text": "It is 42."}],
    ]
    with MessagesStandIn(script=script) as standin:
        world = model_world(standin)
        events = world.send(world.new_loop(), "what is six times seven?")
        assert _text(events) == "Let me compute. It is 42."
        call = next(data(e) for e in events if e.event == "tool_call")
        assert call == {"tool_use_id": "toolu_01calc", "tool": "Calculator"}
        assert next(data(e) for e in events if e.event == "tool_result") == {"tool_use_id": "toolu_01calc", "ok": True}
        second = standin.requests[1]["body"]["messages"]
        assert second[1]["role"] == "assistant"
        used = second[1]["content"][1]
        assert used["type"] == "tool_use" and used["input"] == {"expression": "6*7"}
        assert second[2] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01calc", "content": "42", "is_error": False}]}


def test_a_tool_needing_permission_asks_first(model_world):
    script = [
        [{"type": "tool_use", "id": "toolu_01ren", "name": "RenameLoop", "input": {"title": "Roadmap"}}],
        [{"type": "text", "text": "Done."}],
    ]
    with MessagesStandIn(script=script) as standin:
        world = model_world(standin)
        loop_id = world.new_loop(title="draft")
        with world.stream(loop_id, "please rename this", permission_mode="default") as source:
            events = source.iter_sse()
            asked = data(until(events, "requires_choice")[-1])
            assert asked == {"choice_id": "choice_toolu_01ren", "kind": "permission",
                             "payload": {"tool": "RenameLoop", "title": 'Rename this loop to "Roadmap"',
                                         "display_name": "Rename loop"}}
            assert world.answer(loop_id, "toolu_01ren", {"allow": False}).status_code == 202
            rest = [e for e in events if e.event != "ping"]
        assert rest[-1].event == "done" and world.loop(loop_id)["title"] == "draft"
        sent = standin.requests[1]["body"]["messages"][-1]["content"][0]
        assert sent["is_error"] is True and "did not allow" in sent["content"]


def test_ask_user_question_becomes_a_question_choice(model_world):
    questions = [{"question": "Which region?", "header": "Region",
                  "options": [{"label": "EU"}, {"label": "US"}], "multiSelect": False}]
    script = [
        [{"type": "tool_use", "id": "toolu_01ask", "name": "AskUserQuestion", "input": {"questions": questions}}],
        [{"type": "text", "text": "EU it is."}],
    ]
    with MessagesStandIn(script=script) as standin:
        world = model_world(standin)
        loop_id = world.new_loop()
        with world.stream(loop_id, "deploy it") as source:
            events = source.iter_sse()
            asked = data(until(events, "requires_choice")[-1])
            assert asked["kind"] == "question" and asked["payload"] == {"questions": questions}
            r = world.answer(loop_id, asked["choice_id"], {"allow": True})  # the wrong shape for a question
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_choice_payload"
            assert world.answer(loop_id, asked["choice_id"], {"answers": {"Which region?": "EU"}}).status_code == 202
            rest = [e for e in events if e.event != "ping"]
        assert _text(rest) == "EU it is."
        result = standin.requests[1]["body"]["messages"][-1]["content"][0]
        assert json.loads(result["content"]) == {"answers": {"Which region?": "EU"}}


@pytest.mark.parametrize(("standin_args", "expected"), [
    ({"status": 529}, "Anthropic API 529: Overloaded"),
    ({"status": 401}, "Anthropic API 401: authentication error"),
    ({"stream_error": "Overloaded mid-stream"}, "Overloaded mid-stream"),
])
def test_api_errors_end_the_turn_with_an_error_event(model_world, standin_args, expected):
    with MessagesStandIn(**standin_args) as standin:
        world = model_world(standin)
        loop_id = world.new_loop()
        events = world.send(loop_id, "hello")
        assert events[-1].event == "error"
        assert data(events[-1])["code"] == "agent_error" and expected in data(events[-1])["message"]
        assert world.loop(loop_id)["busy"] is False
