"""`Condition`: a parsed, compiled condition usable as a pydantic field type."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from sentinai.core.conditions.ast import (
    BoolOp,
    Compare,
    Literal,
    Matches,
    Node,
    Not,
    Path,
    to_source,
)
from sentinai.core.conditions.compiler import Env, Predicate, compile_predicate
from sentinai.core.conditions.errors import ConditionSyntaxError
from sentinai.core.conditions.parser import MAX_CONDITION_LENGTH, parse
from sentinai.core.conditions.regex import program_size


def _total(node: Node, of: Callable[[Node], int]) -> int:
    """``of`` summed over ``node`` and every node under it (``of`` counts one node itself)."""
    if isinstance(node, Not):
        below = _total(node.operand, of)
    elif isinstance(node, BoolOp):
        below = sum(_total(operand, of) for operand in node.operands)
    elif isinstance(node, Compare):
        below = _total(node.left, of) + _total(node.right, of)
    elif isinstance(node, Matches):
        below = _total(node.left, of)
    else:
        below = 0
    return of(node) + below


def _pattern_size(node: Node) -> int:
    return program_size(node.regex) if isinstance(node, Matches) else 0


def _comparison(node: Node) -> int:
    return int(isinstance(node, Compare))


def _deep_comparison(node: Node) -> int:
    return int(isinstance(node, Compare) and _deep(node))


def _scalars(node: Node) -> bool:
    return (isinstance(node, Literal) and isinstance(node.value, tuple)
            and not any(isinstance(item, tuple) for item in node.value))


def _deep(node: Compare) -> bool:
    """Whether the comparison may walk lists on both sides (up to MAX_COMPARED_ELEMENTS elements,
    in Python): both sides are values of the exception or list literals, except a membership in a
    list of scalar literals (a C-level search)."""
    sides = (node.left, node.right)
    if node.op in ("<", "<=", ">", ">="):  # numbers or strings of bounded length only
        return False
    if not all(isinstance(side, Path) or isinstance(side, Literal) and isinstance(side.value, tuple)
               for side in sides):
        return False
    if node.op in ("in", "not in") and _scalars(node.right):
        return False
    return not (node.op == "contains" and _scalars(node.left))


class Condition:
    """A condition parsed and compiled once; call it with an environment mapping."""

    __slots__ = ("source", "node", "_test", "__weakref__")

    def __init__(self, source: str) -> None:
        self.source = source
        self.node: Node = parse(source)
        self._test: Predicate = compile_predicate(self.node)

    def __call__(self, env: Env) -> bool:
        return self._test(env)

    @property
    def program_size(self) -> int:
        """RE2 instructions of its `matches` patterns (a pack's total is bounded)."""
        return _total(self.node, _pattern_size)

    @property
    def comparisons(self) -> int:
        """Its `== != < <= > >= in not in contains` terms (a pack's total is bounded)."""
        return _total(self.node, _comparison)

    @property
    def deep_comparisons(self) -> int:
        """Its comparisons between two values of the exception or list literals (`payload.a ==
        payload.b`, `payload.id in payload.ids`, `payload.l == [1, 2]`), which may walk lists in
        Python; a membership in a list of scalar literals is not one."""
        return _total(self.node, _deep_comparison)

    def __str__(self) -> str:
        return to_source(self.node)

    def __repr__(self) -> str:
        return f"Condition({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and self.node == other.node

    def __hash__(self) -> int:
        return hash(self.node)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda condition: condition.source
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_CONDITION_LENGTH,
            "description": "A condition expression (see docs/conditions.md).",
        }


_shared: weakref.WeakValueDictionary[str, Condition] = weakref.WeakValueDictionary()
_shared_lock = threading.Lock()


def compile_condition(source: str) -> Condition:
    """Shared compiled instance per source text (packs repeat conditions across tenants).

    The cache holds a condition only while a loaded pack does: replacing a pack gives back
    the memory of the conditions only it used. Packs are compiled in worker threads, hence
    the lock.
    """
    with _shared_lock:
        condition = _shared.get(source)
    if condition is None:
        condition = Condition(source)
        with _shared_lock:
            condition = _shared.setdefault(source, condition)
    return condition


def _validate(value: Any) -> Condition:
    if isinstance(value, Condition):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "condition_type", "a condition must be a string, got {kind}", {"kind": type(value).__name__}
        )
    try:
        return compile_condition(value)
    except ConditionSyntaxError as error:
        raise PydanticCustomError(
            "condition_syntax",
            "condition syntax error at column {column}: {reason}",
            {"column": error.column, "reason": error.reason},
        ) from None
