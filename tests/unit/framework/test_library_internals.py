"""Each correction in ``sentinai.framework`` relies on private code of faust-streaming, mode-streaming
and aiokafka at the versions pyproject.toml pins. These tests fail when that code changes.

Per correction: a hash of the source of every library function it replaces, wraps or depends on
the behaviour of (a new release that touches one of them must be read against the correction's
docstring before the hash and the pin are raised), and the private fields it reads or writes
(each must still be assigned in its class's source).
"""

from __future__ import annotations

import hashlib
import inspect
import re
import textwrap
from typing import Any

import aiokafka.consumer.consumer
import aiokafka.consumer.fetcher
import aiokafka.consumer.group_coordinator
import aiokafka.consumer.subscription_state
import aiokafka.producer.message_accumulator
import aiokafka.producer.producer
import faust.streams
import faust.tables.base
import faust.tables.recovery
import faust.topics
import faust.transport.consumer
import faust.transport.drivers.aiokafka as faust_aiokafka
import faust.transport.producer
import faust.types.tuples
import mode.utils.queues
import pytest

Consumer = faust.transport.consumer.Consumer
ConsumerThread = faust.transport.consumer.ConsumerThread
Stream = faust.streams.Stream
MessageBatch = aiokafka.producer.message_accumulator.MessageBatch
MessageAccumulator = aiokafka.producer.message_accumulator.MessageAccumulator


def source_hash(obj: Any) -> str:
    return hashlib.sha256(textwrap.dedent(inspect.getsource(obj)).encode()).hexdigest()[:16]


def assigned(cls: type, *fields: str) -> list[str]:
    """The ``fields`` that ``cls``'s source (or its bases') neither assigns as ``self.<field>`` nor
    defines as a property."""
    sources = "".join(inspect.getsource(c) for c in cls.__mro__ if c.__module__.split(".")[0] in
                      {"faust", "mode", "aiokafka"})
    return [f for f in fields if not re.search(rf"self\.{re.escape(f)}\s*(:[^=\n]*)?=[^=]", sources)
            and not re.search(rf"@property\s+def {re.escape(f)}\(", sources)]


# correction -> the library code it was written against: (object, sha256 of its source, first 16)
RELIES_ON: dict[str, list[tuple[Any, str]]] = {
    "producer_flush": [
        (faust.transport.producer.ProducerBuffer, "7d4d7ab98f260d29"),
    ],
    "flow_resume": [
        (mode.utils.queues.FlowControlEvent, "1da8f905ab655e39"),
        (mode.utils.queues.FlowControlQueue, "15f15a87fd6de428"),
    ],
    "handled_offsets": [
        (Consumer.__init__, "00f02908cf84d93a"),
        (Consumer.getmany, "e486c434b7928ee8"),
        (Consumer._wait_next_records, "ba40cd3671328d3b"),
        (Consumer.perform_seek, "2b4ceebd23deb7ee"),
        (Consumer._new_offset, "2b29afe4dd9a65a3"),
    ],
    "commit_guard": [
        (faust_aiokafka.Producer._new_producer, "a1bef421b9909a72"),
        (faust_aiokafka.Consumer._commit, "91c201528438395b"),
        (Consumer._commit_offsets, "86b3e9b0aec773ac"),
        (MessageAccumulator._append_batch, "edfa9c58877ae4d7"),
        (MessageBatch.__init__, "ca0c32ee765b66f3"),
    ],
    "producer_lookup": [
        (faust.topics.Topic._get_producer, "557aa0c555ff8061"),
    ],
    "recovery_end": [
        (faust.tables.recovery.Recovery.need_recovery, "c6860beac5d773db"),
    ],
    "fetch_wait": [
        (faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer, "c179c0bdb9755c3a"),
    ],
    "read_committed": [
        (faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer, "c179c0bdb9755c3a"),
        (aiokafka.consumer.consumer.AIOKafkaConsumer.start, "5ba1baa38f6246a0"),
    ],
    "acking": [
        (Stream.events, "bed62827877656f6"),
        (Stream.noack, "40489cfbbb7d4f21"),
        (Stream.ack, "c3cfc8c4fc8f0e58"),
    ],
    "fetch_pause": [
        (Consumer.pause_partitions, "a1814af098238ff1"),
        (Consumer.resume_partitions, "fc6392136c275c6c"),
        (Consumer._get_active_partitions, "da41bc1e8d869433"),
        (Consumer.getmany, "e486c434b7928ee8"),
    ],
    "seek_thread": [
        (faust.transport.consumer.ThreadDelegateConsumer._seek, "3343eefa6aa440ca"),
        (faust_aiokafka.AIOKafkaConsumerThread.seek, "a37cbe9d285f6b80"),
        (aiokafka.consumer.fetcher.Fetcher.seek_to, "10c45c3c873d9c50"),
        (aiokafka.consumer.fetcher.Fetcher.fetched_records, "e20ce0c8117f12d2"),
    ],
    "held_messages": [
        (Consumer.wait_empty, "53195dca246c0a86"),
        (Consumer._clean_unacked_messages, "c616dec1d18bd157"),
        (Consumer.ack, "5548cf0f75843f73"),
        (faust.types.tuples.Message.ack, "3c9ee05236d3fe1f"),
    ],
    "current_event": [
        (faust.streams.current_event, "3b821f1a78d86a58"),
        (Stream.noack_take, "ad0a704eef3c1f69"),
        (faust.tables.base.Collection.partition_for_key, "1fcffc344730fe21"),
    ],
}


