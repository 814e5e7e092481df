"""The pluggable agent runtime. An agent is anything with `name` and
`async run(turn: StartedTurn, io: TurnIO)`: it streams through `io.text` / `io.thinking`,
uses tools through `io.use_tool` (the runtime emits tool_call/tool_result and asks permission
where the mode says so) and asks questions through `io.ask`. Returning ends the turn with
`done`; raising ends it with `error` (`agent_error`).

LOOPAT_AGENT picks one: `local` (the embedded default, handlers/loopat/local_agent.py) or
`anthropic` (handlers/loopat/anthropic_agent.py, a real model through the `anthropic` SDK).
"""

from __future__ import annotations

import typing as t

from handlers.loopat.turns import StartedTurn
from server.settings import Settings

if t.TYPE_CHECKING:
    from handlers.loopat.turn_io import TurnIO


class Agent(t.Protocol):
    name: str

    async def run(self, turn: StartedTurn, io: TurnIO) -> None: ...


class AgentError(Exception):
    """The agent could not produce a reply; the message is shown in the `error` event."""


class Unconfigured:
    """Stands in for an agent whose settings are missing: every turn ends in a clear error."""

    name = "unconfigured"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def run(self, turn: StartedTurn, io: TurnIO) -> None:
        raise AgentError(self.reason)


def make(settings: Settings) -> Agent:
    choice = settings.loopat_agent.strip().lower()
    if choice == "local":
        from handlers.loopat.local_agent import LocalAgent

        return LocalAgent(settings)
    if choice == "anthropic":
        if not settings.loopat_anthropic_api_key:
            return Unconfigured("LOOPAT_AGENT=anthropic needs LOOPAT_ANTHROPIC_API_KEY")
        from handlers.loopat.anthropic_agent import AnthropicAgent

        return AnthropicAgent(settings)
    return Unconfigured(f"unknown LOOPAT_AGENT {settings.loopat_agent!r} (use local or anthropic)")


def describe(error: BaseException) -> str:
    """The text of an `error` event: the agent's own message, never a traceback."""
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 500 else text[:497] + "..."
