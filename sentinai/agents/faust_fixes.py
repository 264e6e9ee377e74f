"""Fixes for faust-streaming behaviour that breaks the pipeline's guarantees; the worker installs them.

**ProducerBuffer.flush gives up early (faust-streaming 0.15).** Table writes (``table[k] = v``)
reach the changelog through the producer's buffer (``send_soon``): a queue drained by a
background task that hands one message at a time to the Kafka client. Before committing input
offsets faust calls ``producer.flush()``, which should drain that buffer first — that is what
makes "table changes reach the changelog before input offsets are committed" true. faust's
``ProducerBuffer.flush`` returns as soon as one message takes longer than 0.1 s to hand over,
and it ignores the message the background task has taken off the queue but not handed over yet.
The commit then goes ahead with changelog writes still in the buffer, and a crash (kill -9) at
that moment loses table changes whose input is committed: nothing replays them. The chaos test
saw exactly that as tenant stats a few decisions short after three kill -9s.

The replacement waits until the queue is empty *and* nothing is in flight. It gives up only
when the buffer is not running (as faust's does), so a stuck producer shows up as a stuck
commit with a warning every 10 s rather than as silently lost table changes.

**Every ``Topic.send`` yields to the event loop three times (faust-streaming 0.15, mode 0.4).**
Each publish looks the producer up through ``App.maybe_start_producer``, which is wrapped in
mode's ``stampede``: three ``await asyncio.sleep(0)`` per call, even when the producer has long
been started. So every message published (events, decisions, table changelog writes) costs three
event-loop turns, each with a ``select()`` that releases the GIL to the consumer's thread — the
intake agent spent most of its wall time there and the worker decided ~100 exceptions/s. The
replacement hands the started producer straight over and keeps faust's path for the rest (not
started yet, or the exactly-once transaction manager).

**Table recovery stops at the end ListOffsets reports.** faust recovers a table by reading its
changelog partitions up to the end offsets it asked for with ListOffsets(latest) when recovery
began. The embedded broker (Tansu) answers with the base offset of the last record batch + 1, so
recovery ended after the first record of the last batch and the rest of that batch never reached
the table. When the input behind those records was already committed nothing replayed them: after
a kill -9, or a partition moving between workers, the tenant stats were a decision or a duplicate
short. Fetch responses carry the true end (the high watermark), so recovery now reads on to the
largest end its fetches have reported. A broker that reports the true end in ListOffsets is
unaffected: the fetched end is never larger than what recovery already waits for.

**The worker's consumer long-polls for 1.5 s (faust-streaming 0.15 hard-codes it).** aiokafka has
one fetch request in flight per broker, and a partition whose fetched records faust has not taken
yet is left out of the next request. So the request in flight was often one for idle partitions
(commands, changelogs), which the broker holds for the whole wait, while new exceptions on the
intake partitions waited behind it: at 50 exceptions/s, a tenth of what the worker can do, the
median exception reached the intake agent ~400 ms after it was produced. The worker's consumer now
waits at most ``SENTINAI_FETCH_MAX_WAIT_MS`` (default 50 ms): ~10 ms at the same load, for about
20 more fetch requests a second from an idle worker.

**A commit passes outputs that were never delivered (faust-streaming 0.15, aiokafka 0.14).** Every
message the worker publishes (the agents' ``DirectTopic`` sends, faust's ``Topic.send``, table
changelog writes) goes through faust's aiokafka ``Producer.send``, which hands it to the Kafka
client and returns a delivery future; nobody looks at the failures of those futures. Before
committing input offsets faust awaits ``producer.flush()``, and aiokafka's flush only *waits* for
the batches: a batch that expired (faust's producer request timeout, 20 minutes by default) or
met a non-retriable error is failed without an exception reaching the flush. The commit then went
ahead, and the events, decisions and changelog writes of the committed input were lost for good.
The guard records the failed record batches of the producer's Kafka client as they fail (one
callback per batch, nothing per message); at commit time, after the flush, a failed delivery
since the worker started refuses the commit, logs a CRITICAL line naming the topics, partitions
and error, and crashes the consumer, which stops the worker with exit code 1. A restarted worker
re-processes from the last committed offsets; every output is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

_WARN_EVERY = 10.0


def install_reliable_producer_flush() -> None:
    """Make ``ProducerBuffer.flush`` drain the buffer for real (idempotent)."""
    from faust.transport.producer import ProducerBuffer

    if getattr(ProducerBuffer, "_sentinai_reliable_flush", False):
        return
    send_one = ProducerBuffer._send_pending

    async def _send_pending(self: Any, fut: Any) -> None:
        self._sentinai_in_flight += 1
        try:
            await send_one(self, fut)
        finally:
            self._sentinai_in_flight -= 1

    async def flush(self: Any) -> None:
        waited = 0.0
        while self.size or self._sentinai_in_flight:
            if self.state != "running" and self.size:
                raise RuntimeError("Cannot flush: Producer not Running")
            self.message_sent.clear()
            try:
                await asyncio.wait_for(self.message_sent.wait(), timeout=0.1)
            except TimeoutError:
                waited += 0.1
                if waited >= _WARN_EVERY:
                    log.warning("producer buffer flush still waiting: %d queued, %d in flight",
                                self.size, self._sentinai_in_flight)
                    waited = 0.0

    ProducerBuffer._sentinai_in_flight = 0  # type: ignore[attr-defined]
    ProducerBuffer._send_pending = _send_pending  # type: ignore[method-assign]
    ProducerBuffer.flush = flush  # type: ignore[method-assign]
    ProducerBuffer._sentinai_reliable_flush = True  # type: ignore[attr-defined]


def install_keep_queued_messages_on_resume() -> None:
    """Make ``flow_control.resume()`` clear the agents' input queues only when flow was suspended.

    faust's agent input queues are cleared whenever ``app.flow_control.resume()`` is called, and
    table recovery calls it again at its very end, after it has resumed the stream partitions and
    awaited the seek to the committed offsets — while flow is already active and the fetcher has
    been filling those queues. Every message in them is dropped unacked. faust has recorded them
    as read, so they are never fetched again: the partition's commit stops below the first one
    (the worker looks idle with lag: the kill -9 restart stall), or, when a later fetch jumps past
    them, faust's gap handling commits over them (exceptions silently never decided). After a
    kill -9 the restarted worker always has such a backlog, so this hit the chaos test often.

    Clearing on a suspended → active transition (the end of a rebalance, when queued messages
    belong to an assignment that is gone) is kept; resuming flow that is already active keeps
    the queues and logs how many messages faust would have dropped.
    """
    from mode.utils.queues import FlowControlEvent

    if getattr(FlowControlEvent, "_sentinai_keeps_queues", False):
        return

    def resume(self: Any) -> None:
        was_suspended = self._suspend.is_set()
        self._suspend.clear()
        self._resume.set()
        if was_suspended:
            self.clear()
            return
        queued = sum(queue.qsize() for queue in self._queues)
        if queued:
            log.info("flow control resumed while active: kept %d queued messages that faust would drop", queued)

    FlowControlEvent.resume = resume  # type: ignore[method-assign]
    FlowControlEvent._sentinai_keeps_queues = True  # type: ignore[attr-defined]


class ReadOffsets(dict):  # type: ignore[type-arg]
    """faust's per-partition read offsets, but unknown (None) for topics whose offsets are acked.

    With no read offset, faust neither drops a fetched message as already read nor takes a jump
    in offsets for a compaction gap (whose offsets it would count as acked).
    """

    def __init__(self, acks_enabled_for: Callable[[str], bool]) -> None:
        super().__init__()
        self._acks_enabled_for = acks_enabled_for

    def __missing__(self, tp: Any) -> None:
        return None

    def __getitem__(self, tp: Any) -> Any:
        if self._acks_enabled_for(tp.topic):
            return None
        return super().__getitem__(tp)


class InOrderDelivery:
    """Hands the fetched messages of acked topics to the agents once each, in offset order and
    without holes, per consumer generation, also across the seek that follows every rebalance.

    Per partition it knows the next offset to deliver: the one after the last delivered, or, after
    a seek to the committed offset (:meth:`seeked`), that offset. Anything else is dropped: below
    it, a re-fetch of what was delivered; above it, a record fetched before the seek (or after a
    hole), which the fetch from the expected offset brings again, in order. The first message of a
    generation on a partition that was not sought is taken as it comes. Records of an earlier
    generation, still trickling out of the fetch loop after a rebalance, are passed through
    untracked (the streams skip them unacked; the new generation fetches them again).

    Our topics are neither compacted nor transactional, so their offsets have no holes: a record
    above the expected offset outside a seek would mean a broker bug, and it stalls the partition
    (the watchdog reports it) rather than skipping messages.
    """

    def __init__(self, deliver: Callable[[Any], Awaitable[None]],
                 acks_enabled_for: Callable[[str], bool]) -> None:
        self._deliver = deliver
        self._acks_enabled_for = acks_enabled_for
        self._generation: int | None = None
        self._next: dict[Any, int] = {}
        self._seek_done = asyncio.Event()
        self._seek_done.set()

    def _enter(self, generation: int | None) -> bool:
        """Track ``generation`` from now on if it is newer; False for a stale one."""
        if generation == self._generation:
            return True
        if self._generation is not None and generation is not None and generation < self._generation:
            return False
        self._generation, self._next = generation, {}
        return True

    def seeking(self) -> None:
        """A seek to the committed offsets starts: deliveries wait until :meth:`seeked` says where it went."""
        self._seek_done.clear()

    def seeked(self, positions: Mapping[Any, int], *, generation: int | None) -> None:
        """The consumer sought these partitions to these offsets: each one's next delivery."""
        if self._enter(generation):
            for tp, offset in positions.items():
                if self._acks_enabled_for(tp.topic):
                    self._next[tp] = offset
        self._seek_done.set()

    async def __call__(self, message: Any) -> None:
        if not self._acks_enabled_for(message.topic):
            await self._deliver(message)
            return
        await self._seek_done.wait()
        if not self._enter(message.generation_id):
            await self._deliver(message)  # stale: the stream skips it; nothing to track
            return
        expected = self._next.get(message.tp)
        if expected is not None and message.offset != expected:
            return
        await self._deliver(message)
        self._next[message.tp] = message.offset + 1  # after: a delivery cut off by a rebalance is not counted


