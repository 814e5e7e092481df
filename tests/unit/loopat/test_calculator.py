"""The Calculator tool's evaluator: exact arithmetic, precedence, and refusing anything else."""

from __future__ import annotations

import pytest

from handlers.loopat.calculator import CalcError, evaluate, format_number


@pytest.mark.parametrize(("text", "expected"), [
    ("2+3*4", "14"),
    ("(2+3)*4", "20"),
    ("0.1 + 0.2", "0.3"),  # exact rationals, not binary floats
    ("10/4", "2.5"),
    ("1/3", "0.333333333333"),
    ("7 // 2", "3"),
    ("-7 // 2", "-4"),
    ("7 % 3", "1"),
    ("2^10", "1024"),
    ("2**3**2", "512"),  # right-associative
    ("-2^2", "-4"),  # unary minus binds looser than ^, as in Python
    ("2^-1", "0.5"),
    ("(-2)^2", "4"),
    ("--3", "3"),
    ("sqrt(16)", "4"),
    ("sqrt(1/4)", "0.5"),
    ("sqrt(2)", "1.41421356237"),
    ("abs(-3.5)", "3.5"),
    ("round(2.6)", "3"),
    ("pi * 2", "6.28318530718"),
    ("1,000 * 3", "3000"),
    ("1e3 / 4", "250"),
    (".5 + .5", "1"),
    ("  42  ", "42"),
])
def test_evaluates(text, expected):
    assert format_number(evaluate(text)) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"),
    ("1/0", "division by zero"),
    ("5 // 0", "division by zero"),
    ("0^-1", "division by zero"),
    ("2+", "ends too early"),
    ("(1+2", "ends too early"),
    ("(1+2]", r"unexpected character '\]'"),
    ("1+2)", r"unexpected '\)'"),
    ("abc", "unexpected 'abc'"),
    ("__import__('os')", "unexpected character"),
    ("2 3", "unexpected '3'"),
    ("1,00", "badly grouped"),
    ("(-8)^0.5", "no real fractional power"),
    ("sqrt(-1)", "negative"),
    ("9^9^9", "too large"),
    ("10^400 * 10^700", "too large"),
    ("(" * 100 + "1" + ")" * 100, "nested too deeply"),
    ("-" * 100 + "1", "nested too deeply"),
    ("1" * 501, "longer than"),
    ("10.5^1000", "too large"),
])
def test_refuses(text, reason):
    with pytest.raises(CalcError, match=reason):
        format_number(evaluate(text))
