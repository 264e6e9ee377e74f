"""The sink: batches of transition records into Postgres, acknowledged only once stored, in order.

A failed write (the database is down, say) is retried with backoff, for ever, on the same batch;
nothing of it is acknowledged meanwhile, so the pending count rises and the intake gate slows
intake down. Nothing is lost and nothing is skipped.

Up to ``in_flight`` batches are written at once (the writer is safe to call concurrently, and its
projections do not depend on the order in which batches commit): while one transaction waits for
the server, the next batch is taken and encoded. Batches are still acknowledged in the order they
were submitted, each only once its own batch and every earlier one are stored, so a batch that
keeps failing holds back the acknowledgement of every later one.

The records are anything with ``topic``, ``partition``, ``offset``, ``key`` and ``value`` (raw
bytes): the feed (:mod:`sentinai.sinks.feed`) hands over aiokafka's consumer records.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sentinai.metrics import SINK_BATCH
from sentinai.sinks.backpressure import SinkGate
from sentinai.sinks.errors import BatchRejected
from sentinai.sinks.retry import retry_forever
from sentinai.sinks.writer import EventWriter
from sentinai.streams.transition import Transition, decode

DeadLetter = Callable[[Any, BaseException], Awaitable[None]]
Acknowledge = Callable[[Sequence[Any]], Awaitable[None]]


async def store_batch(writer: EventWriter, decoded: list[tuple[Any, Transition]], dead_letter: DeadLetter) -> None:
    """Write the batch; transitions PostgreSQL refuses as data go to the DLQ and the rest is written.

    Unavailability and other database errors propagate (the caller retries the same batch).
    """
    while decoded:
        try:
            await writer.write_batch([item for _, item in decoded])
            return
        except BatchRejected as err:
            refused = set(err.event_ids) or {item.transition_id for _, item in decoded}
            for record, item in decoded:
                if item.transition_id in refused:
                    await _park(dead_letter, record, err)
            decoded = [(r, item) for r, item in decoded if item.transition_id not in refused]


async def _park(dead_letter: DeadLetter, record: Any, error: BaseException) -> None:
    """Dead-letter ``record``, retrying until the DLQ has it: the batch is acknowledged past it after."""
    await retry_forever(lambda: dead_letter(record, error), what="sink dead letter")


async def _decode_and_store(writer: EventWriter, batch: Sequence[Any], dead_letter: DeadLetter) -> None:
    decoded = []
    for record in batch:
        try:
            decoded.append((record, decode(record.value)))
        except Exception as err:  # not a transition of ours: parked on the DLQ, the log goes on
            await _park(dead_letter, record, err)
    await retry_forever(lambda: store_batch(writer, decoded, dead_letter), what="sink batch write")


class Sink:
    """Writes submitted batches, up to ``in_flight`` at once, and acknowledges them in order."""

    def __init__(self, *, writer: EventWriter, gate: SinkGate, dead_letter: DeadLetter, acknowledge: Acknowledge,
                 in_flight: int) -> None:
        self._writer = writer
        self._gate = gate
        self._dead_letter = dead_letter
        self._acknowledge = acknowledge
        self._in_flight = in_flight
        self._writing: deque[asyncio.Task[None]] = deque()

    async def submit(self, batch: Sequence[Any]) -> None:
        """Start writing ``batch``; return once fewer than ``in_flight`` batches are being written."""
        earlier = self._writing[-1] if self._writing else None
        self._writing.append(asyncio.create_task(self._store_then_acknowledge(batch, earlier)))
        while self._writing and (len(self._writing) >= self._in_flight or self._writing[0].done()):
            await self._writing.popleft()  # raises what ended a write (only cancellation can)

    def cancel(self) -> None:
        """Abandon the batches being written: none of them is acknowledged (they are read again)."""
        for write in self._writing:
            write.cancel()
        self._writing.clear()

    async def _store_then_acknowledge(self, batch: Sequence[Any], earlier: asyncio.Task[None] | None) -> None:
        await _decode_and_store(self._writer, batch, self._dead_letter)
        if earlier is not None:
            await earlier  # acknowledged in order: raises (and acknowledges nothing) if it did not finish
        await self._acknowledge(batch)
        SINK_BATCH.observe(len(batch))
        self._gate.stored(len(batch))
