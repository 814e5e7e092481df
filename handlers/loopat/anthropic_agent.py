"""A real model as the agent: Anthropic's Messages API, streamed through the `anthropic` SDK.

Each turn is the loop's earlier messages and replies, then the new message. The model's text
and thinking deltas stream out as they arrive; when it stops to use tools (stop_reason
`tool_use`), each tool goes through the runtime (tool_call, permission choice where the mode
asks, tool_result) and the results go back to the model, until it ends its reply. The tools
are the built-in ones plus AskUserQuestion, which becomes a `question` choice.

Settings: LOOPAT_ANTHROPIC_API_KEY (required), _BASE_URL, _MODEL, _MAX_TOKENS, _THINKING_TOKENS.
"""

from __future__ import annotations

import json
import typing as t

import anthropic

from handlers.loopat import tools
from handlers.loopat.agents import AgentError
from handlers.loopat.turns import StartedTurn
from server.settings import Settings

if t.TYPE_CHECKING:
    from handlers.loopat.turn_io import TurnIO

MAX_ROUNDS = 16  # model calls per turn (a tool loop that never ends is an error)
TOOL_PARAMS = [
    *({"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}
      for tool in tools.TOOLS.values()),
    {"name": tools.QUESTION_TOOL, "description": tools.QUESTION_DESCRIPTION, "input_schema": tools.QUESTION_SCHEMA},
]


class AnthropicAgent:
    name = "anthropic"

    def __init__(self, settings: Settings) -> None:
        self.model = settings.loopat_anthropic_model
        self.max_tokens = settings.loopat_anthropic_max_tokens
        self.thinking_tokens = settings.loopat_anthropic_thinking_tokens
        self.client = anthropic.AsyncAnthropic(api_key=settings.loopat_anthropic_api_key,
                                               base_url=settings.loopat_anthropic_base_url or None,
                                               max_retries=1, timeout=600.0)

    async def run(self, turn: StartedTurn, io: TurnIO) -> None:
        messages: list[dict] = []
        for content, reply in turn.history:
            messages += [{"role": "user", "content": content},
                         {"role": "assistant", "content": reply or "(no reply)"}]
        messages.append({"role": "user", "content": turn.content})
        options: dict[str, t.Any] = {}
        if self.thinking_tokens > 0:
            options["thinking"] = {"type": "enabled", "budget_tokens": self.thinking_tokens}
        for _ in range(MAX_ROUNDS):
            final = await self._stream(self._system(turn), messages, options, io)
            messages.append({"role": "assistant", "content": [block.to_dict() for block in final.content]})
            uses = [block for block in final.content if block.type == "tool_use"]
            if final.stop_reason != "tool_use" or not uses:
                return
            results = []
            for block in uses:
                if block.name == tools.QUESTION_TOOL:
                    answers = await io.ask(list((block.input or {}).get("questions") or []), block.id)
                    ok = answers is not None
                    output = json.dumps({"answers": answers}) if ok else "The user did not answer."
                else:
                    result = await io.use_tool(block.name, dict(block.input or {}), block.id)
                    ok, output = result.ok, result.output
                results.append({"type": "tool_result", "tool_use_id": block.id, "content": output, "is_error": not ok})
            messages.append({"role": "user", "content": results})
        raise AgentError(f"the model was still using tools after {MAX_ROUNDS} rounds")

    async def _stream(self, system: str, messages: list[dict], options: dict, io: TurnIO) -> t.Any:
        try:
            async with self.client.messages.stream(model=self.model, max_tokens=self.max_tokens, system=system,
                                                   messages=messages, tools=TOOL_PARAMS, **options) as stream:
                async for event in stream:
                    if event.type == "text":
                        await io.text(event.text)
                    elif event.type == "thinking":
                        await io.thinking(event.thinking)
                return await stream.get_final_message()
        except anthropic.APIStatusError as exc:
            raise AgentError(f"Anthropic API {exc.status_code}: {_message(exc)}") from None
        except anthropic.APIError as exc:
            raise AgentError(f"Anthropic API: {_message(exc)}") from None

    @staticmethod
    def _system(turn: StartedTurn) -> str:
        loop = turn.loop
        return (f'You are the agent of the loopat loop "{loop.title}" ({loop.id}) of {loop.created_by}. '
                "Answer the user's messages; use the tools when they help, and AskUserQuestion when you "
                "need the user to decide something.")


def _message(exc: anthropic.APIError) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict) and body["error"].get("message"):
        return str(body["error"]["message"])
    return str(getattr(exc, "message", "") or exc)
