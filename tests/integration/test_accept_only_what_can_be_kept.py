"""Accept only what can be kept, lose nothing accepted: with a real worker and web view, every
input PostgreSQL could not keep is a 4xx at the door and a dead letter with its reason in the
stream, and the valid exception sent right after it has its row."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from confluent_kafka import Producer

from sentinai.settings import Settings
from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.pool import open_pool
from tests.support.db import fetch, wait_for
from tests.support.kafka import produce_positions
from tests.support.pipeline import PACKS, Pipeline

pytestmark = pytest.mark.integration

TENANT = "acme-capital"


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _exception(exception_id: str, payload: str = '{"failReason": "SSI_MISMATCH"}', occurred_at: str | None = None
               ) -> bytes:
    when = f'"occurred_at": "{occurred_at}", ' if occurred_at else ""
    return (f'{{"tenant_id": "{TENANT}", "exception_id": "{exception_id}", "exception_type": "SETTLEMENT_FAIL", '
            f'"source_system": "settlements", {when}"payload": {payload}}}').encode()


FORTY_DIGITS = "1234567890" * 4

# (name, raw JSON body of an exception): each one PostgreSQL cannot keep, or Python cannot parse
UNKEEPABLE = [
    ("nul-in-id", _exception("BAD\\u0000ID")),
    ("nul-in-payload", _exception("NUL-PAYLOAD", '{"orderId": "O-\\u0000"}')),
    ("lone-surrogate", _exception("SURROGATE", '{"orderId": "\\ud800"}')),
    ("nested-200", _exception("DEEP-200", _nested(200))),
    ("nested-500", _exception("DEEP-500", _nested(500))),
    ("nan", _exception("NAN", '{"amount": NaN}')),
    ("overflow", _exception("OVERFLOW", '{"amount": 1e400}')),
    ("huge-integer", _exception("HUGE-INT", '{"amount": ' + "9" * 4301 + "}")),
    # valid ISO 8601, but year 0 and year 10000 in UTC
    ("year-0-in-utc", _exception("YEAR-0", occurred_at="0001-01-01T00:00:00+05:00")),
    ("year-10000-in-utc", _exception("YEAR-10000", occurred_at="9999-12-31T23:59:59-05:00")),
]


async def _admin_key(database_url: str) -> str:
    async with open_pool(database_url, min_size=1, max_size=1) as pool:
        return await create_api_key(pool, "*", "admin")


def test_the_door_answers_4xx_and_the_next_valid_exception_has_its_row(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    pipeline.start_worker()
    web = pipeline.start_web()
    key = asyncio.run(_admin_key(pipeline.database_url))
    base = f"{web.url}/api/v1/tenants/{TENANT}"

    async def drive() -> dict[str, tuple[int, Any, int]]:
        answers: dict[str, tuple[int, Any, int]] = {}
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}",
                                                  "Content-Type": "application/json"}) as session:
            async def send(method: str, url: str, body: bytes | None = None) -> tuple[int, Any]:
                async with session.request(method, url, data=body) as resp:
                    return resp.status, await resp.json(content_type=None)

            bad_requests: list[tuple[str, str, str, bytes | None]] = [
                (name, "POST", f"{base}/exceptions", body) for name, body in UNKEEPABLE]
            bad_requests += [
                ("huge-integer-in-approval", "POST", f"{base}/approvals/AP-1/approve",
                 b'{"by": "ann", "comment": ' + b"1" * 5000 + b"}"),
                ("nul-in-packs", "PUT", f"{base}/packs", b'{"domains": [], "tenants": [{"tenantId": "a\\u0000"}]}'),
                ("superscript-id", "GET", f"{base}/dlq/%C2%B2", None),
                ("arabic-indic-id", "POST", f"{base}/dlq/%D9%A3/replay", None),
                ("since-overflow", "GET", f"{base}/exceptions?since=0001-01-01T00:00:00%2B14:00", None),
            ]
            for n, (name, method, url, body) in enumerate(bad_requests):
                status, answer = await send(method, url, body)
                valid_status, _ = await send("POST", f"{base}/exceptions", _exception(f"AFTER-{n}"))
                answers[name] = (status, answer, valid_status)
        return answers

    answers = asyncio.run(drive())
    for name, (status, answer, valid_status) in answers.items():
        assert 400 <= status < 500 and {"error", "detail", "path"} <= set(answer), (name, status, answer)
        assert valid_status == 202, name
    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions WHERE exception_id LIKE 'AFTER-%'",
             until=lambda n: n == len(answers), timeout=90)
    rows = fetch(pipeline.database_url, "SELECT exception_id FROM exceptions")
    assert {r["exception_id"] for r in rows} == {f"AFTER-{n}" for n in range(len(answers))}


def test_the_stream_dead_letters_them_with_the_reason_and_keeps_a_5_mb_message(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    pipeline.start_worker()
    huge = _exception("HUGE", json.dumps({"blob": "x" * (5 * 1024 * 1024)}))
    messages = [*((name, TENANT, body) for name, body in UNKEEPABLE),
                ("huge-message", TENANT, huge),
                ("key-names-another-tenant", "globex-markets", _exception("MISMATCH")),
                # the last quarter hour of year 9999: its SLA deadline would fall in year 10000
                # ... and an integer of 40 digits, the most the limits accept
                ("valid", TENANT, _exception("VALID-AFTER", '{"failReason": "SSI_MISMATCH", "account": ' + FORTY_DIGITS
                                             + "}", occurred_at="9999-12-31T23:45:00Z"))]
    positions = _produce(pipeline.bootstrap, pipeline.topics.exceptions, [(k, v) for _, k, v in messages])
    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions WHERE exception_id = 'VALID-AFTER'",
             until=lambda n: n == 1, timeout=90)
    wait_for(pipeline.database_url, "SELECT count(*) FROM dead_letters", until=lambda n: n == len(messages) - 1,
             timeout=60)
    letters = {(r["source_partition"], r["source_offset"]): r for r in fetch(
        pipeline.database_url, "SELECT source_topic, source_partition, source_offset, error_message, headers, "
        "octet_length(value) AS kept FROM dead_letters")}
    for (name, _, _), position in zip(messages[:-1], positions[:-1], strict=True):
        letter = letters[position]
        assert letter["source_topic"] == pipeline.topics.exceptions and letter["error_message"], name
    big = letters[positions[len(UNKEEPABLE)]]
    headers = json.loads(big["headers"]) if isinstance(big["headers"], str) else big["headers"]
    assert headers["sentinai.value.size"] == str(len(huge))
    assert headers["sentinai.value.sha256"] == hashlib.sha256(huge).hexdigest()
    assert 0 < big["kept"] < len(huge)
    mismatch = letters[positions[len(UNKEEPABLE) + 1]]
    assert "globex-markets" in mismatch["error_message"] and TENANT in mismatch["error_message"]
    rows = fetch(pipeline.database_url, "SELECT exception_id, sla_deadline, raw_payload->>'account' AS account "
                 "FROM exceptions")
    assert rows[0]["account"] == FORTY_DIGITS  # exact, not a float
    assert [r["exception_id"] for r in rows] == ["VALID-AFTER"]
    assert rows[0]["sla_deadline"] == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)  # the last second of 9999


def _produce(bootstrap: str, topic: str, messages: list[tuple[str, bytes]]) -> list[tuple[int, int]]:
    """Produce in order, one at a time; each message's (partition, offset)."""
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random",
                         "message.max.bytes": 8 * 1024 * 1024})
    positions: list[tuple[int, int]] = []

    def delivered(err: Any, message: Any) -> None:
        assert err is None, err
        positions.append((message.partition(), message.offset()))

    for key, value in messages:
        producer.produce(topic, key=key.encode(), value=value, on_delivery=delivered)
        assert producer.flush(30) == 0
    return positions


