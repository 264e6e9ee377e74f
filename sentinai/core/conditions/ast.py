"""Syntax tree of the condition language and its canonical printer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sentinai.core.conditions.regex import Regex

LiteralValue = None | bool | int | float | str | tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant; lists are stored as tuples of literal values."""

    value: LiteralValue


@dataclass(frozen=True, slots=True)
class Path:
    """A dotted path into the exception, e.g. `payload.legs.0.amount`."""

    segments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class BoolOp:
    """`&&` or `||` over two or more operands."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    """A binary comparison: `== != < <= > >= in` `not in` `contains`."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Matches:
    """`left matches 'regex'`; the pattern is compiled once, by the parser."""

    left: Node
    pattern: str
    regex: Regex = field(compare=False, repr=False)


Node = Literal | Path | Not | BoolOp | Compare | Matches

_PRECEDENCE = {"||": 1, "&&": 2}
_NOT_PRECEDENCE = 3
_COMPARE_PRECEDENCE = 4
_ATOM_PRECEDENCE = 5


def _precedence(node: Node) -> int:
    if isinstance(node, BoolOp):
        return _PRECEDENCE[node.op]
    if isinstance(node, Not):
        return _NOT_PRECEDENCE
    if isinstance(node, Compare | Matches):
        return _COMPARE_PRECEDENCE
    return _ATOM_PRECEDENCE


def _wrapped(node: Node, above: int) -> str:
    text = to_source(node)
    return f"({text})" if _precedence(node) <= above else text


def quote(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    return f"'{escaped}'"


def literal_source(value: LiteralValue) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return quote(value)
    return "[" + ", ".join(literal_source(item) for item in value) + "]"


def roots(node: Node) -> frozenset[str]:
    """The roots the condition's paths start at, e.g. ``{"payload", "sla"}``."""
    if isinstance(node, Path):
        return frozenset(node.segments[:1])
    if isinstance(node, Not):
        return roots(node.operand)
    if isinstance(node, BoolOp):
        return frozenset().union(*(roots(operand) for operand in node.operands))
    if isinstance(node, Compare):
        return roots(node.left) | roots(node.right)
    if isinstance(node, Matches):
        return roots(node.left)
    return frozenset()


def to_source(node: Node) -> str:
    """Canonical text of a tree; parsing it gives back an equal tree."""
    if isinstance(node, Literal):
        return literal_source(node.value)
    if isinstance(node, Path):
        return ".".join(node.segments)
    if isinstance(node, Not):
        if isinstance(node.operand, Not):
            return "!" + to_source(node.operand)
        # `!a == b` already means `!(a == b)`; the parentheses are for the reader.
        return "!" + _wrapped(node.operand, _COMPARE_PRECEDENCE)
    if isinstance(node, BoolOp):
        own = _PRECEDENCE[node.op]
        return f" {node.op} ".join(_wrapped(operand, own) for operand in node.operands)
    if isinstance(node, Compare):
        left = _wrapped(node.left, _COMPARE_PRECEDENCE)
        right = _wrapped(node.right, _COMPARE_PRECEDENCE)
        return f"{left} {node.op} {right}"
    return f"{_wrapped(node.left, _COMPARE_PRECEDENCE)} matches {quote(node.pattern)}"
