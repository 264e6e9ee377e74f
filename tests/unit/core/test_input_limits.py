"""What the pipeline can keep: the rules the HTTP ingest and the stream's normalize share."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sentinai.core.input_limits import (
    MAX_DEPTH,
    MAX_INTEGER_DIGITS,
    InputLimitError,
    check_value,
    parse_json,
)
from sentinai.core.normalize import RejectedInput, normalize

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("value,path,reason", [
    ({"id": "a\x00b"}, "id", "NUL"),
    ({"items": ["ok", "\ud800"]}, "items[1]", "surrogate"),
    ({"k\x00": 1}, "", "key"),
    ({"x": float("nan")}, "x", "not finite"),
    ({"x": float("inf")}, "x", "not finite"),
    ({"x": 10 ** MAX_INTEGER_DIGITS}, "x", "digits"),
    (_nested(MAX_DEPTH + 1), "a" + ".a" * (MAX_DEPTH - 1), "nested"),
])
def test_refuses_what_postgres_or_a_reader_cannot_keep(value: object, path: str, reason: str) -> None:
    with pytest.raises(InputLimitError) as err:
        check_value(value)
    assert err.value.path == path and reason in err.value.reason


def test_keeps_what_is_within_the_limits() -> None:
    check_value({"amount": 125000.5, "big": 10 ** (MAX_INTEGER_DIGITS - 1), "deep": _nested(MAX_DEPTH - 1),
                 "text": "ÄΩ😀", "none": None, "flag": True})


def test_a_value_nested_far_deeper_than_the_stack_is_refused_without_recursion() -> None:
    with pytest.raises(InputLimitError):
        check_value(_nested(100_000))


@pytest.mark.parametrize("text,reason", [
    ('{"x": NaN}', "NaN"), ('{"x": -Infinity}', "Infinity"), ('{"x": 1e400}', "not finite"),
    ('{"x": ' + "9" * 5000 + "}", "digits"),
])
def test_parsing_refuses_numbers_it_cannot_keep(text: str, reason: str) -> None:
    with pytest.raises(InputLimitError) as err:
        parse_json(text)
    assert reason in err.value.reason


def test_normalize_applies_the_same_rules_with_the_field_path() -> None:
    raw = {"tenant_id": "acme", "payload": {"orderId": "O-\x00"}}
    with pytest.raises(RejectedInput) as err:
        normalize(raw, now=NOW)
    assert err.value.path == "payload.orderId" and "NUL" in err.value.reason
    with pytest.raises(RejectedInput):
        normalize(json.loads('{"tenant_id": "acme", "payload": {"x": NaN}}'), now=NOW)


def test_normalize_refuses_a_key_naming_another_tenant() -> None:
    raw = {"tenant_id": "acme", "payload": {}}
    assert normalize(raw, now=NOW, key_tenant="acme").tenant_id == "acme"
    with pytest.raises(RejectedInput) as err:
        normalize(raw, now=NOW, key_tenant="globex")
    assert err.value.path == "tenant_id" and "globex" in err.value.reason
