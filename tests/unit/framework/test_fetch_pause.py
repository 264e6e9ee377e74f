"""Pausing intake on a real faust consumer, with records fetched from the real broker: the records
of the paused partition that were fetched already are still delivered (faust's own
``pause_partitions`` drops them), the next fetch leaves that partition out, and once resumed it is
fetched again."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.types import TP

from sentinai.framework.fetch_pause import pause_fetching, resume_fetching
from tests.support.kafka import create_topic

PER_PARTITION = 3


async def produce(bootstrap: str, topic: str, values: list[tuple[int, str]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition, value in values:
            await producer.send_and_wait(topic, value.encode(), partition=partition)
    finally:
        await producer.stop()


@pytest.fixture
async def intake_topic(bootstrap: str, topic_prefix: str) -> str:
    """A two-partition topic holding three records on each partition."""
    name = await create_topic(bootstrap, f"{topic_prefix}.exceptions", 2)
    await produce(bootstrap, name, [(p, f"{p}:{o}") for o in range(PER_PARTITION) for p in (0, 1)])
    return name


class Fetcher:
    """What faust's consumer thread does for ``Consumer._getmany``, on a real aiokafka consumer
    assigned both partitions (no group: nothing rebalances). The first fetch returns one batch
    with every record on the topic, as a fetch after a backlog does; it notes what each fetch asks for."""

    def __init__(self, kafka: AIOKafkaConsumer) -> None:
        self.kafka = kafka
        self.asked: list[set[TP]] = []

    async def __call__(self, active_partitions: set[TP] | None, timeout: float) -> dict[TP, list[Any]]:
        active = set(active_partitions or ())
        self.asked.append(active)
        batch: dict[TP, list[Any]] = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            partitions = [TopicPartition(tp.topic, tp.partition) for tp in active]
            for tp, records in (await self.kafka.getmany(*partitions, timeout_ms=100)).items():
                batch.setdefault(TP(tp.topic, tp.partition), []).extend(records)
            if len(self.asked) > 1 or sum(map(len, batch.values())) >= 2 * PER_PARTITION:
                break
        return batch


@pytest.fixture
async def consumer(broker_url: str, bootstrap: str, intake_topic: str) -> AsyncIterator[Any]:
    """faust's consumer of an app on the broker, fetching through a :class:`Fetcher`."""
    app = faust.App(f"pause-{intake_topic}", broker=broker_url, store="memory://", web_enabled=False)
    kafka = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await kafka.start()
    tps = {TP(intake_topic, 0), TP(intake_topic, 1)}
    kafka.assign([TopicPartition(tp.topic, tp.partition) for tp in tps])
    consumer = app.consumer
    consumer._getmany = consumer.fetcher = Fetcher(kafka)  # the hop to the consumer thread, in this loop
    consumer.highwater = kafka.highwater
    consumer._set_active_tps(tps)
    try:
        yield consumer
    finally:
        await kafka.stop()


async def delivered_pausing_after_the_first(consumer: Any, pause: Callable[[set[TP]], None],
                                            tp: TP) -> list[str]:
    """One ``Consumer.getmany`` (a fetch and its delivery); ``tp`` is paused once one record is delivered."""
    delivered: list[str] = []
    async for _tp, message in consumer.getmany(timeout=5.0):
        delivered.append(message.value.decode())
        if len(delivered) == 1:
            pause({tp})
    return delivered


async def test_pausing_keeps_a_delivery_in_progress_whole_stops_the_next_fetch_and_resumes(
        consumer: Any, bootstrap: str, intake_topic: str) -> None:
    tp0, tp1 = TP(intake_topic, 0), TP(intake_topic, 1)
    delivered = await delivered_pausing_after_the_first(
        consumer, lambda tps: pause_fetching(consumer, tps), tp1)
    assert sorted(delivered) == sorted(f"{p}:{o}" for o in range(PER_PARTITION) for p in (0, 1))
    assert consumer._paused_partitions == {tp1}

    assert [m async for m in consumer.getmany(timeout=5.0)] == []
    assert consumer.fetcher.asked[-1] == {tp0}  # the next fetch leaves the paused partition out

    resume_fetching(consumer, {tp1})
    await produce(bootstrap, intake_topic, [(1, "1:3")])
    later: list[str] = []
    deadline = time.monotonic() + 10
    while not later and time.monotonic() < deadline:
        later = [m.value.decode() async for _tp, m in consumer.getmany(timeout=5.0)]
    assert consumer.fetcher.asked[-1] == {tp0, tp1} and later == ["1:3"]
    assert consumer._paused_partitions == set()


async def test_faust_own_pause_drops_the_fetched_records_of_the_paused_partition(
        consumer: Any, intake_topic: str) -> None:
    tp1 = TP(intake_topic, 1)
    delivered = await delivered_pausing_after_the_first(consumer, consumer.pause_partitions, tp1)
    print(f"faust's pause_partitions delivered {sorted(delivered)} of {2 * PER_PARTITION}")
    assert len(delivered) < 2 * PER_PARTITION
