"""Model prices (data: handlers/gvnr/model_prices.json) and the cost arithmetic.

Prices are held as integer milli-USD per 1M tokens, so a cost in nano-USD is exactly
`tokens * price` (1 token at $1/1M = 1e-6 USD = 1000 nano-USD = 1 milli-USD/1M): every
amount the envelopes count is an exact integer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("model_prices.json")
NANO = 1_000_000_000  # nano-USD per USD
_VENDOR = re.compile(r"^(?:[a-z]+\.)+")  # us.anthropic.claude-..., anthropic.claude-...
_BOUNDARY = "-@:"  # not ".": gpt-4.5 is not a gpt-4 snapshot


@dataclass(frozen=True)
class Price:
    model: str  # the listed name that matched, or "unlisted"
    input_milli: int  # milli-USD per 1M input tokens
    output_milli: int  # milli-USD per 1M output tokens
    embedding: bool = False  # input-only: the estimate counts input tokens

    def estimate_nano(self, tokens: int) -> int:
        """Cost of a clearance: output tokens of a chat model, input tokens of an embedding."""
        return tokens * (self.input_milli if self.embedding else self.output_milli)

    def actual_nano(self, input_tokens: int, output_tokens: int) -> int:
        return input_tokens * self.input_milli + output_tokens * self.output_milli


def _milli(value: float | int | str) -> int:
    milli = Decimal(str(value)) * 1000
    if milli != milli.to_integral_value() or milli < 0:
        raise ValueError(f"price {value} is not a non-negative multiple of $0.001 per 1M tokens")
    return int(milli)


@cache
def table() -> dict[str, Price]:
    raw = json.loads(TABLE.read_text(encoding="utf-8"))["models"]
    return {name: Price(name, _milli(p["input"]), _milli(p["output"]), p.get("kind") == "embedding")
            for name, p in raw.items()}


@cache
def unlisted() -> Price:
    """Fail-safe price for a model the table does not list: its highest input and output rates."""
    prices = table().values()
    return Price("unlisted", max(p.input_milli for p in prices), max(p.output_milli for p in prices))


def normalize(model: str) -> str:
    return _VENDOR.sub("", model.strip().lower().rsplit("/", 1)[-1])


@lru_cache(maxsize=4096)  # bounded: model names come from callers
def lookup(model: str) -> Price:
    """The price of `model`: the longest listed name it starts with at a name boundary."""
    name = normalize(model)
    best: Price | None = None
    for listed, price in table().items():
        if name.startswith(listed) and (len(name) == len(listed) or name[len(listed)] in _BOUNDARY):
            if best is None or len(listed) > len(best.model):
                best = price
    return best or unlisted()


def usd(nano: int) -> float:
    return nano / NANO


def to_nano(amount_usd: float) -> int:
    """USD (as the API sends it) to integer nano-USD, rounded to the nearest nano-dollar."""
    return int((Decimal(str(amount_usd)) * NANO).to_integral_value())
