"""The deferred agent: over-quota messages wait for their time, each tenant in its own lane.

Intake parks a message of a tenant over its quota on ``<prefix>.deferred`` with the time its
reserved token is due (the ``sentinai.not-before`` header; reservations make those times rise per
tenant). Waiting for that time in the agent's loop would hold every other tenant on the partition
behind the longest wait — one tenant throttled for a minute would delay another's one-second
deferral by a minute. Here each tenant has a lane: a queue in arrival order whose task sleeps
until its head is due, handles it and acknowledges it. Lanes run independently; within a tenant
the order is kept.

Acknowledgements therefore arrive out of offset order. The consumer commits only the handled
prefix of a partition (``sentinai.framework.handled_offsets``), so after a crash what was handled
behind an older waiting message comes again, and intake recognises it as a duplicate.

What the lanes hold is the agent's buffered input. faust clears the agents' queues when the
assignment changes and when the worker stops (``flow_control.clear()``, then it waits for every
message taken but not acknowledged); the lanes register with it and give back what waits, unacked
(``sentinai.framework.held_messages``): this worker, after its seek to the committed offsets, or
the partition's next owner fetches it again. A message being handled at that moment finishes and
is acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from faust.types import EventT, StreamT

from sentinai.framework.current_event import set_current_event
from sentinai.framework.held_messages import release
from sentinai.metrics import DEFERRED_FULL, DEFERRED_WAITING

log = logging.getLogger(__name__)

NOT_BEFORE = "sentinai.not-before"


def _tenant(key: Any) -> str:
    """A lane's tenant as a log shows it (the message key is the tenant id)."""
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else repr(key)


def not_before(event: EventT) -> float:
    """The epoch second the deferred message may be handled at (0: at once)."""
    headers = event.headers
    for name, value in headers.items() if isinstance(headers, dict) else headers or []:
        if name == NOT_BEFORE:
            return float(value)
    return 0.0


@dataclass
class _Lane:
    waiting: deque[EventT] = field(default_factory=deque)
    offsets: set[int] = field(default_factory=set)  # of the waiting messages
    task: asyncio.Task[None] | None = None
    handling: bool = False


class DeferredLanes:
    """Holds deferred messages per (partition, tenant key) until due; hands each to ``handle``."""

    def __init__(self, handle: Callable[[EventT], Awaitable[None]], *, capacity: int,
                 clock: Callable[[], float] = time.time) -> None:
        """``capacity``: messages held waiting at most; at it the agent reads no further until one
        is handled (each tenant's share is bounded before, by intake: ``deferred_tenant_limit``)."""
        self._handle = handle
        self._capacity = capacity
        self._clock = clock
        self._lanes: dict[tuple[Any, Any], _Lane] = {}
        self._held = 0
        self._room = asyncio.Event()
        self._room.set()

    async def run(self, stream: StreamT) -> AsyncIterator[None]:
        """The agent's loop: read, put in its lane, read on; yields once per message read."""
        manual = stream.noack()
        stream.app.flow_control.manage_queue(self)
        try:
            async for event in manual.events():
                self._hold(manual, event)
                del event  # its lane is its only holder: a cleared lane lets faust's wait for it end
                yield None
                if self._held >= self._capacity:
                    await self._wait_for_room()
        finally:
            lanes = list(self._lanes.values())
            self.clear()
            for lane in lanes:
                if lane.task is not None:
                    lane.task.cancel()

    async def _wait_for_room(self) -> None:
        """Full: say so (the tenants holding the most), wait until one is handled, say that too."""
        busiest: dict[Any, int] = {}
        for (_, key), lane in self._lanes.items():
            busiest[key] = busiest.get(key, 0) + len(lane.waiting)
        top = sorted(busiest.items(), key=lambda item: -item[1])[:5]
        log.warning("deferred agent full: %d over-quota messages wait for their time "
                    "(SENTINAI_DEFERRED_CAPACITY); no further deferred input is read until one is handled. "
                    "Holding the most: %s", self._held,
                    ", ".join(f"{_tenant(key)} {count}" for key, count in top))
        DEFERRED_FULL.set(1)
        while self._held >= self._capacity:
            self._room.clear()
            await self._room.wait()
        DEFERRED_FULL.set(0)
        log.info("deferred agent reads again: %d messages wait", self._held)

    def qsize(self) -> int:
        """Messages waiting (faust's flow control asks its queues this)."""
        return self._held

    def clear(self) -> None:
        """Drop every waiting message, unacknowledged (faust's flow control, on rebalance and stop)."""
        for lane in self._lanes.values():
            for event in lane.waiting:
                release(event.message)
            lane.waiting.clear()
            lane.offsets.clear()
            if not lane.handling and lane.task is not None:
                lane.task.cancel()
        self._lanes = {}
        self._set_held(0)

    def _hold(self, stream: StreamT, event: EventT) -> None:
        key = (event.message.tp, event.message.key)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
            lane.task = asyncio.create_task(self._drain(stream, key, lane), name=f"deferred-lane-{key}")
        if event.message.offset in lane.offsets:
            # fetched again while its first copy waits (faust delivers a partition from where the
            # client stood after an assignment, then again from the committed offset after its seek)
            release(event.message)
            return
        lane.waiting.append(event)
        lane.offsets.add(event.message.offset)
        self._set_held(self._held + 1)

    async def _drain(self, stream: StreamT, key: tuple[Any, Any], lane: _Lane) -> None:
        try:
            while lane.waiting:
                delay = not_before(lane.waiting[0]) - self._clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                    continue
                event = lane.waiting.popleft()
                lane.offsets.discard(event.message.offset)
                self._set_held(self._held - 1)
                if event.message.generation_id != stream.app.consumer_generation_id:
                    release(event.message)  # taken before a rebalance: the seek that followed brings it again
                    continue
                lane.handling = True
                set_current_event(event)  # table writes go to this message's partition
                await self._handle(event)
                await stream.ack(event)
                lane.handling = False
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    def _set_held(self, held: int) -> None:
        self._held = held
        DEFERRED_WAITING.set(held)
        if held < self._capacity:
            self._room.set()
