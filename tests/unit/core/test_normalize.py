from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from sentinai.core.normalize import RejectedInput, exception_id_for, normalize

from .conftest import NOW

SNAKE: dict[str, Any] = {
    "tenant_id": "acme-capital",
    "exception_id": "SF-2026-000123",
    "source_system": "settlements",
    "exception_type": "SETTLEMENT_FAIL",
    "occurred_at": "2026-11-24T09:30:00Z",
    "payload": {"orderId": "ORD-9", "failReason": "SSI_MISMATCH", "amount": 125000.0},
    "context": {"slaMinutesRemaining": 95, "policyTags": ["settlement"]},
}
CAMEL: dict[str, Any] = {
    "tenantId": "acme-capital",
    "exceptionId": "SF-2026-000123",
    "sourceSystem": "settlements",
    "exceptionType": "settlement_fail",
    "timestamp": "2026-11-24T09:30:00+00:00",
    "rawPayload": {"orderId": "ORD-9", "failReason": "SSI_MISMATCH", "amount": 125000.0},
    "context": {"slaMinutesRemaining": 95, "policyTags": ["settlement"]},
}


def test_snake_and_camel_case_give_the_same_exception() -> None:
    assert normalize(SNAKE, now=NOW) == normalize(CAMEL, now=NOW)
    result = normalize(SNAKE, now=NOW)
    assert result.occurred_at == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert result.exception_type == "SETTLEMENT_FAIL"


@pytest.mark.parametrize(
    ("given", "normalized"),
    [("settlement_fail", "SETTLEMENT_FAIL"), (" Settlement-Fail ", "SETTLEMENT_FAIL"),
     ("cash break", "CASH_BREAK"), ("", None), (None, None)],
)
def test_type_is_upper_cased(given: str | None, normalized: str | None) -> None:
    assert normalize({**SNAKE, "exception_type": given}, now=NOW).exception_type == normalized


def test_missing_id_is_derived_deterministically() -> None:
    raw = {k: v for k, v in SNAKE.items() if k != "exception_id"}
    first = normalize(raw, now=NOW)
    again = normalize({**raw, "context": {"other": 1}}, now=NOW + timedelta(hours=1))
    assert first.exception_id == again.exception_id
    assert first.exception_id == exception_id_for("acme-capital", "settlements", SNAKE["payload"],
                                                  exception_type=first.exception_type, occurred_at=first.occurred_at)
    for changed in ({"payload": {"orderId": "ORD-10"}}, {"exception_type": "POSITION_BREAK"},
                    {"occurred_at": "2026-11-24T10:31:00Z"}):
        assert normalize({**raw, **changed}, now=NOW).exception_id != first.exception_id, changed
    # without a type or a time of its own, the id is the tenant's, source's and payload's (as before)
    bare = {k: v for k, v in raw.items() if k not in ("exception_type", "occurred_at")}
    assert normalize(bare, now=NOW).exception_id == exception_id_for("acme-capital", "settlements", SNAKE["payload"])
    assert normalize(bare, now=NOW + timedelta(hours=1)).exception_id == normalize(bare, now=NOW).exception_id


def test_key_order_does_not_change_the_derived_id() -> None:
    assert exception_id_for("t", None, {"a": 1, "b": 2}) == exception_id_for("t", None, {"b": 2, "a": 1})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, NOW),
        ("2026-11-24T09:30:00", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),
        ("2026-11-24T10:30:00+01:00", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),
        (1795512600, datetime.fromtimestamp(1795512600, tz=UTC)),
        (1795512600000, datetime.fromtimestamp(1795512600, tz=UTC)),
        (datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))), datetime(2025, 12, 31, 22, tzinfo=UTC)),
    ],
)
def test_timestamps(value: Any, expected: datetime) -> None:
    assert normalize({**SNAKE, "occurred_at": value}, now=NOW).occurred_at == expected


def test_context_defaults_to_empty() -> None:
    raw = {k: v for k, v in SNAKE.items() if k != "context"}
    assert normalize(raw, now=NOW).context == {}


@pytest.mark.parametrize(
    ("raw", "path", "fragment"),
    [
        ([1, 2], "", "must be a JSON object"),
        ({**SNAKE, "tenant_id": None}, "tenant_id", "tenant id is required"),
        ({**SNAKE, "tenant_id": "  "}, "tenant_id", "tenant id is required"),
        ({**SNAKE, "tenant_id": 7}, "tenant_id", "tenant id is required"),
        ({**SNAKE, "tenant_id": "who-dis"}, "tenant_id", "unknown tenant 'who-dis'"),
        ({**SNAKE, "payload": None}, "payload", "got nothing"),
        ({**SNAKE, "payload": "text"}, "payload", "got str"),
        ({**SNAKE, "payload": [1]}, "payload", "got list"),
        ({**SNAKE, "context": "x"}, "context", "context must be a JSON object"),
        ({**SNAKE, "occurred_at": "yesterday"}, "occurred_at", "not an ISO 8601"),
        ({**SNAKE, "occurred_at": True}, "occurred_at", "got bool"),
        ({**SNAKE, "occurred_at": 1e300}, "occurred_at", "out of range"),
        ({**SNAKE, "source_system": 5}, "source_system", "must be a string"),
        ({**SNAKE, "exception_type": ["X"]}, "exception_type", "must be a string"),
        ({**SNAKE, "exception_id": "x" * 201}, "exception_id", "at most 200"),
        ({**SNAKE, "exception_id": {"a": 1}}, "exception_id", "must be a string"),
    ],
)
def test_rejections_name_the_field(raw: Any, path: str, fragment: str) -> None:
    with pytest.raises(RejectedInput) as caught:
        normalize(raw, now=NOW, known_tenants={"acme-capital"})
    assert caught.value.path == path
    assert fragment in caught.value.reason


def test_size_limit_uses_raw_size_when_known() -> None:
    with pytest.raises(RejectedInput, match="over the limit of 100"):
        normalize(SNAKE, now=NOW, max_bytes=100)
    normalize(SNAKE, now=NOW, max_bytes=100, raw_size=99)
    with pytest.raises(RejectedInput, match="message of 5000 bytes"):
        normalize(SNAKE, now=NOW, raw_size=5000, max_bytes=4096)


def test_numeric_exception_id_becomes_text() -> None:
    assert normalize({**SNAKE, "exception_id": 42}, now=NOW).exception_id == "42"


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_a_timestamp_outside_years_1_to_9999_in_utc_is_refused(value: str) -> None:
    """Valid ISO 8601 whose UTC time is year 0 or 10000: nothing could compare, compute with or
    store it, so it is refused at the door (a 422, the DLQ) instead of failing later."""
    with pytest.raises(RejectedInput) as caught:
        normalize({**SNAKE, "occurred_at": value}, now=NOW)
    assert caught.value.path == "occurred_at"
    assert "between years 1 and 9999 in UTC" in caught.value.reason


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00-05:00", "9999-12-31T23:00:00Z",
                                   "9999-12-31T23:59:59.999999+00:00"])
def test_the_first_and_last_moments_in_utc_are_accepted(value: str) -> None:
    assert normalize({**SNAKE, "occurred_at": value}, now=NOW).occurred_at == datetime.fromisoformat(value)