def test_a_letter_whose_key_is_not_utf8_belongs_to_no_tenant(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    """A key that is not UTF-8 names no tenant: its letters are filed under none (as one without a
    key), not under the key decoded with replacement characters, a tenant that does not exist."""
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    pipeline.start_worker()
    garbled = b"\xff\xfe" + TENANT.encode()
    produce_positions(pipeline.bootstrap, pipeline.topics.exceptions, [
        (garbled, _exception("GARBLED-KEY")),  # a valid exception of a known tenant under that key
        (garbled, b"\x00\x01not json"),  # the key's tenant is all the letter has to go by
        (TENANT, _exception("VALID-AFTER"))])
    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions WHERE exception_id = 'VALID-AFTER'",
             until=lambda n: n == 1, timeout=90)
    wait_for(pipeline.database_url, "SELECT count(*) FROM dead_letters", until=lambda n: n == 2, timeout=60)
    rows = fetch(pipeline.database_url, "SELECT tenant_id, key, error_message, headers FROM dead_letters ORDER BY id")
    assert [r["tenant_id"] for r in rows] == [None, None]
    assert all(r["key"] == garbled for r in rows)  # kept as sent, for a replay
    headers = [json.loads(r["headers"]) if isinstance(r["headers"], str) else r["headers"] for r in rows]
    assert all("sentinai.tenant" not in h for h in headers), headers
    assert rows[0]["error_message"] == "the message key is not UTF-8 (invalid start byte at byte 0), so it names no tenant"
