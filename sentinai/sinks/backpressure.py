"""The gate between intake and the sink: intake input is paused while too much is published but
not yet stored in PostgreSQL, and resumed once the sink has caught up.

It pauses the *input partitions* at the consumer instead of making the intake agent wait: every
agent of a faust worker shares one consumer, and an agent that stops taking messages eventually
blocks the delivery of every topic — the sink's included — which would never let it catch up.
Paused partitions are simply not fetched; nothing is acknowledged that was not processed.

Counts are per worker process. Co-partitioning puts a tenant's events partition on the same
worker as its input partition, so the worker that produces an event is the one that stores it.

The composition root pauses through :func:`sentinai.framework.fetch_pause.pause_fetching`, not
faust's ``Consumer.pause_partitions``: faust's drops the paused partitions' records that were
fetched but not yet delivered (see there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sentinai.metrics import SINK_PENDING
from sentinai.tables.tenant_state import backpressure_level

log = logging.getLogger(__name__)


class SinkGate:
    def __init__(self, *, high_water: int, pause: Callable[[], None] = lambda: None,
                 resume: Callable[[], None] = lambda: None) -> None:
        self.high_water = high_water
        self.low_water = high_water // 2
        self._pause = pause
        self._resume = resume
        self._pending = 0
        self.paused = False

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
        if not self.paused and value >= self.high_water:
            self.paused = True
            log.warning("sink is %d events behind: pausing intake until it is below %d", value, self.low_water)
            self._pause()
        elif self.paused and value <= self.low_water:
            self.paused = False
            log.info("sink caught up (%d events behind): resuming intake", value)
            self._resume()

    def level(self) -> str:
        """NORMAL, WARNING, CRITICAL or OVERLOADED: how far the sink is behind, against the high water."""
        return backpressure_level(self._pending, warning=self.high_water // 4, critical=self.high_water // 2,
                                  overloaded=self.high_water * 9 // 10)
