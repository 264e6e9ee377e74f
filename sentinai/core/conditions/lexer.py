"""Tokenizer of the condition language."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sentinai.core.conditions.errors import ConditionSyntaxError

KEYWORDS = frozenset({"true", "false", "null", "in", "not", "contains", "matches"})
_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ",")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+))*")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


@dataclass(frozen=True, slots=True)
class Token:
    """kind is one of: number, string, path, keyword, op, end."""

    kind: str
    value: object
    position: int
    text: str


def _string(source: str, start: int) -> tuple[str, int]:
    quote_char = source[start]
    chars: list[str] = []
    i = start + 1
    while i < len(source):
        char = source[i]
        if char == quote_char:
            return "".join(chars), i + 1
        if char == "\\":
            escaped = source[i + 1 : i + 2]
            if escaped not in _ESCAPES:
                raise ConditionSyntaxError(f"unknown escape '\\{escaped}' in string", i, source)
            chars.append(_ESCAPES[escaped])
            i += 2
            continue
        chars.append(char)
        i += 1
    raise ConditionSyntaxError("unterminated string", start, source)


def _number(text: str, position: int, source: str) -> int | float:
    if any(c in text for c in ".eE"):
        value = float(text)
        if math.isinf(value):
            raise ConditionSyntaxError(f"number {text} is out of range", position, source)
        return value
    return int(text)


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    length = len(source)
    while i < length:
        char = source[i]
        if char.isspace():
            i += 1
            continue
        if char in "'\"":
            value, end = _string(source, i)
            tokens.append(Token("string", value, i, source[i:end]))
            i = end
            continue
        number = _NUMBER.match(source, i)
        if number:
            text = number.group()
            tokens.append(Token("number", _number(text, i, source), i, text))
            i = number.end()
            continue
        path = _PATH.match(source, i)
        if path:
            text = path.group()
            kind = "keyword" if text in KEYWORDS else "path"
            tokens.append(Token(kind, text, i, text))
            i = path.end()
            continue
        operator = next((op for op in _OPERATORS if source.startswith(op, i)), None)
        if operator is None:
            hint = " (use '==' to compare)" if char == "=" else ""
            raise ConditionSyntaxError(f"unexpected character {char!r}{hint}", i, source)
        tokens.append(Token("op", operator, i, operator))
        i += len(operator)
    tokens.append(Token("end", None, length, "end of condition"))
    return tokens
