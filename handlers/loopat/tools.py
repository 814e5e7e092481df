"""The built-in tools both agents may call, and which of them need the user's permission.

Safe tools (never asked about): Clock, Calculator, LoopInfo. RenameLoop changes the loop, so
in the permission modes that ask (default, plan, acceptEdits for non-edit tools; session.ts)
the runtime asks through `requires_choice` first. AskUserQuestion is not a tool here: the
runtime turns it into a `question` choice (handlers/loopat/turn_io.py).

LoopInfo shows the loop's own record but never its `metadata`: the spec says the caller's
metadata is not visible to the agent.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

import anyio

from handlers.loopat import calculator, turns
from handlers.loopat.turns import LoopView
from storage.loopat import Loop

ASKING_MODES = ("default", "plan", "acceptEdits")
QUESTION_TOOL = "AskUserQuestion"
QUESTION_SCHEMA = {
    "type": "object",
    "required": ["questions"],
    "properties": {
        "questions": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["question", "options"],
                "properties": {
                    "question": {"type": "string"},
                    "header": {"type": "string"},
                    "options": {
                        "type": "array",
                        "items": {"type": "object", "required": ["label"],
                                  "properties": {"label": {"type": "string"}, "description": {"type": "string"}}},
                    },
                    "multiSelect": {"type": "boolean"},
                },
            },
        }
    },
}
QUESTION_DESCRIPTION = ("Ask the user one or more multiple-choice questions and wait for the answers "
                        "(keyed by question text).")


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    output: str  # what the model reads back


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_schema: dict
    run: t.Callable[[dict, LoopView], t.Awaitable[ToolResult]]
    needs_permission: bool = False
    edits: bool = False  # acceptEdits auto-allows edit tools
    display_name: str = ""

    def permission_title(self, tool_input: dict) -> str:
        if self.name == "RenameLoop":
            return f'Rename this loop to "{tool_input.get("title", "")}"'
        return f"Claude wants to use {self.name}"


def must_ask(tool: Tool, permission_mode: str) -> bool:
    """Whether using `tool` in `permission_mode` needs a permission choice first."""
    if not tool.needs_permission or permission_mode not in ASKING_MODES:
        return False
    return not (permission_mode == "acceptEdits" and tool.edits)


async def _clock(tool_input: dict, loop: LoopView) -> ToolResult:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return ToolResult(True, f"{now.isoformat().replace('+00:00', 'Z')} ({now:%A}, UTC)")


async def _calculate(tool_input: dict, loop: LoopView) -> ToolResult:
    expression = str(tool_input.get("expression", ""))
    try:
        return ToolResult(True, calculator.format_number(calculator.evaluate(expression)))
    except calculator.CalcError as exc:
        return ToolResult(False, f"cannot evaluate {expression!r}: {exc}")


async def _loop_info(tool_input: dict, loop: LoopView) -> ToolResult:
    profiles = ", ".join(loop.profiles) or "none"
    return ToolResult(True, (f'Loop {loop.id} "{loop.title}", created {loop.created_at} by {loop.created_by}; '
                             f"vault {loop.vault}; profiles {profiles}; repo {loop.repo or 'none'}; "
                             f"this is turn {loop.turn_count}."))


async def _rename(tool_input: dict, loop: LoopView) -> ToolResult:
    title = str(tool_input.get("title", "")).strip()
    if not title or len(title) > 200:
        return ToolResult(False, "a title must be 1-200 characters")
    update = Loop.update(title=title).where(Loop.id == loop.id)
    await anyio.to_thread.run_sync(turns.write, update.execute)
    return ToolResult(True, f'Renamed the loop to "{title}".')


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool("Clock", "The current date and time (UTC).", {"type": "object", "properties": {}}, _clock,
             display_name="Clock"),
        Tool("Calculator", "Evaluate an arithmetic expression: + - * / // % ^, parentheses, sqrt, abs, round, pi, e.",
             {"type": "object", "required": ["expression"], "properties": {"expression": {"type": "string"}}},
             _calculate, display_name="Calculator"),
        Tool("LoopInfo", "Facts about this loop: id, title, creation, vault, profiles, repo, turn number.",
             {"type": "object", "properties": {}}, _loop_info, display_name="Loop info"),
        Tool("RenameLoop", "Change this loop's title.",
             {"type": "object", "required": ["title"], "properties": {"title": {"type": "string", "maxLength": 200}}},
             _rename, needs_permission=True, edits=True, display_name="Rename loop"),
    )
}


def input_summary(tool_input: dict) -> str | None:
    """Upstream's tool_call summary: the first of these keys the input has."""
    for key in ("command", "file_path", "path", "query", "url"):
        value = tool_input.get(key)
        if isinstance(value, str):
            return value
    return None
