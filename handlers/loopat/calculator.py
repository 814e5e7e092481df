"""A safe arithmetic evaluator for the Calculator tool: a small recursive-descent parser over
exact rationals (no eval, no names beyond a fixed few, bounded size and depth).

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/" | "//" | "%") unary)*
    unary      := ("+" | "-") unary | power            so -2^2 is -4, as in Python
    power      := atom (("^" | "**") unary)?           right-associative: 2^3^2 is 2^9
    atom       := number | constant | function "(" expression ")" | "(" expression ")"

Numbers are decimals (`12`, `0.5`, `.5`, `1e3`) and `,` may group thousands (`1,000`);
constants are `pi` and `e`; functions `sqrt`, `abs`, `round`. Results are exact where they
can be (0.1 + 0.2 is 0.3); irrational results are floats.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

MAX_LENGTH = 500
MAX_DEPTH = 64
MAX_DIGITS = 1000  # no integer part longer than this, so `9^9^9` cannot eat the CPU
_NUMBER = r"\d[\d,]*(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?"
_TOKEN = re.compile(rf"\s*(?:({_NUMBER})|(\*\*|//|[-+*/%^()])|([a-z]+))", re.I)
_FUNCTIONS = {"sqrt", "abs", "round"}
_CONSTANTS = {"pi": math.pi, "e": math.e}
Number = Fraction | float


class CalcError(ValueError):
    """The text is not an arithmetic expression this evaluator accepts, or has no value."""


def evaluate(text: str) -> Number:
    if len(text) > MAX_LENGTH:
        raise CalcError(f"expression longer than {MAX_LENGTH} characters")
    parser = _Parser(_tokens(text))
    value = parser.expression(0)
    if parser.peek() is not None:
        raise CalcError(f"unexpected {parser.peek()!r}")
    return value


def format_number(value: Number) -> str:
    """Integers in full, other rationals as decimals (up to 12 significant digits)."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return str(value.numerator)
    number = float(value)
    if math.isinf(number) or math.isnan(number):
        raise CalcError("the result is not a finite number")
    return f"{number:.12g}"


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if not match or match.end() == position:
            raise CalcError(f"unexpected character {stripped[position:].lstrip()[:1]!r}")
        number, operator, word = match.groups()
        if number is not None:
            if "," in number and not re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?", number):
                raise CalcError(f"badly grouped number {number!r}")
            tokens.append(number.replace(",", ""))
        else:
            tokens.append(operator if operator is not None else word.lower())
        position = match.end()
    if not tokens:
        raise CalcError("empty expression")
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise CalcError("the expression ends too early")
        self.index += 1
        return token

    def expect(self, token: str) -> None:
        if self.take() != token:
            raise CalcError(f"expected {token!r}")

    def expression(self, depth: int) -> Number:
        if depth > MAX_DEPTH:
            raise CalcError("expression nested too deeply")
        value = self.term(depth)
        while self.peek() in ("+", "-"):
            value = _check(value + self.term(depth) if self.take() == "+" else value - self.term(depth))
        return value

    def term(self, depth: int) -> Number:
        value = self.unary(depth)
        while self.peek() in ("*", "/", "//", "%"):
            operator = self.take()
            right = self.unary(depth)
            if operator == "*":
                value = _check(value * right)
                continue
            if right == 0:
                raise CalcError("division by zero")
            if operator == "/":
                value = value / right
            elif operator == "//":
                value = Fraction(math.floor(value / right))
            else:
                value = value % right
        return value

    def power(self, depth: int) -> Number:
        base = self.atom(depth)
        if self.peek() in ("^", "**"):
            self.take()
            return _power(base, self.unary(depth + 1))
        return base

    def unary(self, depth: int) -> Number:
        if self.peek() in ("+", "-"):
            sign = self.take()
            if depth > MAX_DEPTH:
                raise CalcError("expression nested too deeply")
            value = self.unary(depth + 1)
            return -value if sign == "-" else value
        return self.power(depth)

    def atom(self, depth: int) -> Number:
        token = self.take()
        if token == "(":
            value = self.expression(depth + 1)
            self.expect(")")
            return value
        if token in _CONSTANTS:
            return _CONSTANTS[token]
        if token in _FUNCTIONS:
            self.expect("(")
            argument = self.expression(depth + 1)
            self.expect(")")
            return _call(token, argument)
        if token[0].isdigit() or token[0] == ".":
            return Fraction(token)
        raise CalcError(f"unexpected {token!r}")


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(exponent, Fraction) and exponent.denominator == 1 and isinstance(base, Fraction):
        if base == 0 and exponent < 0:
            raise CalcError("division by zero")
        size = abs(exponent.numerator) * max(1, len(str(abs(base.numerator))), len(str(base.denominator)))
        if base not in (0, 1, -1) and size > MAX_DIGITS:
            raise CalcError("the result is too large")
        return base ** exponent.numerator
    if base < 0:
        raise CalcError("a negative number has no real fractional power")
    try:
        return _check(float(base) ** float(exponent))
    except OverflowError:
        raise CalcError("the result is too large") from None


def _call(name: str, argument: Number) -> Number:
    if name == "abs":
        return abs(argument)
    if name == "round":
        return Fraction(round(argument))
    if argument < 0:
        raise CalcError("sqrt of a negative number")
    if isinstance(argument, Fraction):
        root = math.isqrt(argument.numerator), math.isqrt(argument.denominator)
        if root[0] ** 2 == argument.numerator and root[1] ** 2 == argument.denominator:
            return Fraction(*root)
    return math.sqrt(argument)


def _check(value: Number) -> Number:
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        raise CalcError("the result is not a finite number")
    if isinstance(value, Fraction) and len(str(abs(value.numerator))) > MAX_DIGITS:
        raise CalcError("the result is too large")
    return value
