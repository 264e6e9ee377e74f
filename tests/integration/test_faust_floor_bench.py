"""The faust floor benchmark against the real broker: every variant handles every input and
reports its rate and CPU time."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from sentinai.bench import faust_floor

PARTITIONS = 4


async def _records(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        count = 0
        while batches := await consumer.getmany(timeout_ms=2000):
            count += sum(len(records) for records in batches.values())
        return count
    finally:
        await consumer.stop()


def test_every_variant_handles_every_input(broker_url: str, bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINAI_KAFKA_BROKER", broker_url)
    source = f"floor{uuid.uuid4().hex[:6]}.in"
    results = faust_floor.run(200, PARTITIONS, source=source)

    for traffic in ("bare", "one", "worker"):
        assert asyncio.run(_records(bootstrap, f"{source}.{traffic}-out")) == 200 * (2 if traffic == "worker" else 1)
    assert asyncio.run(_records(bootstrap, f"{source}.worker-decisions")) == 2 * 200  # with and without idle topics
    for name, value in results.items():
        assert value > 0, name
    assert results["faust_one_out_vs_raw_ratio"] == pytest.approx(
        results["faust_one_out_msgs_per_second"] / results["raw_msgs_per_second"])
