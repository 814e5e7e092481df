"""What an agent talks to while it runs a turn: stream text and thinking, use a tool (asking
permission first where the mode says so), ask the user a question.

Everything goes to the turn log through the engine's writer. Deltas are buffered for at most
FLUSH_SECONDS and consecutive deltas of one kind are merged into one event, so a fast model
costs a handful of rows per second rather than one per token; choices and the end of the turn
flush at once. When the turn has ended elsewhere (an interrupt posted to any worker, the loop
archived, another process taking over) a write comes back refused and the agent gets
`TurnGone`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
import typing as t

from handlers.loopat import tools, turns
from handlers.loopat.tools import ToolResult
from handlers.loopat.turns import DELTA_EVENTS, TERMINAL_EVENTS, LogEvent, StartedTurn
from server.settings import Settings

FLUSH_SECONDS = 0.02
MAX_BUFFER = 200  # events; a bigger burst is written at once
Submit = t.Callable[..., t.Awaitable[t.Any]]
_ALPHABET = string.ascii_letters + string.digits


class TurnGone(Exception):
    """The turn is no longer running (interrupted, archived or taken over elsewhere)."""


def new_tool_use_id() -> str:
    """toolu_ + 24 base-62 characters, Anthropic's shape (one urandom call, not one per character)."""
    number, chars = int.from_bytes(secrets.token_bytes(18)), []
    for _ in range(24):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "toolu_" + "".join(chars)


class TurnControl:
    """What the runner learns from the log about its turn: answers to its choices and its end."""

    def __init__(self) -> None:
        self.ended = asyncio.Event()
        self.waiting: dict[str, asyncio.Future] = {}

    def saw(self, event: LogEvent) -> None:
        if event.name == "choice_resolved":
            future = self.waiting.get(json.loads(event.data)["choice_id"])
            if future is not None and not future.done():
                future.set_result(None)
        elif event.name in TERMINAL_EVENTS:
            self.ended.set()


class TurnIO:
    def __init__(self, turn: StartedTurn, submit: Submit, control: TurnControl, settings: Settings) -> None:
        self.turn = turn
        self.submit = submit  # runs a turns.* function in a write transaction, off the event loop
        self.control = control
        self.settings = settings
        self.reply: list[str] = []
        self._buffer: list[tuple[str, dict]] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task] = set()

    @property
    def permission_mode(self) -> str:
        return self.turn.permission_mode

    # ---------------------------------------------------------------- streaming

    async def text(self, delta: str) -> None:
        if delta:
            self.reply.append(delta)
            await self._emit("assistant_delta", {"text": delta})

    async def thinking(self, delta: str) -> None:
        if delta:
            await self._emit("thinking_delta", {"text": delta})

    # ---------------------------------------------------------------- tools and choices

    async def use_tool(self, name: str, tool_input: dict, tool_use_id: str | None = None) -> ToolResult:
        """tool_call, a permission choice when the mode asks for this tool, the tool, tool_result."""
        tool_use_id = tool_use_id or new_tool_use_id()
        call = {"tool_use_id": tool_use_id, "tool": name}
        summary = tools.input_summary(tool_input)
        if summary is not None:
            call["input_summary"] = summary
        await self._emit("tool_call", call)
        tool = tools.TOOLS.get(name)
        if tool is None:
            result = ToolResult(False, f"unknown tool {name}")
        elif tools.must_ask(tool, self.permission_mode):
            payload = {"tool": name, "title": tool.permission_title(tool_input), "display_name": tool.display_name}
            answer = await self._choose("permission", tool_use_id, payload,
                                        self.settings.loopat_permission_timeout_seconds)
            allowed = bool(answer and answer.get("allow"))
            result = await self._run(tool, tool_input) if allowed else ToolResult(
                False, f"The user did not allow {name}." if answer else f"No answer; {name} was denied.")
        else:
            result = await self._run(tool, tool_input)
        await self._emit("tool_result", {"tool_use_id": tool_use_id, "ok": result.ok})
        return result

    async def ask(self, questions: list[dict], tool_use_id: str | None = None) -> dict[str, str] | None:
        """Claude Code's AskUserQuestion as a `question` choice: the answers keyed by question
        text, or None when nobody answered in time."""
        tool_use_id = tool_use_id or new_tool_use_id()
        await self._emit("tool_call", {"tool_use_id": tool_use_id, "tool": tools.QUESTION_TOOL})
        answer = await self._choose("question", tool_use_id, {"questions": questions},
                                    self.settings.loopat_question_timeout_seconds)
        answers = answer.get("answers") if answer else None
        await self._emit("tool_result", {"tool_use_id": tool_use_id, "ok": answers is not None})
        return answers

    async def _run(self, tool: tools.Tool, tool_input: dict) -> ToolResult:
        try:
            return await tool.run(tool_input, self.turn.loop)
        except Exception as exc:  # a tool's failure is the tool's result, not the turn's
            return ToolResult(False, f"{tool.name} failed: {exc}")

    async def _choose(self, kind: str, tool_use_id: str, payload: dict, timeout: float) -> dict | None:
        choice_id = f"choice_{tool_use_id}"
        answered = asyncio.get_running_loop().create_future()
        self.control.waiting[choice_id] = answered  # before the choice exists: no answer is missed
        try:
            async with self._lock:
                batch = self._take()
                opened = await self.submit(turns.open_choice, self.turn.loop.id, self.turn.turn_id,
                                           choice_id, kind, payload, batch)
            if not opened:
                raise TurnGone
            try:
                await asyncio.wait_for(asyncio.shield(answered), timeout if timeout > 0 else None)
            except TimeoutError:
                if await self.submit(turns.expire_choice, choice_id):
                    return None
            return await self.submit(turns.choice_answer, choice_id)
        finally:
            self.control.waiting.pop(choice_id, None)

    # ---------------------------------------------------------------- the log

    async def flush(self) -> None:
        async with self._lock:
            batch = self._take()
            if batch and not await self.submit(turns.append, self.turn.loop.id, self.turn.turn_id, batch):
                raise TurnGone

    async def finish(self, state: str, error: dict | None = None) -> bool:
        """Write what is buffered and the terminal event; False when the turn had already ended."""
        terminal = ("error", error) if error else (state, {"turn_id": self.turn.turn_id})
        async with self._lock:
            batch = [*self._take(), terminal]
            return await self.submit(turns.append, self.turn.loop.id, self.turn.turn_id, batch,
                                     finish=state, assistant_text="".join(self.reply))

    async def _emit(self, name: str, data: dict) -> None:
        if self.control.ended.is_set():
            raise TurnGone
        self._buffer.append((name, data))
        if len(self._buffer) >= MAX_BUFFER:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._timed_flush)

    def _timed_flush(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self._flush_quietly())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _flush_quietly(self) -> None:
        try:
            await self.flush()
        except TurnGone:
            self.control.ended.set()

    def _take(self) -> list[tuple[str, dict]]:
        """The buffer, emptied, with runs of same-kind deltas merged into one event each."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        merged: list[tuple[str, dict]] = []
        for name, data in self._buffer:
            if merged and name in DELTA_EVENTS and merged[-1][0] == name:
                merged[-1] = (name, {"text": merged[-1][1]["text"] + data["text"]})
            else:
                merged.append((name, data))
        self._buffer = []
        return merged
