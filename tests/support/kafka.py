"""An independent Kafka client (confluent-kafka, librdkafka) to produce and read topics in tests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition


async def create_topic(bootstrap: str, name: str, partitions: int) -> str:
    """Create ``name`` with ``partitions`` partitions (replication 1) on the broker; return the name."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


def producer(bootstrap: str) -> Producer:
    # murmur2 is the Java client's (and aiokafka's) partitioner: one tenant, one partition, whoever produces.
    return Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 5})


def produce(bootstrap: str, topic: str, messages: Iterable[tuple[bytes | str | None, Any]]) -> int:
    p = producer(bootstrap)
    count = 0
    for key, value in messages:
        data = value if isinstance(value, bytes) else json.dumps(value).encode()
        p.produce(topic, key=key, value=data)
        count += 1
        if count % 1000 == 0:
            p.poll(0)
    assert p.flush(30) == 0
    return count


def produce_positions(bootstrap: str, topic: str,
                      messages: Iterable[tuple[bytes | str | None, bytes | None]]) -> list[tuple[int, int]]:
    """Produce raw values (``None`` is a null value, a tombstone) and return each one's (partition, offset)."""
    p = producer(bootstrap)
    positions: list[tuple[int, int] | None] = []

    def delivered(index: int) -> Callable[[Any, Any], None]:
        def report(err: Any, message: Any) -> None:
            assert err is None, err
            positions[index] = (message.partition(), message.offset())
        return report

    for key, value in messages:
        positions.append(None)
        while True:
            try:
                p.produce(topic, key=key, value=value, on_delivery=delivered(len(positions) - 1))
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                p.poll(0.1)
        p.poll(0)
    assert p.flush(60) == 0
    assert all(position is not None for position in positions)
    return positions  # type: ignore[return-value]


class TopicReader:
    """Reads a topic from the beginning, without a consumer group, across all its partitions."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex}",
                                  "enable.auto.commit": False})
        metadata = self.consumer.list_topics(topic, timeout=10)
        partitions = metadata.topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        self.messages: list[Any] = []

    def poll_until(self, done: Callable[[list[Any]], bool], timeout: float) -> list[Any]:
        deadline = time.monotonic() + timeout
        while not done(self.messages) and time.monotonic() < deadline:
            for message in self.consumer.consume(500, 0.2):
                if message.error() is None:
                    self.messages.append(message)
        return self.messages

    def close(self) -> None:
        self.consumer.close()


def read_all(bootstrap: str, topic: str, *, idle: float = 2.0, timeout: float = 60.0) -> list[Any]:
    """Every message currently on the topic: reads until nothing new arrives for ``idle`` seconds."""
    reader = TopicReader(bootstrap, topic)
    try:
        return read_all_from(reader, idle=idle, timeout=timeout)
    finally:
        reader.close()


def read_all_from(reader: TopicReader, *, idle: float = 2.0, timeout: float = 60.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    last_new = time.monotonic()
    while time.monotonic() - last_new < idle and time.monotonic() < deadline:
        batch = [m for m in reader.consumer.consume(1000, 0.2) if m.error() is None]
        if batch:
            reader.messages.extend(batch)
            last_new = time.monotonic()
    return reader.messages


def read_to_end(bootstrap: str, topic: str, *, timeout: float = 60.0) -> list[Any]:
    """Every message of a topic that nothing writes to any more (its writers have exited): reads
    each partition to the end its fetch responses report, which is right (ListOffsets is not:
    docs/design.md), instead of waiting for ``read_all``'s idle period."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        partitions = set(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        messages: list[Any] = []
        at_end: set[int] = set()
        deadline = time.monotonic() + timeout
        while at_end != partitions:
            assert time.monotonic() < deadline, f"{topic}: partitions {sorted(partitions - at_end)} not read to the end"
            for message in consumer.consume(1000, 0.2):
                error = message.error()
                if error is None:
                    messages.append(message)
                    at_end.discard(message.partition())
                elif error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
        return messages
    finally:
        consumer.close()


def table_contents(bootstrap: str, app_id: str, table: str) -> dict[Any, Any]:
    """A faust table as its changelog says it is now (last value per key)."""
    latest: dict[Any, Any] = {}
    for message in read_all(bootstrap, f"{app_id}-{table}-changelog"):
        key = json.loads(message.key())
        latest[key] = json.loads(message.value()) if message.value() is not None else None
    return latest


STAGES = ("triage", "policy", "playbook")


class StageCount:
    """A ``poll_until`` condition: at least ``expected`` distinct (exception, stage) decisions seen.

    It decodes only the messages that arrived since its last call, so polling a big topic stays linear.
    """

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.seen: set[tuple[str, str, str]] = set()
        self._read = 0

    def __call__(self, messages: list[Any]) -> bool:
        for message in messages[self._read:]:
            record = json.loads(message.value())
            for stage in record_stages(record):
                self.seen.add((record["tenant_id"], record["exception_id"], stage))
        self._read = len(messages)
        return len(self.seen) >= self.expected


def record_stages(record: dict[str, Any]) -> list[str]:
    """The decision stages (triage, policy, playbook) a decision record carries; later changes carry none."""
    return [s["stage"] for s in record["stages"] if s["stage"] in STAGES]


def stage_decisions(messages: list[Any]) -> dict[tuple[str, str, str], set[str]]:
    """(tenant, exception, stage) → ids of the records carrying it, for the three decision stages."""
    found: dict[tuple[str, str, str], set[str]] = {}
    for message in messages:
        record = json.loads(message.value())
        for stage in record_stages(record):
            found.setdefault((record["tenant_id"], record["exception_id"], stage), set()).add(record["event_id"])
    return found


def transition_events(messages: list[Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(transition, event) for every event of the transitions in ``messages`` (the events topic)."""
    out = []
    for message in messages:
        record = json.loads(message.value())
        out += [(record, event) for event in record["events"]]
    return out


def group_progress(bootstrap: str, group_id: str, topics: Iterable[str]) -> dict[str, list[tuple[int, int]]]:
    """(committed offset, true end) per partition for a consumer group: where a stalled worker stopped.

    The end is the last offset actually read + 1, not the broker's reported high watermark (the
    embedded broker under-reports it; see docs/design.md).
    """
    progress: dict[str, list[tuple[int, int]]] = {}
    for topic in topics:
        reader = TopicReader(bootstrap, topic)
        try:
            partitions = sorted(reader.consumer.list_topics(topic, timeout=10).topics[topic].partitions)
            ends = dict.fromkeys(partitions, 0)
            for message in read_all_from(reader, idle=1.0):
                ends[message.partition()] = max(ends[message.partition()], message.offset() + 1)
        finally:
            reader.close()
        committed = committed_offsets(bootstrap, group_id, topic, partitions)
        progress[topic] = [(committed[p], ends[p]) for p in partitions]
    return progress


def committed_offsets(bootstrap: str, group_id: str, topic: str, partitions: int | Iterable[int]) -> dict[int, int]:
    """The group's committed offset per partition of ``topic`` (all ``partitions`` of them, or those
    numbers); -1001, librdkafka's "invalid", where it committed none."""
    numbers = range(partitions) if isinstance(partitions, int) else partitions
    group = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False})
    try:
        committed = group.committed([TopicPartition(topic, p) for p in numbers], timeout=10)
    finally:
        group.close()
    return {tp.partition: tp.offset for tp in committed}