def install_commit_only_what_was_handled() -> None:
    """Make the consumer hand every message of the agents' topics to them, in order, and commit
    only offsets that were handled, contiguously from the committed position.

    faust remembers the last offset it handed to the agents per partition (the *read offset*) and
    (a) drops a fetched message below it as already seen, and (b) takes a jump above it for a gap
    left by compaction or transaction markers and counts the skipped offsets as acked. Around a
    rebalance neither holds: the read offset is reset to the committed offset while records
    fetched before that seek are still being delivered (so "gaps" of offsets that are in fact in
    flight appear after every seek), and the previous assignment's fetch loop can leave a stale
    read offset behind (so the re-fetch from the committed offset is dropped). On top, the commit
    refuses to skip an unacked head only when it is longer than one offset. The scale test saw
    the result as one event on the log that the sink never stored, its offset committed. Our
    topics are neither compacted nor transactional, so their offsets are contiguous. Hence:

    * no read offsets for acked topics (no faust drops, no gaps); :class:`InOrderDelivery`,
      told where each seek went, hands each partition over once, in order and without holes
      (the tenant stats' idempotence relies on order);
    * a commit never moves past the committed position unless the message there was acked: a
      message that never arrives stalls the partition (the watchdog reports it) instead of being
      committed over;
    * every fetched record is delivered. faust skipped, at delivery, the records of partitions
      that were not active any more — paused, or flipped between "active" and "buffered" (its
      agents' queues full) while a fetched batch was being delivered. The client's position was
      past them already, so they left a hole: committed over by the gap handling before, a stall
      with the delivery filter (the PostgreSQL-outage test, with the intake paused and the sink's
      queue full). Pausing is for what is fetched next, not for what was fetched.

    Changelog topics (not acked, read by table recovery) keep faust's behaviour.
    """
    from faust.transport.consumer import Consumer, ensure_TP

    if getattr(Consumer, "_sentinai_commits_handled_only", False):
        return
    init = Consumer.__init__
    new_offset = Consumer._new_offset

    def acks_enabled_for(consumer: Any, topic: str) -> bool:
        return bool(consumer.app.topics.acks_enabled_for(topic))

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._read_offset = ReadOffsets(functools.partial(acks_enabled_for, self))
        self.callback = self._sentinai_delivery = InOrderDelivery(
            self.callback, functools.partial(acks_enabled_for, self))

    async def perform_seek(self: Any) -> None:
        """faust's seek to the committed offsets, telling the delivery filter where each partition went.

        A partition of ours that was never committed is sought to its first offset: the client
        leaves it wherever it is, and a record fetched before and lost (cleared with the agents'
        queues when flow resumes) would never come again — a restarted worker stalled on a tool
        request nobody had committed yet.
        """
        delivery: InOrderDelivery = self._sentinai_delivery
        committed: Mapping[Any, int | None] = {}
        positions: dict[Any, int] = {}
        delivery.seeking()
        try:
            committed = await self.seek_to_committed()
            positions = {tp: offset for tp, offset in committed.items() if offset}
            never = [tp for tp, offset in committed.items() if not offset and acks_enabled_for(self, tp.topic)]
            if never:
                first = await self.earliest_offsets(*never)
                for tp in never:
                    positions[tp] = first.get(tp) or 0
                    await self._seek(tp, positions[tp])
        finally:
            delivery.seeked(positions, generation=self.app.consumer_generation_id)
        self._read_offset.update({tp: offset if offset is not None and offset >= 0 else None
                                  for tp, offset in committed.items()})
        self._committed_offset.update({ensure_TP(tp): offset or None
                                       for tp, offset in committed.items() if offset is not None})

    @functools.wraps(new_offset)
    def _new_offset(self: Any, tp: Any) -> int | None:
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        if acked and committed is not None and min(acked) > committed:
            return None  # the message at the committed position is not handled yet
        return new_offset(self, tp)

    wait_next_records = Consumer._wait_next_records

    async def _wait_next_records(self: Any, timeout: float) -> tuple[Any, None]:
        records, _active = await wait_next_records(self, timeout)
        return records, None  # no active-partition filter at delivery: deliver all that was fetched

    Consumer.__init__ = __init__  # type: ignore[method-assign]
    Consumer._wait_next_records = _wait_next_records  # type: ignore[method-assign]
    Consumer.perform_seek = perform_seek  # type: ignore[method-assign]
    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
    Consumer._sentinai_commits_handled_only = True  # type: ignore[attr-defined]


