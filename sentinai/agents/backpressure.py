"""The gate between intake and the sink: intake input is paused while too much is published but
not yet stored in PostgreSQL, and resumed once the sink has caught up.

It pauses the *input partitions* at the consumer instead of making the intake agent wait: every
agent of a faust worker shares one consumer, and an agent that stops taking messages eventually
blocks the delivery of every topic — the sink's included — which would never let it catch up.
Paused partitions are simply not fetched; nothing is acknowledged that was not processed.

Counts are per worker process. Co-partitioning puts a tenant's events partition on the same
worker as its input partition, so the worker that produces an event is the one that stores it.

Pausing goes through :func:`pause_fetching`, not faust's ``Consumer.pause_partitions``: faust's
drops the paused partitions' records that were fetched but not yet delivered (see there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Set
from typing import Any

from sentinai.agents.metrics import SINK_PENDING
from sentinai.tables.tenant_state import backpressure_level

log = logging.getLogger(__name__)


def pause_fetching(consumer: Any, tps: Set[Any]) -> None:
    """Stop fetching ``tps``; what was fetched already is still delivered.

    faust's ``pause_partitions`` removes the partitions from its set of active partitions *in
    place*, and that very set object is what a delivery in progress (``Consumer.getmany``, which
    yields to the event loop between messages) filters the fetched records by. The paused
    partitions' records not yet delivered are skipped silently while the Kafka client's position
    has moved past them: the partition reads nothing more until a restart (read offset below the
    position: the worker stalls with lag), and once a later fetch jumps past them faust's gap
    handling commits over them — input never processed. Replacing the set instead lets the
    delivery in progress finish with the set it started with; the next fetch uses the new one.
    """
    active = consumer._get_active_partitions()
    consumer._paused_partitions.update(tps)
    consumer._active_partitions = active - tps


def resume_fetching(consumer: Any, tps: Set[Any]) -> None:
    """Fetch ``tps`` again (the counterpart of :func:`pause_fetching`)."""
    active = consumer._get_active_partitions()
    consumer._paused_partitions.difference_update(tps)
    consumer._active_partitions = active | tps


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
