"""What one pattern may cost a search is bounded at upload (its RE2 program) and at run time (the
text it searches): a hostile tenant's pattern just under RE2's memory limit took 3.6 s over a
256 kB payload, on the worker every tenant shares."""

from __future__ import annotations

import pytest

from sentinai.core.conditions import Condition, ConditionSyntaxError, parse
from sentinai.core.conditions.regex import MAX_PROGRAM_SIZE, MAX_SUBJECT_CHARS


def test_a_pattern_with_a_large_program_is_refused_with_its_size() -> None:
    with pytest.raises(ConditionSyntaxError, match=f"RE2 instructions; the limit is {MAX_PROGRAM_SIZE}"):
        parse("payload.a matches '(?:[-a1xZ9]{1,25}){1,25}!'")


def test_a_string_longer_than_the_limit_matches_no_pattern() -> None:
    ends_in_digits = Condition("payload.a matches '^ORD-[0-9]+$'")
    assert ends_in_digits({"payload": {"a": "ORD-" + "1" * (MAX_SUBJECT_CHARS - 4)}})
    # a prefix of it would match: the whole string does not, and is not searched
    assert not ends_in_digits({"payload": {"a": "ORD-" + "1" * MAX_SUBJECT_CHARS + "X"}})


def test_a_condition_counts_the_program_of_each_of_its_patterns() -> None:
    one = Condition("payload.a matches '^ORD-[0-9]+$'").program_size
    assert one > 0
    both = Condition("payload.a matches '^ORD-[0-9]+$' && !(payload.b matches '^ORD-[0-9]+$')")
    assert both.program_size == 2 * one
    assert Condition("payload.a == 'x'").program_size == 0
