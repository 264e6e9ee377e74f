"""Correction: a commit passes outputs that were never delivered.

Corrects faust-streaming 0.15's aiokafka driver (``Producer._new_producer``,
``Consumer._commit``) over aiokafka 0.14 (``AIOKafkaProducer._message_accumulator`` and its
``_append_batch``). Every message the worker publishes (the agents' ``DirectTopic`` sends, faust's
``Topic.send``, table changelog writes) goes through faust's aiokafka ``Producer.send``, which
hands it to the Kafka client and returns a delivery future; nobody looks at the failures of those
futures. Before committing input offsets faust awaits ``producer.flush()``, and aiokafka's flush
only *waits* for the batches: a batch that expired (the producer request timeout) or met a
non-retriable error is failed without an exception reaching the flush.

Measured loss (docs/design.md, "A commit passed outputs that were never delivered"): with the
broker cut off behind a proxy the commit went ahead, and the events, decisions and changelog
writes of the committed input were lost for good, with no trace but a client warning.

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
from collections.abc import Mapping
from typing import Any

from sentinai.framework.patching import Patches

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 15.0
_patches = Patches()


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
        from sentinai.metrics import DELIVERY_FAILURES

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
    """The guard of a faust producer, None before :func:`install` or for another kind."""
    return getattr(producer, "_sentinai_delivery_guard", None)


def install() -> None:
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

    if _patches.installed:
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

    _patches.replace(Producer, "_new_producer", _new_producer)
    _patches.replace(Consumer, "_commit", _commit)


def uninstall() -> None:
    """Give faust its own producer factory and commit back (for producers made from now on)."""
    _patches.undo()
