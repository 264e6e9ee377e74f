"""The sink agent: events from the log into Postgres, in batches, acknowledged only once stored.

A failed write (the database is down, say) is retried with backoff, for ever, on the same batch;
its offsets are not acknowledged meanwhile, so the pending count rises and the intake gate slows
intake down. Nothing is lost and nothing is skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from faust.types import EventT, StreamT

from sentinai.agents.backpressure import SinkGate
from sentinai.agents.metrics import SINK_BATCH
from sentinai.agents.retry import retry_forever
from sentinai.sinks.errors import BatchRejected
from sentinai.sinks.writer import EventWriter
from sentinai.streams import codec
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


async def run_sink(stream: StreamT, *, writer_factory: Callable[[], Awaitable[EventWriter]], gate: SinkGate,
                   dead_letter: DeadLetter, batch_size: int, batch_seconds: float) -> AsyncIterator[Any]:
    writer = await writer_factory()
    async for batch in stream.noack_take(batch_size, within=batch_seconds):
        decoded = []
        for event in batch:
            try:
                decoded.append((event, EventEnvelope.model_validate(codec.loads(event.value))))
            except Exception as err:  # not an envelope of ours: parked on the DLQ, the log goes on
                await dead_letter(event, err)
        await retry_forever(lambda decoded=decoded: store_batch(writer, decoded, dead_letter),
                            what="sink batch write")
        for event in batch:
            await stream.ack(event)
        SINK_BATCH.observe(len(batch))
        gate.stored(len(batch))
        yield len(batch)
