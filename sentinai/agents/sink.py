"""The sink agent: events from the log into Postgres, in batches, acknowledged only once stored.

A failed write (the database is down, say) is retried with backoff, for ever, on the same batch;
its offsets are not acknowledged meanwhile, so the pending count rises and the intake gate slows
intake down. Nothing is lost and nothing is skipped.

Up to ``in_flight`` batches are written at once (the writer is safe to call concurrently, and its
projections do not depend on the order in which batches commit): while one transaction waits for
the server, the next batch is taken and encoded. Offsets are still acknowledged in the order the
batches were taken, each only once its own batch and every earlier one are stored, so a batch
that keeps failing holds back the acknowledgement of every later one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from faust.types import EventT, StreamT

from sentinai.agents.backpressure import SinkGate
from sentinai.agents.metrics import SINK_BATCH
from sentinai.agents.retry import retry_forever
from sentinai.sinks.errors import BatchRejected
from sentinai.sinks.writer import EventWriter
from sentinai.streams.envelope import EventEnvelope

DeadLetter = Callable[[EventT, BaseException], Awaitable[None]]


async def store_batch(writer: EventWriter, decoded: list[tuple[EventT, EventEnvelope]], dead_letter: DeadLetter) -> None:
    """Write the batch; events PostgreSQL refuses as data go to the DLQ and the rest is written.

    Unavailability and other database errors propagate (the caller retries the same batch).
    """
    while decoded:
        try:
            await writer.write_batch([envelope for _, envelope in decoded])
            return
        except BatchRejected as err:
            refused = set(err.event_ids) or {envelope.event_id for _, envelope in decoded}
            for event, envelope in decoded:
                if envelope.event_id in refused:
                    await dead_letter(event, err)
            decoded = [(e, envelope) for e, envelope in decoded if envelope.event_id not in refused]


async def _decode_and_store(writer: EventWriter, batch: list[EventT], dead_letter: DeadLetter) -> None:
    decoded = []
    for event in batch:
        try:
            # straight from the bytes: pydantic's own JSON parser, no intermediate dicts to validate
            decoded.append((event, EventEnvelope.model_validate_json(event.value)))
        except Exception as err:  # not an envelope of ours: parked on the DLQ, the log goes on
            await dead_letter(event, err)
    await retry_forever(lambda: store_batch(writer, decoded, dead_letter), what="sink batch write")


async def _store_then_ack(stream: StreamT, writer: EventWriter, batch: list[EventT], dead_letter: DeadLetter,
                          gate: SinkGate, earlier: asyncio.Task[None] | None) -> None:
    await _decode_and_store(writer, batch, dead_letter)
    if earlier is not None:
        await earlier  # acknowledged in order: raises (and acknowledges nothing) if it did not finish
    for event in batch:
        await stream.ack(event)
    SINK_BATCH.observe(len(batch))
    gate.stored(len(batch))


async def run_sink(stream: StreamT, *, writer_factory: Callable[[], Awaitable[EventWriter]], gate: SinkGate,
                   dead_letter: DeadLetter, batch_size: int, batch_seconds: float,
                   in_flight: int = 1) -> AsyncIterator[Any]:
    writer = await writer_factory()
    writing: deque[asyncio.Task[None]] = deque()
    try:
        async for batch in stream.noack_take(batch_size, within=batch_seconds):
            writing.append(asyncio.create_task(_store_then_ack(
                stream, writer, batch, dead_letter, gate, writing[-1] if writing else None)))
            while writing and (len(writing) >= in_flight or writing[0].done()):
                await writing.popleft()  # raises what ended a write (only cancellation can)
            yield len(batch)
    finally:
        for write in writing:
            write.cancel()
