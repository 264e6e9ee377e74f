"""The gate between intake and the sink: intake waits while too much is published but not stored.

Counts are per worker process. Co-partitioning puts a tenant's events partition on the same
worker as its input partition, so the worker that produces an event is the one that stores it.
"""

from __future__ import annotations

import asyncio

from sentinai.agents.metrics import SINK_PENDING
from sentinai.tables.tenant_state import backpressure_level


class SinkGate:
    def __init__(self, *, high_water: int) -> None:
        self.high_water = high_water
        self._pending = 0
        self._below = asyncio.Event()
        self._below.set()

    @property
    def pending(self) -> int:
        return self._pending

    def published(self, count: int) -> None:
        self._update(self._pending + count)

    def stored(self, count: int) -> None:
        self._update(max(0, self._pending - count))

    def _update(self, value: int) -> None:
        self._pending = value
        SINK_PENDING.set(value)
        if value < self.high_water:
            self._below.set()
        else:
            self._below.clear()

    def level(self) -> str:
        """NORMAL, WARNING, CRITICAL or OVERLOADED: how far the sink is behind, against the high water."""
        return backpressure_level(self._pending, warning=self.high_water // 4, critical=self.high_water // 2,
                                  overloaded=self.high_water * 9 // 10)

    async def wait(self) -> None:
        """Return at once unless the sink is behind; then wait until it catches up."""
        if not self._below.is_set():
            await self._below.wait()
