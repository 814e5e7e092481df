"""Hosted-runtime clients: `echo` (embedded, deterministic, free) and `claude` (Anthropic's
Messages API through the official SDK). Chosen by LOUP_RUNTIME_CLIENT.

Clients are async: an invocation waits on the model without holding one of the worker's few
WSGI handler threads (the invoke handler runs natively on the event loop).
"""

from __future__ import annotations

import asyncio
import re
import typing as t
import weakref
from dataclasses import dataclass

import anthropic

from server.settings import Settings

# USD per million tokens (input, output), matched by model-id prefix, first match wins;
# unknown models are priced at DEFAULT_PRICE.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "claude-opus-4-0": (15.0, 75.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4-2025": (15.0, 75.0),
    "claude-opus": (5.0, 25.0),
    "claude-sonnet": (3.0, 15.0),
    "claude-haiku-4": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
}
DEFAULT_PRICE = (3.0, 15.0)


@dataclass(frozen=True)
class Skill:
    creator: str
    slug: str
    name: str
    version: str
    description: str | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    input_tokens: int
    output_tokens: int
    cost_usd: float

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class RuntimeFailure(Exception):
    """The model call failed; `retryable` says whether trying again may help."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Client(t.Protocol):
    name: str

    async def run(self, skill: Skill, prompt: str, message_text: str | None) -> Reply: ...


def price(model: str, input_tokens: int, output_tokens: int) -> float:
    """Cost in USD; model ids are matched by family prefix (dated snapshots share a price)."""
    rate_in, rate_out = next(
        (p for family, p in PRICES_PER_MTOK.items() if model.startswith(family)), DEFAULT_PRICE
    )
    return round((input_tokens * rate_in + output_tokens * rate_out) / 1_000_000, 6)


def user_content(prompt: str, message_text: str | None) -> str:
    return prompt if not message_text else f"{prompt}\n\nMessage:\n{message_text}"


class EchoClient:
    """Answers with the request itself: proves the runtime path with no model behind it."""

    name = "echo"

    async def run(self, skill: Skill, prompt: str, message_text: str | None) -> Reply:
        text = (
            f"[{skill.creator}/{skill.slug}@{skill.version}] {user_content(prompt, message_text)}"
        )
        words = len(re.findall(r"\S+", user_content(prompt, message_text)))
        return Reply(
            text=text, input_tokens=words, output_tokens=len(re.findall(r"\S+", text)), cost_usd=0.0
        )


class ClaudeClient:
    """One Messages API call per invocation; the pack's identity is the system prompt."""

    name = "claude"

    def __init__(
        self, api_key: str, model: str, max_tokens: int, base_url: str | None = None
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.sdk = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url or None, max_retries=1, timeout=120.0
        )

    async def run(self, skill: Skill, prompt: str, message_text: str | None) -> Reply:
        ref = f"{skill.creator}/{skill.slug} v{skill.version}"
        system = f'You are running the Skill Pack "{skill.name}" ({ref}).'
        if skill.description:
            system += f" {skill.description}"
        try:
            message = await self.sdk.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=system,
                messages=[{"role": "user", "content": user_content(prompt, message_text)}],
            )
        except anthropic.APIStatusError as exc:
            retryable = exc.status_code in (408, 429, 500, 502, 503, 504, 529)
            raise RuntimeFailure(
                f"model call failed with status {exc.status_code}", retryable
            ) from exc
        except anthropic.APIError as exc:  # connection errors, timeouts
            raise RuntimeFailure(f"model call failed: {type(exc).__name__}", True) from exc
        text = "".join(block.text for block in message.content if block.type == "text")
        usage = message.usage
        return Reply(
            text=text,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=price(self.model, usage.input_tokens, usage.output_tokens),
        )


class NotConfigured(Exception):
    pass


def client_for(settings: Settings) -> Client:
    if settings.loup_runtime_client == "echo":
        return EchoClient()
    if settings.loup_runtime_client == "claude":
        if not settings.loup_anthropic_api_key:
            raise NotConfigured("LOUP_RUNTIME_CLIENT=claude needs LOUP_ANTHROPIC_API_KEY")
        return _claude(
            settings.loup_anthropic_api_key,
            settings.loup_anthropic_model,
            settings.loup_anthropic_max_tokens,
            settings.loup_anthropic_base_url,
        )
    raise NotConfigured(
        f"unknown LOUP_RUNTIME_CLIENT {settings.loup_runtime_client!r} (echo or claude)"
    )


# One SDK client (and its HTTP connection pool) per configuration and event loop: an async
# connection pool belongs to the loop that opened it.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, ClaudeClient]] = (
    weakref.WeakKeyDictionary()
)


def _claude(api_key: str, model: str, max_tokens: int, base_url: str) -> ClaudeClient:
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    key = (api_key, model, max_tokens, base_url)
    if key not in per_loop:
        per_loop[key] = ClaudeClient(api_key, model, max_tokens, base_url)
    return per_loop[key]
