"""Per-tenant lanes: an agent whose handling of one tenant may wait does not hold up the others.

An agent that handles its input one message at a time holds every tenant on its partitions
behind the slowest message: a tenant's quota wait, a slow or failing endpoint of its own. Here
each (partition, tenant key) has a lane: a queue in arrival order whose task waits until its head
is due (``due``: an epoch second, 0 for at once), handles it and acknowledges it. Lanes run
independently; within a tenant the order is kept. The deferred agent (``sentinai.agents.deferred``:
over-quota intake waiting for its time) and the tools agent (``sentinai.app``: tool calls and
webhook notifications) run their input through these lanes.

Acknowledgements therefore arrive out of offset order. The consumer commits only the handled
prefix of a partition (``sentinai.framework.handled_offsets``), so after a crash what was handled
behind an older waiting message comes again, and every handler is idempotent on replay.

A lane may be bounded (``lane_capacity``): one tenant with a slow endpoint, a low quota and a
high rate would otherwise fill the agent's ``capacity`` alone and stop its reading for every
tenant. A message that finds its lane full is handed to ``refuse`` (the tools agent dead-letters
it, with the reason, for an operator to replay) and acknowledged; the other tenants' lanes go on.
A tenant's requests are keyed by its id onto its home partition, so its lane is the tenant's whole
share of the worker.

What the lanes hold is the agent's buffered input. faust clears the agents' queues when the
assignment changes and when the worker stops (``flow_control.clear()``, then it waits for every
message taken but not acknowledged); the lanes register with it and give back what waits, unacked
(``sentinai.framework.held_messages``): this worker, after its seek to the committed offsets, or
the partition's next owner fetches it again. A message being handled at that moment finishes and
is acknowledged. Table writes made while handling go to the changelog partition of the message
being handled (``sentinai.framework.current_event``).
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
from prometheus_client import Gauge

from sentinai.framework.current_event import set_current_event
from sentinai.framework.held_messages import release

log = logging.getLogger(__name__)


def _tenant(key: Any) -> str:
    """A lane's tenant as a log shows it (the message key is the tenant id)."""
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else repr(key)


def at_once(event: EventT) -> float:
    """Every message is due as soon as it arrives."""
    return 0.0


class LaneFull(Exception):
    """A message of a tenant whose lane already holds as many as it may."""


@dataclass
class _Lane:
    waiting: deque[EventT] = field(default_factory=deque)
    offsets: set[int] = field(default_factory=set)  # of the waiting messages
    task: asyncio.Task[None] | None = None
    handling: bool = False


@dataclass(frozen=True)
class LaneGauges:
    """How an agent's lanes show: the messages held, and 1 while full; a full agent's warning
    says "<name> agent full: <count> <held>" and names ``capacity_setting``."""

    name: str
    waiting: Gauge
    full: Gauge
    capacity_setting: str
    held: str = "messages wait in their tenants' lanes"


class TenantLanes:
    """Holds messages per (partition, tenant key) until due; hands each to ``handle`` in its lane."""

    def __init__(self, handle: Callable[[EventT], Awaitable[None]], *, capacity: int, gauges: LaneGauges,
                 due: Callable[[EventT], float] = at_once, clock: Callable[[], float] = time.time,
                 lane_capacity: int | None = None, lane_capacity_setting: str = "",
                 refuse: Callable[[EventT, LaneFull], Awaitable[None]] | None = None) -> None:
        """``capacity``: messages held waiting at most (all tenants); at it the agent reads no
        further until one is handled. ``lane_capacity``: messages one lane holds at most (the one
        being handled included); beyond, ``refuse`` takes the message (``lane_capacity_setting``
        names the setting in the reason)."""
        if (lane_capacity is None) != (refuse is None):
            raise ValueError("a lane capacity needs a refuse handler, and the other way round")
        self._handle = handle
        self._capacity = capacity
        self._lane_capacity = lane_capacity
        self._lane_capacity_setting = lane_capacity_setting
        self._refuse = refuse
        self._gauges = gauges
        self._due = due
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
                full = self._hold(manual, event)
                if full is not None and self._refuse is not None:
                    if event.message.generation_id != stream.app.consumer_generation_id:
                        release(event.message)  # taken before a rebalance: its partition's owner decides
                    else:
                        await self._refuse(event, full)
                        await manual.ack(event)
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
        name = self._gauges.name
        log.warning("%s agent full: %d %s (%s); no further %s input is read until one is handled. "
                    "Holding the most: %s", name, self._held, self._gauges.held, self._gauges.capacity_setting, name,
                    ", ".join(f"{_tenant(key)} {count}" for key, count in top))
        self._gauges.full.set(1)
        while self._held >= self._capacity:
            self._room.clear()
            await self._room.wait()
        self._gauges.full.set(0)
        log.info("%s agent reads again: %d messages wait", name, self._held)

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

    def _hold(self, stream: StreamT, event: EventT) -> LaneFull | None:
        """Put the message in its lane; a `LaneFull` (nothing held) when the lane holds its most."""
        key = (event.message.tp, event.message.key)
        lane = self._lanes.get(key)
        if (lane is not None and self._lane_capacity is not None
                and len(lane.waiting) + lane.handling >= self._lane_capacity
                and event.message.offset not in lane.offsets):
            return LaneFull(f"tenant {_tenant(key[1])} already has {self._lane_capacity} {self._gauges.name} "
                            f"requests waiting on this worker ({self._lane_capacity_setting}); "
                            "replay this letter once they are done")
        if lane is None:
            lane = self._lanes[key] = _Lane()
            lane.task = asyncio.create_task(self._drain(stream, key, lane),
                                            name=f"{self._gauges.name}-lane-{key}")
        if event.message.offset in lane.offsets:
            # fetched again while its first copy waits (faust delivers a partition from where the
            # client stood after an assignment, then again from the committed offset after its seek)
            release(event.message)
            return None
        lane.waiting.append(event)
        lane.offsets.add(event.message.offset)
        self._set_held(self._held + 1)
        return None

    async def _drain(self, stream: StreamT, key: tuple[Any, Any], lane: _Lane) -> None:
        try:
            while lane.waiting:
                delay = self._due(lane.waiting[0]) - self._clock()
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
        except Exception:
            # the handler failed beyond what it handles itself: the message stays unacknowledged, so
            # the commit stays below it; what waits behind it in the lane is given back likewise
            log.exception("%s lane of tenant %s stopped", self._gauges.name, _tenant(key[1]))
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]
                for event in lane.waiting:
                    release(event.message)
                self._set_held(self._held - len(lane.waiting))
                lane.waiting.clear()
                lane.offsets.clear()

    def _set_held(self, held: int) -> None:
        self._held = held
        self._gauges.waiting.set(held)
        if held < self._capacity:
            self._room.set()
