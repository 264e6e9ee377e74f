"""Turns a syntax tree into nested closures, so evaluation never walks the tree.

Evaluation is total: a missing path is null, a comparison between values of different
kinds is false, and nothing here raises for any JSON-like input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sentinai.core.conditions.ast import BoolOp, Compare, Literal, Matches, Node, Not, Path
from sentinai.core.conditions.regex import MAX_SUBJECT_CHARS

Env = Mapping[str, Any]
Getter = Callable[[Env], Any]
Predicate = Callable[[Env], bool]


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: booleans are not numbers, lists compare element-wise."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    return type(a) is type(b) and a == b


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ordered(op: str) -> Callable[[Any, Any], bool]:
    compare: Callable[[Any, Any], bool] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }[op]

    def ordered(a: Any, b: Any) -> bool:
        if _is_number(a) and _is_number(b):
            return compare(a, b)
        if isinstance(a, str) and isinstance(b, str):
            return compare(a, b)
        return False

    return ordered


def member(item: Any, container: Any) -> bool:
    """`item in container`: list element, substring, or object key."""
    if isinstance(container, list | tuple):
        return any(json_equal(item, element) for element in container)
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, dict):
        return isinstance(item, str) and item in container
    return False


def _relation(op: str) -> Callable[[Any, Any], bool]:
    if op == "==":
        return json_equal
    if op == "!=":
        return lambda a, b: not json_equal(a, b)
    if op == "in":
        return member
    if op == "not in":
        return lambda a, b: not member(a, b)
    if op == "contains":
        return lambda a, b: member(b, a)
    return _ordered(op)


def _step(value: Any, key: str, index: int | None) -> Any:
    if isinstance(value, dict):
        return value.get(key)
    if index is not None and isinstance(value, list) and index < len(value):
        return value[index]
    return None


def _path_getter(segments: tuple[str, ...]) -> Getter:
    head = segments[0]
    rest = tuple((s, int(s) if s.isdigit() else None) for s in segments[1:])
    if not rest:
        return lambda env: env.get(head)
    if len(rest) == 1:
        key, index = rest[0]

        def get_two(env: Env) -> Any:
            value = env.get(head)
            if type(value) is dict:
                return value.get(key)
            return _step(value, key, index)

        return get_two

    def get_many(env: Env) -> Any:
        value = env.get(head)
        for key, index in rest:
            value = _step(value, key, index)
            if value is None:
                return None
        return value

    return get_many


def _value(node: Node) -> Getter:
    if isinstance(node, Literal):
        constant = node.value
        return lambda env: constant
    if isinstance(node, Path):
        return _path_getter(node.segments)
    return compile_predicate(node)


def _string_membership(getter: Getter, values: frozenset[str], negate: bool) -> Predicate:
    if negate:
        return lambda env: not (isinstance(v := getter(env), str) and v in values)
    return lambda env: isinstance(v := getter(env), str) and v in values


def _compare(node: Compare) -> Predicate:
    left = _value(node.left)
    right_node = node.right
    if isinstance(right_node, Literal):
        constant = right_node.value
        if node.op in ("==", "!=") and isinstance(constant, str):
            if node.op == "==":
                return lambda env: left(env) == constant
            return lambda env: left(env) != constant
        if (
            node.op in ("in", "not in")
            and isinstance(constant, tuple)
            and all(isinstance(item, str) for item in constant)
        ):
            strings = frozenset(item for item in constant if isinstance(item, str))
            return _string_membership(left, strings, node.op == "not in")
        relation = _relation(node.op)
        return lambda env: relation(left(env), constant)
    right = _value(right_node)
    relation = _relation(node.op)
    return lambda env: relation(left(env), right(env))


def compile_predicate(node: Node) -> Predicate:
    """A function env -> bool; a bare value counts as true only when it is `true`."""
    if isinstance(node, BoolOp):
        parts = tuple(compile_predicate(operand) for operand in node.operands)
        if node.op == "&&":
            if len(parts) == 2:
                first, second = parts
                return lambda env: first(env) and second(env)
            return lambda env: all(part(env) for part in parts)
        if len(parts) == 2:
            first, second = parts
            return lambda env: first(env) or second(env)
        return lambda env: any(part(env) for part in parts)
    if isinstance(node, Not):
        inner = compile_predicate(node.operand)
        return lambda env: not inner(env)
    if isinstance(node, Compare):
        return _compare(node)
    if isinstance(node, Matches):
        left = _value(node.left)
        search = node.regex.search
        return lambda env: (isinstance(v := left(env), str) and len(v) <= MAX_SUBJECT_CHARS
                            and search(v) is not None)
    getter = _value(node)
    return lambda env: getter(env) is True
