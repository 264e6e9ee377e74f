"""The sink feed: the events topic read with a plain aiokafka consumer, in bulk, into the sink.

Why not a faust agent: faust's per-message stream cost the sink ~0.3 ms of the worker's one core
per event (~11 events per exception), ten times what the Postgres write itself costs. This feed
takes records with ``getmany`` in batches and hands them to :class:`~sentinai.sinks.sink.Sink`.

**Which partitions.** The feed follows the worker's assignment: it reads the events partitions
with the *numbers* of the worker's intake partitions (:meth:`SinkFeed.follow`, called from faust's
``on_partitions_assigned``). All pipeline topics are co-partitioned and every event is published on
its input's partition number, so the worker that publishes an event is the one that stores it and
the per-worker :class:`~sentinai.sinks.backpressure.SinkGate` balances. The events topic is not in
faust's subscription at all (faust's assignor does not need it: the partition numbers it gives the
intake topic are the ones to follow), so faust no longer fetches it.

**Offsets.** The consumer uses manual assignment (no group membership, no heartbeats, no
rebalances of its own) and commits to the group ``<app_id>-sink``. A batch's offsets are
committed only after the batch and every earlier one are stored. Each partition is read
contiguously from where the consumer was sought: its committed offset (everything below it was
stored, by this worker or another) or, never committed, its first offset. So a committed offset
never passes an event that is not stored. After a change of assignment the consumer is sought to
the committed offsets again (aiokafka does it on ``assign``): batches still in flight are stored
and acknowledged, offsets of partitions no longer assigned are not committed, and what was read
twice is stored twice — a no-op, the writer is idempotent on ``event_id``. A failed commit is only
logged: the next one carries the same offsets (or later ones).

**Failures.** No exception leaves the feed: a write is retried for ever (the database is down:
the feed stops reading, the gate pauses intake), a fetch or commit error is logged and retried,
an undecodable envelope is dead-lettered (the callback waits until the DLQ has it, before the
commit passes it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from sentinai.sinks.backpressure import SinkGate
from sentinai.sinks.retry import retry_forever
from sentinai.sinks.sink import DeadLetter, Sink
from sentinai.sinks.writer import EventWriter

log = logging.getLogger(__name__)

_FETCH_RETRY_SECONDS = 1.0
# The broker answers a fetch once it has this much (or the fetch's max wait passed). With the
# default of one byte, a feed that keeps up is answered after every few events: 2.7x as many
# fetch requests to send and parse on the worker's one core in the pipeline benchmark, for batches
# the sink then holds for ``batch_seconds`` anyway (docs/performance.md).
_FETCH_MIN_BYTES = 64 * 1024


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    """The feed ends only when stopped; anything else is a bug that must not pass silently."""
    if not task.cancelled() and task.exception() is not None:
        log.error("sink feed stopped: events are no longer stored", exc_info=task.exception())


class SinkFeed:
    def __init__(self, *, bootstrap_servers: str, topic: str, group_id: str,
                 writer_factory: Callable[[], Awaitable[EventWriter]], gate: SinkGate, dead_letter: DeadLetter,
                 batch_size: int, batch_seconds: float, in_flight: int, fetch_max_wait_ms: int) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._group_id = group_id
        self._writer_factory = writer_factory
        self._gate = gate
        self._dead_letter = dead_letter
        self._batch_size = batch_size
        self._batch_seconds = batch_seconds
        self._in_flight = in_flight
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._wanted: frozenset[TopicPartition] = frozenset()
        self._assigned: frozenset[TopicPartition] = frozenset()
        self._consumer: AIOKafkaConsumer | None = None
        self._uncommitted: dict[TopicPartition, int] = {}
        self._task: asyncio.Task[None] | None = None

    def follow(self, partitions: Iterable[int]) -> None:
        """Read these partition numbers of the events topic from now on (applied between fetches)."""
        self._wanted = frozenset(TopicPartition(self._topic, p) for p in partitions)

    @property
    def reading(self) -> list[int]:
        """The partition numbers the consumer is assigned now (``follow`` takes effect between fetches)."""
        return sorted(tp.partition for tp in self._assigned)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sink-feed")
            self._task.add_done_callback(_log_unexpected_end)

    async def stop(self) -> None:
        """Stop reading; batches in flight are abandoned unacknowledged (the next owner reads them again)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        writer = await retry_forever(self._writer_factory, what="sink feed start (database pool)")
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap_servers, group_id=self._group_id,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    fetch_max_wait_ms=self._fetch_max_wait_ms, fetch_min_bytes=_FETCH_MIN_BYTES)
        sink = Sink(writer=writer, gate=self._gate, dead_letter=self._dead_letter, acknowledge=self._commit,
                    in_flight=self._in_flight)
        while True:
            try:
                await consumer.start()
                break
            except asyncio.CancelledError:
                await consumer.stop()
                raise
            except Exception as err:  # the broker is not reachable yet
                log.warning("sink feed cannot start its consumer (%s: %s); retrying", type(err).__name__, err)
                await asyncio.sleep(_FETCH_RETRY_SECONDS)
        self._consumer = consumer
        try:
            while True:
                batch = await self._next_batch(consumer)
                if batch:
                    await sink.submit(batch)
        finally:
            sink.cancel()
            self._consumer = None
            await consumer.stop()

    def _follow_assignment(self, consumer: AIOKafkaConsumer) -> None:
        wanted = self._wanted
        if wanted == self._assigned:
            return
        log.info("sink feed: reading %s partitions %s", self._topic, sorted(tp.partition for tp in wanted))
        consumer.assign(list(wanted))  # every partition is sought to its committed offset again
        self._assigned = wanted
        self._uncommitted = {tp: offset for tp, offset in self._uncommitted.items() if tp in wanted}

    async def _next_batch(self, consumer: AIOKafkaConsumer) -> list[Any]:
        """Up to ``batch_size`` records: what is there once the first arrived and ``batch_seconds`` passed."""
        batch: list[Any] = []
        deadline: float | None = None
        while len(batch) < self._batch_size:
            self._follow_assignment(consumer)
            if not self._assigned:
                if batch:
                    return batch
                await asyncio.sleep(self._batch_seconds)
                continue
            wait = self._batch_seconds if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                break
            try:
                fetched = await consumer.getmany(timeout_ms=int(wait * 1000) + 1,
                                                 max_records=self._batch_size - len(batch))
            except asyncio.CancelledError:
                raise
            except Exception as err:  # broker trouble: what was fetched so far is still written
                log.warning("sink feed fetch failed (%s: %s); retrying", type(err).__name__, err)
                if batch:
                    return batch
                await asyncio.sleep(_FETCH_RETRY_SECONDS)
                continue
            for records in fetched.values():
                batch.extend(records)
            if batch and deadline is None:
                deadline = time.monotonic() + self._batch_seconds
        return batch

    async def _commit(self, batch: Sequence[Any]) -> None:
        """The batch and every earlier one are stored: commit past them, for the partitions still read."""
        for record in batch:
            tp = TopicPartition(record.topic, record.partition)
            if tp in self._assigned:
                self._uncommitted[tp] = max(self._uncommitted.get(tp, 0), record.offset + 1)
        consumer = self._consumer
        if consumer is None or not self._uncommitted:
            return
        offsets = dict(self._uncommitted)
        try:
            await consumer.commit(offsets)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the next commit carries these offsets again
            log.warning("sink feed commit failed (%s: %s); the next batch retries it", type(err).__name__, err)
            return
        for tp, offset in offsets.items():
            if self._uncommitted.get(tp) == offset:
                del self._uncommitted[tp]
