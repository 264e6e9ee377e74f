import hashlib

from sentinai.streams.dlq import (
    MAX_VALUE_BYTES,
    dlq_headers,
    headers_dict,
    kept_headers,
    kept_key,
    kept_value,
)


def test_headers_follow_kafka_connect_names() -> None:
    headers = headers_dict(dlq_headers(topic="sentinai.exceptions", partition=3, offset=42,
                                       error=ValueError("bad"), stage="intake", tenant_id="acme"))
    assert headers == {
        "__connect.errors.topic": "sentinai.exceptions",
        "__connect.errors.partition": "3",
        "__connect.errors.offset": "42",
        "__connect.errors.exception.class.name": "ValueError",
        "__connect.errors.exception.message": "bad",
        "sentinai.stage": "intake",
        "sentinai.tenant": "acme",
    }


def test_long_messages_are_capped() -> None:
    headers = headers_dict(dlq_headers(topic="t", partition=0, offset=0, error=ValueError("x" * 10_000), stage="s"))
    assert len(headers["__connect.errors.exception.message"]) == 2000


def test_a_value_too_large_for_the_dlq_is_cut_with_its_size_and_digest() -> None:
    big = b"x" * (5 * 1024 * 1024)
    value, headers = kept_value(big)
    assert value == big[:MAX_VALUE_BYTES]
    assert dict(headers) == {"sentinai.value.truncated": b"true", "sentinai.value.size": str(len(big)).encode(),
                             "sentinai.value.sha256": hashlib.sha256(big).hexdigest().encode()}
    small = b'{"tenant_id": "acme"}'
    assert kept_value(small) == (small, [])
    assert kept_value(None) == (None, [])


def test_a_letter_keeps_the_original_headers_but_those_it_adds_itself() -> None:
    original = [("traceparent", b"00-abc-01"), ("sentinai.replayed_from", b"7"),
                ("__connect.errors.topic", b"old"), ("sentinai.stage", b"intake"), (b"raw", None)]
    assert kept_headers(original) == [("traceparent", b"00-abc-01"), ("sentinai.replayed_from", b"7"), ("raw", b"")]
    assert kept_headers(None) == []


def test_headers_beyond_the_limit_are_counted_not_kept() -> None:
    many = [(f"h{i}", b"x" * 1000) for i in range(40)]
    kept = kept_headers(many, limit=16_384)
    assert kept[:-1] == many[:16] and kept[-1] == ("sentinai.headers.dropped", b"24")


def test_a_key_too_long_for_a_letter_is_cut_and_said_so() -> None:
    assert kept_key(b"acme-capital") == (b"acme-capital", [])
    assert kept_key(None) == (None, [])
    key, headers = kept_key(b"k" * 600_000)
    assert key == b"k" * 16_384
    assert dict(headers) == {"sentinai.key.truncated": b"true", "sentinai.key.size": b"600000"}
