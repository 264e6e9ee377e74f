import pytest

from sentinai.core.conditions import ConditionSyntaxError, parse, to_source
from sentinai.core.conditions.parser import MAX_DEPTH, MAX_PATTERN_LENGTH


@pytest.mark.parametrize(
    ("source", "column", "fragment"),
    [
        ("", 1, "empty condition"),
        ("exceptionType ==", 17, "expected a value"),
        ("exceptionType = 'X'", 15, "use '=='"),
        ("payload.amount > 5 &&", 22, "expected a value"),
        ("(payload.a == 1", 16, "expected ')'"),
        ("payload.a == 1)", 15, "unexpected ')'"),
        ("payloads.a == 1", 1, "unknown field 'payloads'"),
        ("payload.a == 'open", 14, "unterminated string"),
        ("payload.a == 'x\\q'", 16, "unknown escape"),
        ("payload.a matches '('", 19, "invalid regular expression"),
        ("payload.a matches payload.b", 19, "needs a string literal"),
        ("payload.a == 1 == 2", 16, "unexpected '=='"),
        ("payload.a not [1]", 15, "expected 'in' after 'not'"),
        ("payload.a in [1, ]", 18, "expected a value"),
        ("payload.a == 1e999", 14, "out of range"),
        ("payload. == 1", 8, "unexpected character '.'"),
        ("payload.a @ 1", 11, "unexpected character '@'"),
    ],
)
def test_syntax_errors_carry_their_position(source: str, column: int, fragment: str) -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        parse(source)
    assert caught.value.column == column
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"syntax error at column {column}: ")


def test_pattern_length_is_capped() -> None:
    with pytest.raises(ConditionSyntaxError, match="pattern longer than"):
        parse(f"payload.a matches '{'a' * (MAX_PATTERN_LENGTH + 1)}'")
    parse(f"payload.a matches '{'a' * MAX_PATTERN_LENGTH}'")


def test_nesting_depth_is_capped() -> None:
    deep = "(" * (MAX_DEPTH + 1) + "payload.a" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(ConditionSyntaxError, match="nesting deeper"):
        parse(deep)


def test_non_string_is_a_syntax_error() -> None:
    with pytest.raises(ConditionSyntaxError):
        parse(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "printed"),
    [
        ("exceptionType=='A'", "exceptionType == 'A'"),
        ('payload.s == "it\'s"', "payload.s == 'it\\'s'"),
        ("!(payload.a == 1)", "!(payload.a == 1)"),
        ("!payload.a == 1", "!(payload.a == 1)"),
        ("(payload.a || payload.b) && payload.c", "(payload.a || payload.b) && payload.c"),
        ("payload.a || payload.b && payload.c", "payload.a || payload.b && payload.c"),
        ("payload.a in [1,2.5,'x',null,true,[false]]", "payload.a in [1, 2.5, 'x', null, true, [false]]"),
        ("payload.a not in []", "payload.a not in []"),
        ("!!payload.a", "!!payload.a"),
    ],
)
def test_canonical_printing(source: str, printed: str) -> None:
    assert to_source(parse(source)) == printed
    assert parse(printed) == parse(source)
