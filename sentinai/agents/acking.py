"""Per-event agents ack an event only once its handler has finished with it.

faust's ``async for event in stream.events()`` acks each event in a ``finally`` when the loop
moves on — and also when the loop body is cancelled. A worker that stops (scale-down, SIGTERM)
cancels its agents, so an event whose handler was cut off half-way (some of an exception's
events published, its state not yet written) was acked and then committed on shutdown: the next
owner of the partition never saw it again, and the exception was left without its final events.
Iterating a manual-ack stream and acking after the handler returns makes a cut-off event stay
unacked, so the partition's next owner handles it again (every handler is idempotent on replay).
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
