from typing import Any

import pytest

from sentinai.core.conditions import Condition

ENV: dict[str, Any] = {
    "exceptionType": "SETTLEMENT_FAIL",
    "severity": "HIGH",
    "sourceSystem": None,
    "payload": {
        "amount": 125000.0,
        "count": 3,
        "flag": True,
        "ccy": "USD",
        "tags": ["urgent", "fx"],
        "legs": [{"amount": 10}, {"amount": 20}],
        "nested": {"deep": {"value": "x"}},
        "zero": 0,
        "one": 1,
    },
    "context": {"slaMinutesRemaining": 95, "policyTags": ["settlement"]},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("exceptionType == 'SETTLEMENT_FAIL'", True),
        ('exceptionType == "SETTLEMENT_FAIL"', True),
        ("exceptionType != 'SETTLEMENT_FAIL'", False),
        ("payload.amount > 100000", True),
        ("payload.amount >= 125000", True),
        ("payload.amount < 125000", False),
        ("payload.amount <= 125000.0", True),
        ("payload.count == 3.0", True),
        ("context.slaMinutesRemaining < 120", True),
        ("payload.ccy in ['USD', 'EUR']", True),
        ("payload.ccy not in ['USD', 'EUR']", False),
        ("payload.count in [1, 2, 3]", True),
        ("'FAIL' in exceptionType", True),
        ("payload.tags contains 'urgent'", True),
        ("payload.tags contains 'calm'", False),
        ("exceptionType contains 'SETTLE'", True),
        ("payload contains 'amount'", True),
        ("exceptionType matches '^SETTLE.*FAIL$'", True),
        ("payload.ccy matches '^[A-Z]{3}$'", True),
        ("payload.amount matches '1'", False),
        ("payload.flag", True),
        ("payload.flag == true", True),
        ("!payload.flag", False),
        ("!!payload.flag", True),
        ("payload.ccy", False),
        ("payload.legs.1.amount == 20", True),
        ("payload.legs.5.amount == null", True),
        ("payload.nested.deep.value == 'x'", True),
        ("severity in ['HIGH', 'CRITICAL'] && payload.amount > 1", True),
        ("severity == 'LOW' || payload.flag", True),
        ("severity == 'LOW' || payload.ccy == 'EUR'", False),
        ("!(severity == 'LOW') && (payload.count == 3 || false)", True),
        ("payload.amount > 1 && payload.count > 1 && payload.flag", True),
        ("payload.amount > 1 && payload.count > 5 && payload.flag", False),
        ("(payload.amount > 1) == true", True),
        ("payload.tags == ['urgent', 'fx']", True),
        ("payload.amount >= -1e3", True),
    ],
)
def test_evaluation(source: str, expected: bool) -> None:
    assert Condition(source)(ENV) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("payload.missing == null", True),
        ("payload.missing.deeper == null", True),
        ("context.nope != null", False),
        ("sourceSystem == null", True),
        ("payload.missing > 3", False),
        ("payload.missing < 3", False),
        ("payload.missing in [1, 2]", False),
        ("payload.missing not in [1, 2]", True),
        ("payload.missing contains 'a'", False),
        ("payload.missing matches 'a'", False),
        ("!payload.missing", True),
        ("payload.ccy.length == null", True),
    ],
)
def test_missing_paths_are_null_never_errors(source: str, expected: bool) -> None:
    assert Condition(source)(ENV) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("payload.flag == 1", False),
        ("payload.one == true", False),
        ("payload.zero == false", False),
        ("payload.flag in [1]", False),
        ("payload.one in [true]", False),
        ("payload.ccy > 5", False),
        ("payload.flag > 0", False),
        ("payload.count == '3'", False),
    ],
)
def test_no_implicit_conversions(source: str, expected: bool) -> None:
    assert Condition(source)(ENV) is expected


def test_empty_environment() -> None:
    assert Condition("payload.a.b.c == null")({}) is True
