"""Property tests: the parser is total (only ConditionSyntaxError) and printing is stable."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sentinai.core.conditions import Condition, ConditionSyntaxError, parse, to_source
from sentinai.core.conditions.parser import ROOTS

FRAGMENTS = st.sampled_from(
    list("abcxyz_.0123456789 '\"\\()[],!=<>&|-+eE\n\t")
    + ["payload", "context", "exceptionType", "severity", "==", "&&", "||", " in ", " not in ",
       " contains ", " matches ", "true", "false", "null", "'A'", "1.5"]
)

literals = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


def _literal_source(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return f"'{escaped}'"
    return "[" + ", ".join(_literal_source(v) for v in value) + "]"


paths = st.builds(
    lambda root, rest: ".".join([root, *rest]),
    st.sampled_from(sorted(ROOTS)),
    st.lists(st.from_regex(r"\A([a-z][a-zA-Z0-9_]{0,5}|[0-9]{1,2})\Z"), max_size=3),
)
operands = paths | literals.map(_literal_source)
comparisons = st.builds(
    lambda left, op, right: f"{left} {op} {right}",
    operands,
    st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains"]),
    operands,
) | st.builds(lambda left, pattern: f"{left} matches '{pattern}'", paths, st.from_regex(r"\A[a-z^$.*+]{0,6}\Z"))
expressions = st.recursive(
    comparisons | operands,
    lambda inner: st.builds(lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(["&&", "||"]), inner)
    | inner.map(lambda e: f"!({e})"),
    max_leaves=8,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(FRAGMENTS, max_size=30).map("".join) | st.text(max_size=40))
def test_arbitrary_text_only_raises_syntax_errors(source: str) -> None:
    try:
        node = parse(source)
    except ConditionSyntaxError as error:
        assert 0 <= error.position <= len(source)
        return
    assert parse(to_source(node)) == node


@settings(max_examples=300, deadline=None)
@given(expressions)
def test_parse_print_parse_is_stable(source: str) -> None:
    try:
        node = parse(source)
    except ConditionSyntaxError:
        return
    printed = to_source(node)
    assert parse(printed) == node
    assert to_source(parse(printed)) == printed


@settings(max_examples=200, deadline=None)
@given(expressions, st.dictionaries(st.sampled_from(sorted(ROOTS)), json_values))
def test_evaluation_never_raises(source: str, env: dict[str, Any]) -> None:
    try:
        condition = Condition(source)
    except ConditionSyntaxError:
        return
    assert condition(env) in (True, False)