def install_direct_producer_lookup() -> None:
    """Make ``Topic.send`` take the started producer without yielding to the event loop (idempotent)."""
    from faust.topics import Topic

    if getattr(Topic, "_sentinai_direct_producer", False):
        return
    via_stampede = Topic._get_producer

    async def _get_producer(self: Any) -> Any:
        app = self.app
        producer = app.producer
        if producer.started and not app.in_transaction:
            return producer
        return await via_stampede(self)

    Topic._get_producer = _get_producer  # type: ignore[method-assign]
    Topic._sentinai_direct_producer = True  # type: ignore[attr-defined]


def raise_to_fetched_ends(highwaters: dict[Any, int | None], fetched_end: Callable[[Any], int | None]) -> None:
    """Raise recovery's target per partition to the last offset the fetches reported (end - 1).

    ``highwaters`` holds faust's recovery targets, last offsets (its end - 1); ``fetched_end``
    gives the high watermark of the latest fetch response for a partition, or None before one.
    """
    for tp, highwater in highwaters.items():
        end = fetched_end(tp)
        if end is not None and highwater is not None and end - 1 > highwater:
            highwaters[tp] = end - 1


def install_recovery_to_fetched_end() -> None:
    """Make table recovery read each changelog partition to the end its fetches report (idempotent)."""
    from faust.exceptions import ConsumerNotStarted
    from faust.tables.recovery import Recovery

    if getattr(Recovery, "_sentinai_reads_to_fetched_end", False):
        return
    need_recovery = Recovery.need_recovery

    def _need_recovery(self: Any) -> bool:
        consumer = self.app.consumer

        def fetched_end(tp: Any) -> int | None:
            try:
                return consumer.highwater(tp)
            except (AssertionError, ConsumerNotStarted):  # not assigned (any more), or no consumer yet
                return None

        raise_to_fetched_ends(self.active_highwaters, fetched_end)
        return need_recovery(self)

    Recovery.need_recovery = _need_recovery  # type: ignore[method-assign]
    Recovery._sentinai_reads_to_fetched_end = True  # type: ignore[attr-defined]


