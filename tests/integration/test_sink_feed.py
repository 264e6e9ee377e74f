"""The sink feed against the real broker and PostgreSQL: what it follows, stores and commits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from sentinai.core.actor import Actor
from sentinai.sinks.backpressure import SinkGate
from sentinai.sinks.feed import SinkFeed
from sentinai.sinks.pool import open_pool
from sentinai.sinks.writer import EventWriter
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.transition import transition
from tests.support.kafka import create_topic

pytestmark = pytest.mark.integration

PARTITIONS = 2
T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with open_pool(database_url, max_size=4) as pool:
        yield pool


@pytest.fixture
async def events_topic(bootstrap: str, topic_prefix: str) -> str:
    return await create_topic(bootstrap, f"{topic_prefix}.events", PARTITIONS)


def envelope(exception_id: str) -> bytes:
    """A transition of one event, as a worker publishes it."""
    event = EventEnvelope.create(event_type="ExceptionIngested", tenant_id="acme", exception_id=exception_id,
                                 occurred_at=T0, actor=Actor(type="agent", id="intake"), payload={})
    return transition(tenant_id="acme", exception_id=exception_id, events=[event]).encode()


async def produce(bootstrap: str, topic: str, values: Iterable[tuple[int, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition, value in values:
            await producer.send(topic, value, key=b"acme", partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str, topic: str) -> list[int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return [await consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)]
    finally:
        await consumer.stop()


async def eventually(check: Callable[[], Any], *, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout}s")
        await asyncio.sleep(0.2)


async def stored(pool: asyncpg.Pool, prefix: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM exception_events WHERE exception_id LIKE $1", f"{prefix}%")


def make_feed(bootstrap: str, topic: str, group: str, pool: asyncpg.Pool, gate: SinkGate,
              dead: list[Any]) -> SinkFeed:
    async def writer() -> EventWriter:
        return EventWriter(pool)

    async def dead_letter(record: Any, error: BaseException) -> None:
        dead.append(record)

    return SinkFeed(bootstrap_servers=bootstrap, topic=topic, group_id=group, writer_factory=writer, gate=gate,
                    dead_letter=dead_letter, batch_size=50, batch_seconds=0.1, in_flight=2, fetch_max_wait_ms=50)


async def test_the_feed_stores_commits_and_follows_the_partitions_it_is_given(
        bootstrap: str, events_topic: str, pool: asyncpg.Pool, topic_prefix: str) -> None:
    group = f"{topic_prefix}-sink"
    gate = SinkGate(high_water=10_000)
    dead: list[Any] = []
    await produce(bootstrap, events_topic, [(i % PARTITIONS, envelope(f"A{i}")) for i in range(120)])
    await produce(bootstrap, events_topic, [(1, b"not an envelope")])
    gate.published(121)

    feed = make_feed(bootstrap, events_topic, group, pool, gate, dead)
    feed.follow(range(PARTITIONS))
    feed.start()
    try:
        await eventually(lambda: _equals(stored(pool, "A"), 120))
        # committed only once stored, up to the end of each partition, the dead letter included
        assert await eventually(lambda: _equals(committed(bootstrap, group, events_topic), [60, 61]))
        assert [record.value for record in dead] == [b"not an envelope"]
        assert gate.pending == 0

        # a new assignment: only partition 1 is read from now on
        feed.follow([1])
        await eventually(lambda: _equals(_now(feed.reading), [1]))  # partition 0 is fetched no more
        await produce(bootstrap, events_topic, [(i % PARTITIONS, envelope(f"B{i}")) for i in range(20)])
        await eventually(lambda: _equals(committed(bootstrap, group, events_topic), [60, 71]))
        assert await stored(pool, "B") == 10  # the odd ones, on partition 1
    finally:
        await feed.stop()

    # the next owner of partition 0 starts where this feed committed: the ten events it skipped
    follower = make_feed(bootstrap, events_topic, group, pool, SinkGate(high_water=10_000), dead)
    follower.follow([0])
    follower.start()
    try:
        await eventually(lambda: _equals(stored(pool, "B"), 20))
        await eventually(lambda: _equals(committed(bootstrap, group, events_topic), [70, 71]))
    finally:
        await follower.stop()
    assert len(dead) == 1  # partition 0 held no dead letter; partition 1 was not read again


async def _now(value: Any) -> Any:
    return value


async def _equals(value: Any, expected: Any) -> bool:
    return await value == expected


async def test_records_of_the_earlier_release_are_stored_like_transitions(
        bootstrap: str, events_topic: str, pool: asyncpg.Pool, topic_prefix: str) -> None:
    """A worker upgraded over an events topic written by the release before transitions: its
    one-event records (the snapshot in ``payload.exception``) give the rows they gave then."""
    old = [{"event_id": f"old-{i}", "event_type": kind, "tenant_id": "acme", "exception_id": "OLD-1",
            "occurred_at": T0.isoformat(), "actor": {"type": "agent", "id": "decide"}, "schema_version": 1,
            "payload": {"exception": {"status": status, "severity": "HIGH", "version": i + 1,
                                      **({"raw_payload": {"orderId": "O-1"}} if i == 0 else {})}}}
           for i, (kind, status) in enumerate([("ExceptionNormalized", "OPEN"), ("ExceptionResolved", "RESOLVED")])]
    await produce(bootstrap, events_topic, [(0, json.dumps(event).encode()) for event in old])
    gate = SinkGate(high_water=10_000)
    gate.published(len(old))
    dead: list[Any] = []
    feed = make_feed(bootstrap, events_topic, f"{topic_prefix}-sink", pool, gate, dead)
    feed.follow(range(PARTITIONS))
    feed.start()
    try:
        await eventually(lambda: _equals(stored(pool, "OLD"), 2))
    finally:
        await feed.stop()
    row = await pool.fetchrow("SELECT status, version, raw_payload FROM exceptions WHERE exception_id = 'OLD-1'")
    assert (row["status"], row["version"], row["raw_payload"]) == ("RESOLVED", 2, {"orderId": "O-1"})
    payloads = await pool.fetch("SELECT payload, seq FROM exception_events WHERE exception_id = 'OLD-1' ORDER BY seq")
    assert [(r["payload"], r["seq"]) for r in payloads] == [({}, 1), ({}, 2)]
    assert dead == []
