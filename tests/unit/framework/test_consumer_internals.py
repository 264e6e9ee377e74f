"""The stall watchdog's count of input waiting, on a real faust consumer and the real broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import faust
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from sentinai.framework.consumer_internals import waiting_input
from sentinai.settings import bootstrap_servers


def _produce(bootstrap: str, topic: str, partitions: list[int]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition in partitions:  # one batch each: the embedded broker's ListOffsets sees every one
        producer.produce(topic, value=b"{}", partition=partition)
        assert producer.flush(10) == 0


def _commit(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()


async def _until(read: Callable[[], Any], expected: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while (value := await read()) != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return value


async def test_every_partition_where_input_waits_is_counted_in_full(
        broker_url: str, topic_prefix: str, handled_offsets_only: ModuleType) -> None:
    """The agent is stuck on a message and its one-message buffer is full, so the consumer hands
    over nothing more: what waits behind it on partition 0 and on partitions 1 and 3, which
    nothing was delivered from since the seek to their committed offsets, all counts."""
    bootstrap, topic, group = bootstrap_servers(broker_url), f"{topic_prefix}.input", f"{topic_prefix}-app"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 4, 1)])[topic].result(10)
    _produce(bootstrap, topic, [0, 1, 2, 3])
    _commit(bootstrap, group, topic, {0: 1, 1: 1, 2: 1, 3: 1})  # handled by an earlier worker
    # the worker's session timeout (sentinai.app.faust_app): with faust's 60 s the first join of the
    # group took 31 s on the embedded broker, with 10 s it takes 6
    app = faust.App(group, broker=broker_url, store="memory://", autodiscover=False, web_enabled=False,
                    topic_partitions=4, stream_buffer_maxsize=1, consumer_auto_offset_reset="earliest",
                    broker_commit_interval=0.2, broker_session_timeout=10, logging_config=None, loghandlers=[])
    stuck, released = asyncio.Event(), asyncio.Event()

    @app.agent(app.topic(topic, value_serializer="raw"))
    async def stuck_agent(stream: Any) -> None:
        async for _ in stream:
            stuck.set()
            await released.wait()  # a handler that does not return until the test is over

    await app.start()
    try:
        assert await _until(lambda: waiting_input(app), {}) == {}  # assigned, sought, nothing waits
        _produce(bootstrap, topic, [0, 0])  # one the agent takes and is stuck on, one in its buffer
        await asyncio.wait_for(stuck.wait(), 30)
        assert await _until(lambda: waiting_input(app), {}) == {}
        _produce(bootstrap, topic, [0, 1, 1, 3])  # nothing more can be handed over
        expected = {f"{topic}:0": 1, f"{topic}:1": 2, f"{topic}:3": 1}
        assert await _until(lambda: waiting_input(app), expected) == expected
    finally:
        released.set()  # faust's stop waits for the messages its agents took
        await app.stop()