def install_fetch_max_wait(milliseconds: int) -> None:
    """Give the worker's consumer this fetch long-poll instead of faust's fixed 1,500 ms."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    installed = hasattr(AIOKafkaConsumerThread, "_sentinai_fetch_max_wait_ms")
    AIOKafkaConsumerThread._sentinai_fetch_max_wait_ms = milliseconds  # type: ignore[attr-defined]
    if installed:
        return
    create = AIOKafkaConsumerThread._create_worker_consumer

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = self._sentinai_fetch_max_wait_ms  # read when the consumer starts fetching
        return consumer

    AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]


class DeliveryFailed(Exception):
    """A message the producer accepted was never delivered: committing its input would drop it."""


class DeliveryGuard:
    """The failed deliveries of one faust producer, recorded as they happen, for the commit to check.

    It watches the Kafka client's record batches, not each message: every message the client
    accepts goes into a batch of its accumulator, and the client fails a batch's future together
    with the futures of all its messages (expired, a non-retriable error, the sender failing). One
    done-callback per batch costs nothing per message; noting every message's future in
    ``Producer.send`` instead cost 1.3 µs a ``DirectTopic.send`` and 4–5 µs a ``Topic.send``
    (``python -m sentinai.bench.send``: the futures, kept until the next commit, weigh on the
    collector). Failures are kept for good: once a delivery failed, no later commit may go
    ahead (its offsets would pass the lost output too), so the worker must restart.
    """

    def __init__(self) -> None:
        self.failures: list[tuple[str, int, int, BaseException]] = []  # topic, partition, messages, error
        self.stopping = False  # a refused commit has crashed the consumer

    def attach(self, client: Any) -> None:
        """Watch every batch of ``client`` (an ``AIOKafkaProducer``, before it sends anything)."""
        accumulator = client._message_accumulator
        append_batch = accumulator._append_batch  # every batch is made here (add_message, add_batch)

        def _append_batch(builder: Any, tp: Any) -> Any:
            batch = append_batch(builder, tp)
            batch.future.add_done_callback(functools.partial(self._batch_done, batch))
            return batch

        accumulator._append_batch = _append_batch

    def _batch_done(self, batch: Any, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            error: BaseException | None = asyncio.CancelledError()
        else:
            error = future.exception()
        if error is None:
            return
        from sentinai.agents.metrics import DELIVERY_FAILURES

        messages = len(batch._msg_futures)
        self.failures.append((batch.tp.topic, batch.tp.partition, messages, error))
        DELIVERY_FAILURES.labels(batch.tp.topic).inc(messages)

    def check(self) -> None:
        """Raise :class:`DeliveryFailed`, naming where and why, if any delivery has failed."""
        if not self.failures:
            return
        where: dict[tuple[str, int], int] = {}
        for topic, partition, messages, _ in self.failures:
            where[topic, partition] = where.get((topic, partition), 0) + messages
        topic, partition, _, error = self.failures[0]
        places = ", ".join(f"{t}[{p}]×{n}" for (t, p), n in sorted(where.items()))
        raise DeliveryFailed(
            f"{sum(where.values())} message(s) accepted by the producer were never delivered ({places}); "
            f"first: {topic}[{partition}]: {type(error).__name__}: {error}")


STOP_GRACE_SECONDS = 15.0


def exit_unless_stopped(grace: float, code: int = 1, *, after: str = "refusing a commit") -> threading.Timer:
    """Exit the process with ``code`` if it still runs ``grace`` seconds from now.

    After a refused commit faust's stop can hang: the consumer's thread sometimes dies of a
    ``CancelledError`` when its service is crashed and never reports that it shut down, and the
    worker then waits a minute for it (about half the runs of the chaos test, broker away). Nothing
    can be committed any more, so leaving at once is as safe as the kill -9 the pipeline is built
    to survive.
    """
    def leave() -> None:
        log.critical("the worker has not stopped %.0f s after %s: exiting now", grace, after)
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                handler.flush()
        os._exit(code)

    timer = threading.Timer(grace, leave)
    timer.daemon = True
    timer.start()
    return timer


def delivery_guard(producer: Any) -> DeliveryGuard | None:
    """The guard of a faust producer, None before :func:`install_commit_guard` or for another kind."""
    return getattr(producer, "_sentinai_delivery_guard", None)


def install_commit_guard() -> None:
    """Record the failed deliveries of the worker's producer; refuse to commit after one and stop (idempotent).

    Every publish of the worker (``DirectTopic``, ``Topic.send``, the buffer that carries table
    changelog writes) goes through faust's aiokafka ``Producer`` into its one Kafka client, whose
    batches the :class:`DeliveryGuard` watches from the moment faust creates that client. The
    check sits in the consumer's ``_commit``, which faust calls right after ``producer.flush()``
    and nowhere else: by then every output of the offsets about to be committed has been handed
    to the client (the buffer is drained first) and its batch resolved, and the guard's callback,
    registered when the batch was made, ran before the flush's own waiter. A refused commit
    crashes the consumer: mode marks the services up to the worker as crashed, the worker stops
    and re-raises the reason, and the process exits with code 1 (tests/chaos/test_commit_guard.py).
    """
    from faust.transport.drivers.aiokafka import Consumer, Producer

    if getattr(Producer, "_sentinai_commit_guard", False):
        return
    new_producer = Producer._new_producer
    commit = Consumer._commit

    @functools.wraps(new_producer)
    def _new_producer(self: Any, transactional_id: str | None = None) -> Any:
        client = new_producer(self, transactional_id)
        guard = self.__dict__.get("_sentinai_delivery_guard")
        if guard is None:
            guard = self._sentinai_delivery_guard = DeliveryGuard()
        guard.attach(client)
        return client

    @functools.wraps(commit)
    async def _commit(self: Any, offsets: Mapping[Any, int]) -> bool:
        guard = delivery_guard(self.app.producer)
        if guard is not None:
            try:
                guard.check()
            except DeliveryFailed as failed:
                log.critical("NOT committing offsets %s: %s. Stopping the worker: a restart re-processes "
                             "from the last committed offsets (outputs are idempotent).",
                             {f"{tp.topic}[{tp.partition}]": offset for tp, offset in offsets.items()}, failed)
                if not guard.stopping:
                    guard.stopping = True
                    exit_unless_stopped(STOP_GRACE_SECONDS)
                    await self.crash(failed)
                return False
        return bool(await commit(self, offsets))

    Producer._new_producer = _new_producer  # type: ignore[method-assign]
    Consumer._commit = _commit  # type: ignore[method-assign]
    Producer._sentinai_commit_guard = True  # type: ignore[attr-defined]
