"""Pure functions: cursors, FTS query building, runtime pricing and the echo client."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json

import pytest

from handlers.loup import cursor, runtime_clients, search


def test_cursor_round_trip_and_opacity():
    at = dt.datetime(2026, 11, 22, 8, 30, 0, 5, tzinfo=dt.UTC)
    token = cursor.encode(at, "ins_abc")
    assert "ins_abc" not in token and "=" not in token
    assert cursor.decode(token) == (at, "ins_abc")


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_cursor_normalises_to_utc():
    at = dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=10)))
    assert cursor.decode(cursor.encode(at, "x"))[0] == dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "!!!",
        "bm90IGpzb24",
        "WzEsMl0",
        "WyIyMDI2LTAxLTAxIiwgMV0",
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIngiXQ",
        # offsets that push the instant off the calendar when moved to UTC
        _b64(["9999-12-31T23:59:59-01:00", "x"]),
        _b64(["0001-01-01T00:00:00+01:00", "x"]),
    ],
)
def test_cursor_rejects_what_it_did_not_issue(bad):
    with pytest.raises(cursor.InvalidCursor):
        cursor.decode(bad)


def test_fts_query_quotes_tokens_and_prefixes_words():
    assert search.fts_query("Voice writer") == '"voice"* OR "writer"*'
    assert search.fts_query('a "NEAR(x)" -y*') == '"a" OR "near"* OR "x" OR "y"'
    assert search.fts_query("voice voice") == '"voice"*'


def test_fts_query_empty_overlong_and_punctuation_only():
    assert search.fts_query("") is None
    assert search.fts_query("   ") is None
    assert search.fts_query("!!! ---") is None
    assert search.fts_query("_") is None
    assert search.fts_query("x" * 200) == f'"{"x" * 200}"*'
    assert search.fts_query("x" * 201) is None


def test_fts_query_caps_the_number_of_terms():
    words = " ".join(f"w{i}" for i in range(40))
    assert search.fts_query(words).count(" OR ") == search.MAX_TOKENS - 1


def test_prices_by_model_family():
    assert runtime_clients.price("claude-sonnet-4-6", 1_000_000, 1_000_000) == 18.0
    assert runtime_clients.price("claude-opus-4-7", 1_000_000, 0) == 5.0
    assert runtime_clients.price("claude-opus-4-1", 1_000_000, 0) == 15.0
    assert runtime_clients.price("claude-haiku-4-5", 0, 1_000_000) == 5.0
    assert runtime_clients.price("some-future-model", 1_000_000, 0) == runtime_clients.DEFAULT_PRICE[0]


def test_echo_client_is_deterministic_and_free():
    skill = runtime_clients.Skill("selr-ai", "writer", "Writer", "1.0.0")
    reply = asyncio.run(runtime_clients.EchoClient().run(skill, "Draft a hook", "for Friday"))
    assert reply.text == "[selr-ai/writer@1.0.0] Draft a hook\n\nMessage:\nfor Friday"
    assert reply.input_tokens == 6 and reply.output_tokens == 7 and reply.cost_usd == 0.0
    assert reply.tokens == 13


def test_client_for_settings():
    from server.settings import Settings

    assert runtime_clients.client_for(Settings().replace(loup_runtime_client="echo")).name == "echo"
    with pytest.raises(runtime_clients.NotConfigured):
        runtime_clients.client_for(Settings().replace(loup_runtime_client="claude", loup_anthropic_api_key=""))
    with pytest.raises(runtime_clients.NotConfigured):
        runtime_clients.client_for(Settings().replace(loup_runtime_client="e2b"))
    configured = Settings().replace(
        loup_runtime_client="claude", loup_anthropic_api_key="k", loup_anthropic_base_url="http://127.0.0.1:1"
    )

    async def twice():  # one SDK client per configuration on a loop
        return runtime_clients.client_for(configured), runtime_clients.client_for(configured)

    first, second = asyncio.run(twice())
    assert first.name == "claude" and first is second
    assert asyncio.run(twice())[0] is not first  # a new loop gets its own connection pool


def test_fts_query_and_for_all_words():
    assert search.fts_query("support triage", "AND") == '"support"* AND "triage"*'
    assert search.terms("") == [] and search.terms("x" * 201) == []
