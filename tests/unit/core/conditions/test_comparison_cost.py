"""What one comparison may cost is bounded whatever the payload: a hostile tenant's chain of
210 `k.5 in payload.l` terms over a list of 120,000 zeros took 50 ms per term on the worker every
tenant shares. A list of more than MAX_COMPARED_ELEMENTS elements and a string of more than
MAX_COMPARED_CHARS characters compare false, without being walked."""

from __future__ import annotations

from typing import Any

import pytest

from sentinai.core.conditions import Condition
from sentinai.core.conditions.compiler import (
    MAX_COMPARED_CHARS,
    MAX_COMPARED_ELEMENTS,
    json_equal,
    member,
)


class Unwalkable(list[Any]):
    """A list that fails the test if anything looks at its elements."""

    def __iter__(self) -> Any:
        raise AssertionError("walked")

    def __contains__(self, item: object) -> bool:
        raise AssertionError("walked")

    def __getitem__(self, index: Any) -> Any:
        raise AssertionError("walked")

    def __eq__(self, other: object) -> bool:
        raise AssertionError("walked")

    __hash__ = None  # type: ignore[assignment]


def test_membership_in_a_list_over_the_limit_is_false_without_walking_it() -> None:
    big = Unwalkable([0.5] * (MAX_COMPARED_ELEMENTS + 1))
    for item in (0.5, "x", None, True, [0.5], {"a": 1}):
        assert member(item, big) is False
    env = {"payload": {"l": big}}
    assert not Condition("0.5 in payload.l")(env)
    assert not Condition("payload.l contains 0.5")(env)
    assert Condition("0.5 not in payload.l")(env)


def test_membership_up_to_the_limit_keeps_its_meaning() -> None:
    at_limit = [0] * (MAX_COMPARED_ELEMENTS - 1)
    for item, found in ((0, True), (0.0, True), (False, False), (1, False), ("0", False),
                        ([0], False), (None, False)):
        assert member(item, at_limit) is found, item
    assert member(1, [True] * (MAX_COMPARED_ELEMENTS - 1) + [1.0])
    assert not member(1, [True] * MAX_COMPARED_ELEMENTS)
    assert member(True, [1, 1.0, True]) and not member(True, [1, 1.0])
    assert member("a", ["b", "a"]) and not member("a", [["a"], {"a": 1}])
    assert member(None, [0, None]) and not member(None, [0, [None]])
    assert member([1, {"a": 2}], ["x", [1, {"a": 2}]])
    assert member((1, 2), [[1, 2]])


def test_a_string_over_the_limit_contains_equals_and_orders_nothing() -> None:
    long = "x" * (MAX_COMPARED_CHARS + 1)
    env = {"payload": {"s": long, "t": long, "u": "x" * MAX_COMPARED_CHARS}}
    assert not Condition("'xy' in payload.s")({"payload": {"s": long + "xy"}})
    assert Condition("'xy' in payload.s")({"payload": {"s": "x" * (MAX_COMPARED_CHARS - 2) + "xy"}})
    assert not Condition("payload.s == payload.t")(env)
    assert Condition("payload.s != payload.t")(env)
    assert Condition("payload.u == payload.u")(env)
    assert not Condition("payload.s > 'a'")(env)
    assert not Condition("payload.s in ['a', 'b']")(env)
    assert Condition("payload.s not in ['a', 'b']")(env)
    assert not member(long, [long])


def test_an_equality_looks_at_a_bounded_number_of_elements() -> None:
    # the budget counts every element looked at, nested ones too
    small = [[0] * 10 for _ in range(90)]  # 90 + 900 = 990 elements
    assert json_equal(small, [list(x) for x in small])
    big = [[0] * 10 for _ in range(91)]  # 91 + 910 = 1,001 elements
    assert not json_equal(big, [list(x) for x in big])
    assert not json_equal({str(i): i for i in range(MAX_COMPARED_ELEMENTS + 1)},
                          {str(i): i for i in range(MAX_COMPARED_ELEMENTS + 1)})


@pytest.mark.parametrize("op", ["==", "in", "contains"])
def test_a_comparison_with_an_unwalkable_list_over_the_limit_does_not_raise(op: str) -> None:
    big = Unwalkable([0] * (MAX_COMPARED_ELEMENTS + 1))
    assert Condition(f"payload.a {op} payload.b")({"payload": {"a": [0], "b": big}}) is False


def test_an_object_key_is_a_look_up_whatever_its_size() -> None:
    big = {str(i): i for i in range(MAX_COMPARED_ELEMENTS * 10)}
    assert Condition("'5' in payload.o")({"payload": {"o": big}})


def test_a_membership_counts_the_elements_it_looks_at_nested_ones_too() -> None:
    # each [2] looked at costs 2 (itself and its element): the [1] at the end is reached only
    # while the 1,000 are not spent
    half = MAX_COMPARED_ELEMENTS // 2
    assert member([1], [[2]] * (half - 1) + [[1]])
    assert not member([1], [[2]] * half + [[1]])
    assert member({"a": 1}, [[1], "x", {"a": 1}]) and not member({"a": 1}, [[1], {"a": True}])
    assert not member([1], [{"a": 1}, 1, "x"]) and not member({"a": 1}, [[1], 1])
