"""The model price table (data) and the cost arithmetic."""

from __future__ import annotations

import json

import pytest

from handlers.gvnr import pricing


def test_table_is_exact_integers_and_covers_the_providers():
    table = pricing.table()
    raw = json.loads(pricing.TABLE.read_text())["models"]
    assert {m["provider"] for m in raw.values()} == {"anthropic", "openai", "google"}
    embeddings = {name for name, price in table.items() if price.embedding}
    assert {"text-embedding-3-small", "text-embedding-3-large", "gemini-embedding-001"} <= embeddings
    assert all(table[name].output_milli == 0 for name in embeddings)
    assert table["claude-sonnet-4-6"] == pricing.Price("claude-sonnet-4-6", 3000, 15000)
    assert table["gpt-4o-mini"] == pricing.Price("gpt-4o-mini", 150, 600)


@pytest.mark.parametrize(("model", "listed"), [
    ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),  # dated snapshot -> its family
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),  # the longest listed prefix wins over gpt-4o
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("GPT-4o", "gpt-4o"),  # case-insensitive
    ("anthropic/claude-sonnet-4-6", "claude-sonnet-4-6"),  # router-style prefix
    ("models/gemini-2.5-pro", "gemini-2.5-pro"),  # Google's REST resource name
    ("us.anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"),  # Bedrock id
    ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),  # Vertex id
    ("o3-pro", "o3-pro"),
    ("o3-mini-2025-01-31", "o3-mini"),
    ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
])
def test_lookup(model, listed):
    assert pricing.lookup(model).model == listed


@pytest.mark.parametrize("model", ["llama-3-70b", "gpt-4.5-preview", "o1x", "", "claude"])
def test_unlisted_models_get_the_highest_listed_rates(model):
    price = pricing.lookup(model)
    assert price.model == "unlisted"
    assert price.input_milli == max(p.input_milli for p in pricing.table().values())
    assert price.output_milli == max(p.output_milli for p in pricing.table().values())
    assert all(price.estimate_nano(1000) >= p.estimate_nano(1000) for p in pricing.table().values())


def test_estimate_and_actual():
    sonnet = pricing.lookup("claude-sonnet-4-6")
    assert sonnet.estimate_nano(2000) == 30_000_000  # 2000 output tokens at $15/1M = $0.03
    assert sonnet.actual_nano(1000, 1500) == 3_000_000 + 22_500_000
    embedding = pricing.lookup("text-embedding-3-small")
    assert embedding.estimate_nano(1_000_000) == 20_000_000  # input rate: $0.02 per 1M
    assert pricing.usd(30_000_000) == 0.03


def test_usd_conversion_is_exact():
    assert pricing.to_nano(0.000001) == 1000
    assert pricing.to_nano(5) == 5_000_000_000
    assert pricing.to_nano(1_000_000) == 10**15
    assert pricing.to_nano(0.1) + pricing.to_nano(0.2) == pricing.to_nano(0.3)


def test_prices_must_be_whole_thousandths():
    with pytest.raises(ValueError):
        pricing._milli(0.0001)
    with pytest.raises(ValueError):
        pricing._milli(-1)
