"""What the local agent decides to do for a message (pure planning, no server)."""

from __future__ import annotations

import pytest

from handlers.loopat.local_agent import DETAIL_QUESTION, plan


def _tools(content: str) -> list[tuple[str, dict]]:
    return [(s.tool, s.input) for s in plan(content).steps]


@pytest.mark.parametrize(("content", "expected"), [
    ("what is 2+2?", [("Calculator", {"expression": "2+2"})]),
    ("Calculate sqrt(16) * 3, please", [("Calculator", {"expression": "sqrt(16) * 3"})]),
    ("what's 2^10 in total?", [("Calculator", {"expression": "2^10"})]),
    ("I have (12.5 + 7.5) / 4 apples", [("Calculator", {"expression": "(12.5 + 7.5) / 4"})]),
    ("what time is it", [("Clock", {})]),
    ("tell me about this loop", [("LoopInfo", {})]),
    ('rename this loop to "Q3 plans"', [("RenameLoop", {"title": "Q3 plans"})]),
    ("set the title to Launch", [("RenameLoop", {"title": "Launch"})]),
    ("hello there", []),
    ("what is love", []),  # not arithmetic
])
def test_plans(content, expected):
    assert _tools(content) == expected


def test_asking_comes_first_then_the_tools():
    steps = _tools("ask me something, then what is 6*7 and what's the date")
    assert steps == [("ask", {"questions": [DETAIL_QUESTION]}), ("Calculator", {"expression": "6*7"}), ("Clock", {})]
    assert "ask how detailed" in plan("ask me").thinking


def test_a_rename_title_is_not_read_as_arithmetic():
    assert _tools("rename this loop to 2024-01 review") == [("RenameLoop", {"title": "2024-01 review"})]


def test_recall_and_nothing_to_do():
    assert plan("what did I say before?").recall is True
    quiet = plan("good morning")
    assert quiet.steps == [] and not quiet.recall and "Nothing here needs a tool" in quiet.thinking


def test_plans_are_deterministic():
    text = "ask me, then compute 3^4 and rename the loop to Powers"
    assert plan(text) == plan(text)
