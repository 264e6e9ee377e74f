"""The sink agent: events from the log into Postgres, in batches, acknowledged only once stored.

A failed write (the database is down, say) is retried with backoff, for ever, on the same batch;
its offsets are not acknowledged meanwhile, so the pending count rises and the intake gate slows
intake down. Nothing is lost and nothing is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from faust.types import EventT, StreamT

from sentinai.agents.backpressure import SinkGate
from sentinai.agents.metrics import SINK_BATCH, SINK_ERRORS
from sentinai.sinks.writer import EventWriter
from sentinai.streams import codec
from sentinai.streams.envelope import EventEnvelope

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BACKOFF = 5.0


async def retry_forever(operation: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run until it succeeds, backing off from 0.1 s to 5 s; only cancellation stops it."""
    delay = 0.1
    while True:
        try:
            return await operation()
        except asyncio.CancelledError:
            raise
        except Exception as err:
            SINK_ERRORS.inc()
            log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(err).__name__, err, delay)
            await asyncio.sleep(delay)
            delay = min(MAX_BACKOFF, delay * 2)


def decode_events(batch: Sequence[EventT]) -> list[EventEnvelope]:
    """Envelopes of a batch; a message that is not one is logged and skipped (we wrote them all)."""
    envelopes = []
    for event in batch:
        try:
            envelopes.append(EventEnvelope.model_validate(codec.loads(event.value)))
        except Exception as err:  # not ours: never block the log on it
            log.error("skipping a message on the events topic that is not an event envelope: %s", err)
    return envelopes


async def run_sink(stream: StreamT, *, writer_factory: Callable[[], Awaitable[EventWriter]], gate: SinkGate,
                   batch_size: int, batch_seconds: float) -> AsyncIterator[Any]:
    writer = await writer_factory()
    async for batch in stream.noack_take(batch_size, within=batch_seconds):
        envelopes = decode_events(batch)
        if envelopes:
            await retry_forever(lambda envelopes=envelopes: writer.write_batch(envelopes), what="sink batch write")
        for event in batch:
            await stream.ack(event)
        SINK_BATCH.observe(len(batch))
        gate.stored(len(batch))
        yield len(batch)
