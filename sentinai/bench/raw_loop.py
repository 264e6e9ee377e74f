"""The pipeline benchmark's baseline: a raw aiokafka loop over the same input as the worker
(consume, decode, produce; optionally the worker's own fan-out and read-back) on the batch loop
it shares with ``sentinai.bench.batch_intake``, and the plain producer, topic creation and record
count the benchmarks preload and check their topics with."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from sentinai.streams import codec


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def count_records(bootstrap: str, topic: str, partitions: int) -> int:
    """Records in ``topic``, counted by reading it to the end (Tansu under-reports ListOffsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        count = 0
        while batches := await consumer.getmany(timeout_ms=1000, max_records=10_000):
            count += sum(len(records) for records in batches.values())
        return count
    finally:
        await consumer.stop()


async def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


def _per_input(count: int, per_input: float) -> list[int]:
    """``per_input`` spread over ``count`` inputs as whole numbers that add up to its total."""
    return [round((i + 1) * per_input) - round(i * per_input) for i in range(count)]


Handler = Callable[[AIOKafkaProducer, TopicPartition, ConsumerRecord], Awaitable[None]]
"""What a loop does with one input: (the loop's producer, the input's partition, the record)."""


async def batch_loop(bootstrap: str, source: str, count: int, partitions: int, handle: Handler, *,
                     back_topic: str | None = None, expected_back: int = 0,
                     read_back: Callable[[bytes], object] = codec.loads) -> tuple[float, float]:
    """Wall and CPU seconds, from the first input taken, for a loop that takes the ``count``
    inputs of ``source`` in batches and hands each to ``handle``, while a second consumer reads
    ``expected_back`` records of ``back_topic`` and decodes each with ``read_back``; every message
    produced is delivered at the end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                              max_partition_fetch_bytes=4 * 1024 * 1024)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    for client in (consumer, reader, producer):
        await client.start()

    async def read_all_back() -> None:
        seen = 0
        while seen < expected_back:
            for records in (await reader.getmany(timeout_ms=500, max_records=5000)).values():
                for record in records:
                    read_back(record.value)
                seen += len(records)

    reading: asyncio.Task[None] | None = None
    try:
        if back_topic is not None:
            reader.assign([TopicPartition(back_topic, p) for p in range(partitions)])
        assigned = [TopicPartition(source, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        reading = asyncio.create_task(read_all_back())
        seen, wall, cpu = 0, 0.0, 0.0
        while seen < count:
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=2000)).items():
                if not seen:
                    wall, cpu = time.perf_counter(), time.process_time()
                for record in records:
                    await handle(producer, tp, record)
                seen += len(records)
        await producer.flush()
        await reading
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        if reading is not None:
            reading.cancel()
        for client in (consumer, reader, producer):
            await client.stop()


async def raw_loop(bootstrap: str, source: str, prefix: str, count: int, partitions: int, *,
                   out_per_input: float = 1.0, back_per_input: float = 0.0) -> float:
    """Seconds for a raw loop over ``count`` inputs: each consumed and decoded, ``out_per_input``
    messages produced for it, ``back_per_input`` of them consumed and decoded again. The defaults
    are the plain consume → decode → produce loop."""
    out_topic, back_topic = f"{prefix}.raw-out", f"{prefix}.raw-back"
    back = _per_input(count, back_per_input)
    plan = iter([(b, o - b) for b, o in zip(back, _per_input(count, out_per_input), strict=True)])  # (to back, to out)
    await create_topic(bootstrap, out_topic, partitions)
    await create_topic(bootstrap, back_topic, partitions)

    async def relay(producer: AIOKafkaProducer, tp: TopicPartition, record: ConsumerRecord) -> None:
        value = codec.dumps(codec.loads(record.value))
        to_back, to_out = next(plan)
        for _ in range(to_back):
            await producer.send(back_topic, value, key=record.key, partition=tp.partition)
        for _ in range(to_out):
            await producer.send(out_topic, value, key=record.key, partition=tp.partition)

    wall, _ = await batch_loop(bootstrap, source, count, partitions, relay, back_topic=back_topic,
                               expected_back=sum(back))
    return wall
