"""The embedded agent: deterministic, no network, and really useful for a few things.

It reads the message for what it can do, thinks out loud (thinking_delta), uses its tools
through the runtime (so permission choices work exactly as with a model), then streams its
answer word by word (assistant_delta, LOOPAT_LOCAL_DELTA_MS apart):

| the message contains                       | it does                                        |
|--------------------------------------------|------------------------------------------------|
| an arithmetic expression, "calculate ..."  | Calculator                                     |
| "time", "date", "clock", "today"           | Clock                                          |
| "loop info", "about this loop"             | LoopInfo                                       |
| "rename this loop to X", "set title to X"  | RenameLoop (asks permission in asking modes)   |
| "ask me", "quiz me"                        | asks how detailed to be (a question choice)    |
| "what did I say"                           | quotes the previous message of this loop       |

Anything else gets a short reply saying what it can do. `plan` is pure and unit-tested.
"""

from __future__ import annotations

import asyncio
import re
import typing as t
from dataclasses import dataclass, field

from handlers.loopat import calculator
from handlers.loopat.turns import StartedTurn
from server.settings import Settings

if t.TYPE_CHECKING:
    from handlers.loopat.turn_io import TurnIO

DETAIL_QUESTION = {
    "question": "How detailed should my answer be?",
    "header": "Detail",
    "options": [
        {"label": "Brief", "description": "One or two sentences"},
        {"label": "Detailed", "description": "Everything I found, with how I got it"},
    ],
    "multiSelect": False,
}
CAPABILITIES = ('I can calculate ("what is 2^10"), tell the time ("what time is it"), describe this loop '
                '("loop info"), rename it ("rename this loop to Plans") or ask you a question ("ask me").')

_RENAME = re.compile(r"\b(?:rename|retitle)\b(?:\s+(?:this|the)\s+loop)?(?:\s+(?:to|as))?\s+(?P<title>.+)$"
                     r"|\bset\s+(?:the\s+)?title\s+to\s+(?P<title2>.+)$", re.I | re.M)
_CALC_PREFIX = re.compile(r"\b(?:calculate|compute|evaluate|what(?:'s| is)|how much is)\s+(?P<expr>[^?!\n]+)", re.I)
_EXPRESSION = re.compile(r"[-+(.\d][\d\s.,()+\-*/%^]*(?:\*\*|//|[-+*/%^])[\d\s.,()+\-*/%^]*[\d)]")
_TIME = re.compile(r"\b(?:time|date|clock|today|what day)\b", re.I)
_INFO = re.compile(r"\b(?:loop info|about (?:this|the) loop|which loop|what loop)\b", re.I)
_ASK = re.compile(r"\b(?:ask me|quiz me)\b", re.I)
_RECALL = re.compile(r"\bwhat did i (?:say|ask|write)\b", re.I)
_WORD = re.compile(r"\S+\s*|\s+")


@dataclass
class Step:
    tool: str  # a tools.TOOLS name, or "ask"
    input: dict = field(default_factory=dict)


@dataclass
class Plan:
    steps: list[Step]
    recall: bool = False
    thinking: str = ""


def plan(content: str) -> Plan:
    """What the local agent will do for `content` (pure; deterministic)."""
    steps: list[Step] = []
    rename = _RENAME.search(content)
    if rename:
        title = (rename.group("title") or rename.group("title2") or "").strip().strip("\"'“”").strip()
        if title:
            steps.append(Step("RenameLoop", {"title": title[:200]}))
    expression = _expression(content if not rename else content[: rename.start()])
    if expression:
        steps.append(Step("Calculator", {"expression": expression}))
    if _TIME.search(content):
        steps.append(Step("Clock"))
    if _INFO.search(content):
        steps.append(Step("LoopInfo"))
    if _ASK.search(content):
        steps.insert(0, Step("ask", {"questions": [DETAIL_QUESTION]}))
    recall = bool(_RECALL.search(content))
    tools_used = [s.tool for s in steps if s.tool != "ask"]
    if steps or recall:
        wants = ", ".join(tools_used) if tools_used else "no tool"
        thinking = (f"The message asks for {len(steps) + recall} thing(s). "
                    f"{'First I will ask how detailed to be. ' if _ASK.search(content) else ''}"
                    f"Tools: {wants}.")
    else:
        thinking = "Nothing here needs a tool; I will say what I can do."
    return Plan(steps, recall, thinking)


def _expression(text: str) -> str | None:
    """The arithmetic the message asks about: after "calculate"/"what is", or any span that
    looks like arithmetic and evaluates."""
    candidates = []
    prefixed = _CALC_PREFIX.search(text)
    if prefixed:  # the longest run of words after "calculate" that is arithmetic
        words = prefixed.group("expr").split()
        candidates += [" ".join(words[:n]).rstrip(",.;:= ") for n in range(len(words), 0, -1)]
    candidates += [m.group(0).strip() for m in _EXPRESSION.finditer(text)]
    for candidate in candidates:
        try:
            calculator.evaluate(candidate)
        except calculator.CalcError:
            continue
        return candidate
    return None


class LocalAgent:
    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.pause = max(0, settings.loopat_local_delta_ms) / 1000

    async def run(self, turn: StartedTurn, io: TurnIO) -> None:
        todo = plan(turn.content)
        await self._stream(io.thinking, todo.thinking)
        detailed = False
        lines: list[str] = []
        for step in todo.steps:
            if step.tool == "ask":
                await self._stream(io.text, "Before I answer, one question. ")
                answers = await io.ask(step.input["questions"])
                choice = (answers or {}).get(DETAIL_QUESTION["question"]) or (answers or {}).get("Detail")
                detailed = choice == "Detailed"
                lines.append(f'You chose "{choice}".' if choice else "No answer came, so I will be brief.")
                continue
            result = await io.use_tool(step.tool, step.input)
            lines.append(_sentence(step, result.ok, result.output, detailed))
        if todo.recall:
            lines.append(f'Earlier you said: "{_snippet(turn.history[-1][0])}"' if turn.history
                         else "This is the first message of this loop.")
        if not lines:
            lines.append(f'You said: "{_snippet(turn.content)}". {CAPABILITIES}')
        elif detailed:
            lines.append(f"(Turn {turn.loop.turn_count} of loop {turn.loop.id}, answered by the local agent.)")
        await self._stream(io.text, " ".join(lines))

    async def _stream(self, sink: t.Callable[[str], t.Awaitable[None]], text: str) -> None:
        for word in _WORD.findall(text):
            await sink(word)
            if self.pause:
                await asyncio.sleep(self.pause)


def _sentence(step: Step, ok: bool, output: str, detailed: bool) -> str:
    if step.tool == "Calculator":
        if not ok:
            return f"I could not work that out: {output}."
        how = " (exact arithmetic, by the Calculator tool)" if detailed else ""
        return f"{step.input['expression']} = {output}{how}."
    if step.tool == "Clock":
        return f"It is {output}."
    if step.tool == "RenameLoop":
        return output if ok else f"I left the title as it is: {output}"
    return output


def _snippet(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
