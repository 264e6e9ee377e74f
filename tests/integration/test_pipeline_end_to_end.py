"""The walking skeleton, end to end with real parts: an independent Kafka client produces raw
exceptions; a real worker decides; decisions appear on the topic and rows in PostgreSQL; bad
input lands in the DLQ with Kafka Connect's headers and in ``dead_letters``."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.pool import open_pool
from tests.support.db import fetch, wait_for
from tests.support.http import call
from tests.support.kafka import TopicReader, produce, producer, read_all, read_all_from
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration


def settlement_fail(exception_id: str) -> dict:
    return {"tenant_id": "acme-capital", "exception_id": exception_id, "source_system": "settlements",
            "exception_type": "SETTLEMENT_FAIL", "occurred_at": "2026-11-24T09:30:00Z",
            "payload": {"orderId": "ORD-9", "failReason": "SSI_MISMATCH", "amount": 125000.0},
            "context": {"slaMinutesRemaining": 95, "policyTags": ["settlement"]}}


def test_an_exception_becomes_decisions_and_rows(pipeline: Pipeline) -> None:
    pipeline.start_worker()
    produced_at = time.time()
    produce(pipeline.bootstrap, pipeline.topics.exceptions, [(b"acme-capital", settlement_fail("SF-1"))])

    reader = TopicReader(pipeline.bootstrap, pipeline.topics.decisions)
    try:
        messages = list(reader.poll_until(lambda ms: len(ms) >= 1, timeout=30))
        later = read_all_from(reader, idle=2.0)  # the playbook's own later decisions (tool results) follow
    finally:
        reader.close()
    decision = json.loads(messages[0].value())
    print(f"produce → decision: {messages[0].timestamp()[1] / 1000 - produced_at:.2f}s")
    assert [s["stage"] for s in decision["stages"][:3]] == ["triage", "policy", "playbook"]
    assert {m.key() for m in later} == {b"acme-capital"}
    assert (decision["exception_id"], decision["exception_type"], decision["severity"]) == (
        "SF-1", "SETTLEMENT_FAIL", "HIGH")
    assert decision["playbook_id"] and decision["source"] == "rules"
    every = [json.loads(m.value()) for m in later]
    assert len({r["event_id"] for r in every}) == len(every), "a decision record was published twice"
    assert sum(1 for r in every if any(s["stage"] == "triage" for s in r["stages"])) == 1

    transitions = read_all(pipeline.bootstrap, pipeline.topics.events)
    first = json.loads(transitions[0].value())
    assert first["exception_id"] == "SF-1" and first["schema_version"] == 2
    assert [e["event_type"] for e in first["events"]][:4] == [
        "ExceptionNormalized", "TriageCompleted", "PolicyEvaluated", "PlaybookAssigned"]
    assert first["exception"]["status"] == decision["status"]
    assert first["source"]["topic"] == pipeline.topics.exceptions

    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions WHERE tenant_id = $1 AND exception_id = $2 "
             "AND version >= $3", "acme-capital", "SF-1", 5)
    print(f"produce → row stored: {time.time() - produced_at:.2f}s (upper bound: includes polling)")
    row = fetch(pipeline.database_url, "SELECT * FROM exceptions WHERE tenant_id = $1 AND exception_id = $2",
                "acme-capital", "SF-1")[0]
    assert row["exception_type"] == "SETTLEMENT_FAIL" and row["severity"] == "HIGH"
    wait_for(pipeline.database_url, "SELECT status FROM exceptions WHERE tenant_id = $1 AND exception_id = $2",
             "acme-capital", "SF-1", until=lambda status: status == every[-1]["status"])
    assert json.loads(row["raw_payload"])["failReason"] == "SSI_MISMATCH"

    types = [r["event_type"] for r in fetch(
        pipeline.database_url, "SELECT event_type FROM exception_events WHERE tenant_id=$1 AND exception_id=$2",
        "acme-capital", "SF-1")]
    assert {"ExceptionNormalized", "TriageCompleted", "PolicyEvaluated", "PlaybookAssigned"} <= set(types)


def test_bad_input_goes_to_the_dlq_and_the_worker_keeps_going(pipeline: Pipeline) -> None:
    pipeline.start_worker()
    bad = [
        (b"acme-capital", b"{not json"),
        (b"acme-capital", {"exception_id": "NO-TENANT", "payload": {}}),
        (b"nobody", {"tenant_id": "nobody-at-all", "payload": {"a": 1}}),
        (b"acme-capital", {"tenant_id": "acme-capital", "payload": "not an object"}),
    ]
    produce(pipeline.bootstrap, pipeline.topics.exceptions, [*bad, (b"acme-capital", settlement_fail("SF-2"))])

    dlq = TopicReader(pipeline.bootstrap, pipeline.topics.dlq)
    try:
        dead = dlq.poll_until(lambda ms: len(ms) >= len(bad), timeout=30)
    finally:
        dlq.close()
    assert len(dead) == len(bad)
    for message in dead:
        headers = {k: v.decode() for k, v in message.headers()}
        assert headers["__connect.errors.topic"] == pipeline.topics.exceptions
        assert headers["sentinai.stage"] == "intake"
        assert headers["__connect.errors.exception.message"]
        assert int(headers["__connect.errors.offset"]) >= 0
    assert {m.value() for m in dead} >= {b"{not json"}

    decisions = TopicReader(pipeline.bootstrap, pipeline.topics.decisions)
    try:
        records = decisions.poll_until(lambda ms: len(ms) >= 1, timeout=30)
    finally:
        decisions.close()
    assert {json.loads(r.value())["exception_id"] for r in records} == {"SF-2"}

    assert wait_for(pipeline.database_url, "SELECT count(*) FROM dead_letters",
                    until=lambda n: n >= len(bad)) == len(bad)


def test_a_replayed_dead_letter_carries_the_originals_headers_as_they_were(pipeline: Pipeline) -> None:
    # Kafka headers are bytes, and a name may repeat: a binary trace context, a list as repeated names
    original = [("trace-bin", b"\x00\x01\xff\x80\xfe"), ("x-multi", b"a"), ("x-multi", b"b"), ("note", "é".encode())]
    pipeline.start_worker()
    web = pipeline.start_web()
    sender = producer(pipeline.bootstrap)
    sender.produce(pipeline.topics.exceptions, key=b"acme-capital", headers=original,
                   value=json.dumps({"tenant_id": "acme-capital", "exception_id": "HDR-1", "payload": "no"}).encode())
    assert sender.flush(30) == 0
    letter = wait_for(pipeline.database_url, "SELECT id FROM dead_letters WHERE tenant_id = 'acme-capital'")
    key = asyncio.run(_api_key(pipeline.database_url, "acme-capital", "operator"))

    reply = call("POST", f"{web.url}/api/v1/tenants/acme-capital/dlq/{letter}/replay",
                 headers={"Authorization": f"Bearer {key}"})
    assert reply.status == 202, reply.body

    reader = TopicReader(pipeline.bootstrap, pipeline.topics.exceptions)
    try:
        replayed = reader.poll_until(lambda ms: len(ms) >= 2, timeout=30)[1]
    finally:
        reader.close()
    assert replayed.headers() == [*original, ("sentinai.replayed_from", str(letter).encode())]


async def _api_key(database_url: str, tenant: str, role: str) -> str:
    async with open_pool(database_url, min_size=1, max_size=1) as pool:
        return await create_api_key(pool, tenant, role)
