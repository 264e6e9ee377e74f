from sentinai.streams.dlq import dlq_headers, headers_dict


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