@pytest.mark.parametrize("correction", sorted(RELIES_ON))
def test_the_library_code_a_correction_relies_on_is_the_code_it_was_written_against(correction: str) -> None:
    changed = [f"{obj.__module__}.{obj.__qualname__}: {source_hash(obj)}"
               for obj, expected in RELIES_ON[correction] if source_hash(obj) != expected]
    assert not changed, (f"sentinai.framework.{correction} was written against other code than this; read "
                         f"its docstring against the change before updating these hashes: {changed}")


def test_the_fields_the_corrections_use_are_still_there() -> None:
    missing = {
        "producer_flush": assigned(faust.transport.producer.ProducerBuffer, "message_sent", "pending"),
        "flow_resume": assigned(mode.utils.queues.FlowControlEvent, "_suspend", "_resume", "_queues"),
        "handled_offsets": assigned(Consumer, "_read_offset", "_committed_offset", "_acked", "callback"),
        "fetch_pause": assigned(Consumer, "_active_partitions", "_paused_partitions"),
        "commit_guard": assigned(aiokafka.producer.producer.AIOKafkaProducer, "_message_accumulator")
        + assigned(MessageBatch, "future", "_msg_futures"),
        "fetch_wait": assigned(aiokafka.consumer.consumer.AIOKafkaConsumer, "_fetch_max_wait_ms"),
        "read_committed": assigned(aiokafka.consumer.consumer.AIOKafkaConsumer, "_isolation_level"),
        "seek_thread": assigned(faust.transport.consumer.ThreadDelegateConsumer, "_thread"),
        "recovery_end": assigned(faust.tables.recovery.Recovery, "active_highwaters"),
        "consumer_internals": (
            assigned(Consumer, "_buffered_partitions", "_unacked_messages", "_gap")
            + assigned(faust_aiokafka.Consumer, "_thread")
            + assigned(ConsumerThread, "_thread") + assigned(faust_aiokafka.AIOKafkaConsumerThread, "_consumer")
            + assigned(aiokafka.consumer.consumer.AIOKafkaConsumer, "_fetcher", "_coordinator", "_subscription")
            + assigned(aiokafka.consumer.fetcher.Fetcher, "_fetch_task", "_records", "_in_flight",
                       "_fetch_waiters")
            + assigned(aiokafka.consumer.group_coordinator.GroupCoordinator, "generation", "_rejoin_needed_fut",
                       "_heartbeat_task", "_coordination_task")
            + assigned(aiokafka.consumer.subscription_state.TopicPartitionState, "_position", "highwater",
                       "paused", "awaiting_reset")),
    }
    assert {name: fields for name, fields in missing.items() if fields} == {}
