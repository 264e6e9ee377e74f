"""Turns a syntax tree into nested closures, so evaluation never walks the tree.

Evaluation is total: a missing path is null, a comparison between values of different
kinds is false, and nothing here raises for any JSON-like input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import compress, repeat
from operator import is_, is_not
from typing import Any

from sentinai.core.conditions.ast import BoolOp, Compare, Literal, Matches, Node, Not, Path
from sentinai.core.conditions.regex import MAX_SUBJECT_CHARS

Env = Mapping[str, Any]
Getter = Callable[[Env], Any]
Predicate = Callable[[Env], bool]


MAX_COMPARED_ELEMENTS = 1_000
"""The most list elements and object entries one comparison looks at, nested ones counted. A
list or object comparison that would look at more is false (`!=` and `not in`, their negations,
are true): a tenant's `0.5 in payload.l` on a list of 120,000 numbers cost 50 ms per term, on the
worker every tenant shares."""

MAX_COMPARED_CHARS = MAX_SUBJECT_CHARS
"""A string longer than this (the same limit as `matches`) compares false with everything: it
equals, contains, orders and matches nothing."""


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: booleans are not numbers, lists compare element-wise.

    At most `MAX_COMPARED_ELEMENTS` elements are looked at, and no string longer than
    `MAX_COMPARED_CHARS`: past either, the values are not equal.
    """
    return _equal(a, b, [MAX_COMPARED_ELEMENTS])


def _equal(a: Any, b: Any, budget: list[int]) -> bool:
    """`budget[0]`: elements still to look at, shared by the whole comparison."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, str):
        return type(b) is str and len(a) <= MAX_COMPARED_CHARS and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return False
        budget[0] -= len(a)
        if budget[0] < 0:
            return False
        for x, y in zip(a, b, strict=True):
            if not (x is y and type(x) is not float or _equal(x, y, budget)):
                return False
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        if len(a) != len(b):
            return False
        budget[0] -= len(a)
        if budget[0] < 0 or a.keys() != b.keys():
            return False
        for k, v in a.items():
            if not _equal(v, b[k], budget):
                return False
        return True
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
            return len(a) <= MAX_COMPARED_CHARS and len(b) <= MAX_COMPARED_CHARS and compare(a, b)
        return False

    return ordered


_SEQUENCES = frozenset({list, tuple})


def _element_equal(item: Any, element: Any, budget: list[int]) -> bool:
    """One element of a membership test: it counts toward the elements looked at too."""
    budget[0] -= 1
    return budget[0] >= 0 and _equal(item, element, budget)


def member(item: Any, container: Any) -> bool:
    """`item in container`: list element, substring, or object key.

    False, without looking, for a list of more than `MAX_COMPARED_ELEMENTS` elements or a string
    longer than `MAX_COMPARED_CHARS`; an object's key is a look-up, whatever its size.
    """
    if isinstance(container, list | tuple):
        if len(container) > MAX_COMPARED_ELEMENTS:
            return False
        if isinstance(item, str):
            # a string equals, in JSON and in Python alike, only an equal string: the list's own
            # (C) search is exact, and an element as long as the item is under the limit too
            return len(item) <= MAX_COMPARED_CHARS and item in container
        if item is None:
            return item in container
        if isinstance(item, bool):
            return any(map(is_, container, repeat(item)))
        if isinstance(item, int | float):
            # a number JSON-equals the Python-equal elements that are not booleans (`1 == True`)
            return item in container and item in compress(container, map(is_not, map(type, container), repeat(bool)))
        kinds = set(map(type, container))
        if not (kinds & _SEQUENCES if isinstance(item, list | tuple) else dict in kinds):
            return False  # no element of the item's kind: none can equal it
        budget = [MAX_COMPARED_ELEMENTS]
        return any(_element_equal(item, element, budget) for element in container)
    if isinstance(container, str):
        return (isinstance(item, str) and len(container) <= MAX_COMPARED_CHARS
                and item in container)
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
    # the literals are shorter than MAX_COMPARED_CHARS: a longer string is none of them
    if negate:
        return lambda env: not (isinstance(v := getter(env), str) and len(v) <= MAX_COMPARED_CHARS
                                and v in values)
    return lambda env: isinstance(v := getter(env), str) and len(v) <= MAX_COMPARED_CHARS and v in values


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
