"""Span -> record mapping: GenAI semantic conventions, their fallbacks, errors, evidence ids."""

from __future__ import annotations

import json

from handlers.loopkit.otlp import Span
from handlers.loopkit.records import parse_record_id, record_id, to_public, to_row

T, S = "ab" * 16, "cd" * 8


def span(attributes: dict | None = None, resource: dict | None = None, **kw) -> Span:
    base = dict(trace_id=T, span_id=S, parent_span_id="", name="op", kind=1, start_ns=1_700_000_000_123_000_000,
                end_ns=1_700_000_000_623_500_000, status_code=0, status_message="", attributes=attributes or {},
                resource=resource or {}, scope={"name": "lib", "version": "1", "attributes": {}})
    base.update(kw)
    return Span(**base)


def row(*args, **kw) -> dict:
    return to_row("proj", span(*args, **kw), received_ms=1_800_000_000_000)


def test_evidence_ids_are_stable_and_parse_back():
    assert record_id(T, S) == f"rec_{T}_{S}"
    assert parse_record_id(record_id(T, S).upper()) == (T, S)
    assert parse_record_id("rec_x_y") is None and parse_record_id("conv-1") is None


def test_genai_chat_span():
    r = row({"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet-4-6",
             "gen_ai.response.model": "claude-sonnet-4-6-20260101", "gen_ai.usage.input_tokens": 1200,
             "gen_ai.usage.output_tokens": 180, "gen_ai.agent.name": "planner", "gen_ai.conversation.id": "c1"},
            {"service.name": "travel", "deployment.environment.name": "prod"})
    assert r["operation"] == "chat" and r["unit"] == "llm_call"
    assert r["model"] == "claude-sonnet-4-6-20260101"  # the response model wins over the request model
    assert (r["input_tokens"], r["output_tokens"]) == (1200, 180)
    assert (r["agent"], r["session_id"], r["session_key"]) == ("planner", "c1", "c1")
    assert (r["service"], r["environment"]) == ("travel", "prod")
    assert (r["start_ms"], r["end_ms"], r["duration_ms"]) == (1_700_000_000_123, 1_700_000_000_623, 500.5)


def test_session_precedence_and_trace_fallback():
    assert row({"gen_ai.conversation.id": "g", "langfuse.session.id": "l", "session.id": "s"})["session_id"] == "s"
    assert row({"gen_ai.conversation.id": "g", "langfuse.session.id": "l"})["session_id"] == "l"
    assert row({}, {"session.id": "from-resource"})["session_id"] == "from-resource"
    plain = row({})
    assert plain["session_id"] is None and plain["session_key"] == T


def test_tool_spans_and_openinference_fallbacks():
    tool = row({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"})
    assert (tool["unit"], tool["tool_name"]) == ("tool_call", "search")
    oi = row({"openinference.span.kind": "LLM", "llm.model_name": "gpt-x", "llm.token_count.prompt": 10,
              "llm.token_count.completion": "5"})
    assert (oi["operation"], oi["unit"], oi["model"], oi["input_tokens"], oi["output_tokens"]) == (
        "chat", "llm_call", "gpt-x", 10, 5)
    old = row({"gen_ai.usage.prompt_tokens": 7, "gen_ai.usage.completion_tokens": 3, "tool.name": "t"})
    assert (old["input_tokens"], old["output_tokens"], old["unit"]) == (7, 3, "tool_call")
    assert row({"unit": "graph_node"})["unit"] == "graph_node"
    assert row({"unit": "nonsense"})["unit"] is None
    assert row({"gen_ai.usage.input_tokens": -4, "gen_ai.usage.output_tokens": True})["input_tokens"] is None


def test_error_status_and_exceptions():
    failed = row({}, status_code=2, status_message="boom")
    assert failed["is_error"] and failed["error_type"] == "_OTHER"  # the semconv fallback
    typed = row({"error.type": "RateLimited"}, status_code=2)
    assert typed["error_type"] == "RateLimited"
    event = {"name": "exception", "time_unix_nano": 1, "attributes": {"exception.type": "TimeoutError",
                                                                     "exception.message": "30s"}}
    handled = row({}, events=[event])
    assert not handled["is_error"] and handled["error_type"] == "TimeoutError"
    assert handled["exception_message"] == "30s"
    assert row({})["error_type"] is None


def test_missing_times_fall_back_to_receipt():
    r = row({}, start_ns=0, end_ns=0)
    assert r["start_ms"] == r["end_ms"] == 1_800_000_000_000 and r["duration_ms"] == 0


def test_public_form_keeps_the_raw_span():
    r = row({"k": [1, 2], "gen_ai.tool.name": "search"}, {"service.name": "svc"}, kind=3, status_code=2)
    public = to_public(r)
    assert public["record_id"] == record_id(T, S) and public["kind"] == "client"
    assert public["status"] == {"code": "error", "message": None}
    assert public["attributes"] == {"k": [1, 2], "gen_ai.tool.name": "search"}
    assert public["resource"] == {"service.name": "svc"} and public["scope"]["name"] == "lib"
    assert json.loads(r["raw"])["start_time_unix_nano"] == "1700000000123000000"
