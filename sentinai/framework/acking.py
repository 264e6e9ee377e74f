"""Correction: faust acks an event whose handler was cut off.

Corrects faust-streaming 0.15 ``faust.streams.Stream.events``: ``async for event in
stream.events()`` acks each event in a ``finally`` when the loop moves on — and also when the
loop body is cancelled. A worker that stops (scale-down, SIGTERM) cancels its agents, so an event
whose handler was cut off half-way (some of an exception's events published, its state not yet
written) was acked and then committed on shutdown: the next owner of the partition never saw it
again.

Measured loss (docs/design.md, "Scale-down lost the tail of an exception's events"): one
exception of 6,000 without its final events, every offset committed, in ~1 run in 5 of the
1 → 2 → 1 scale test.

Iterating a manual-ack stream (``Stream.noack``) and acking after the handler returns makes a
cut-off event stay unacked, so the partition's next owner handles it again (every handler is
idempotent on replay). Nothing is patched: per-event agents iterate :func:`events_acked_when_handled`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from faust.types import EventT, StreamT


async def events_acked_when_handled(stream: StreamT) -> AsyncIterator[EventT]:
    """Yield each event; ack it when the loop asks for the next one, never when the loop is abandoned."""
    manual = stream.noack()
    async for event in manual.events():
        yield event
        await manual.ack(event)
