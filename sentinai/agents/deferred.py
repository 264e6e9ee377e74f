"""The deferred agent: over-quota messages wait for their time, each tenant in its own lane.

Intake parks a message of a tenant over its quota on ``<prefix>.deferred`` with the time its
reserved token is due (the ``sentinai.not-before`` header; reservations make those times rise per
tenant). Waiting for that time in the agent's loop would hold every other tenant on the partition
behind the longest wait — one tenant throttled for a minute would delay another's one-second
deferral by a minute. Here each tenant has a lane (``sentinai.framework.tenant_lanes``) whose
task sleeps until its head is due, hands it to intake and acknowledges it; out-of-order
acknowledgements, rebalances and stops are handled there.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from faust.types import EventT

from sentinai.framework.tenant_lanes import LaneGauges, TenantLanes
from sentinai.metrics import DEFERRED_FULL, DEFERRED_WAITING

NOT_BEFORE = "sentinai.not-before"

GAUGES = LaneGauges(name="deferred", waiting=DEFERRED_WAITING, full=DEFERRED_FULL,
                    capacity_setting="SENTINAI_DEFERRED_CAPACITY", held="over-quota messages wait for their time")


def not_before(event: EventT) -> float:
    """The epoch second the deferred message may be handled at (0: at once)."""
    headers = event.headers
    for name, value in headers.items() if isinstance(headers, dict) else headers or []:
        if name == NOT_BEFORE:
            return float(value)
    return 0.0


class DeferredLanes(TenantLanes):
    """Holds deferred messages per (partition, tenant key) until due; hands each to ``handle``."""

    def __init__(self, handle: Callable[[EventT], Awaitable[None]], *, capacity: int,
                 clock: Callable[[], float] = time.time) -> None:
        """``capacity``: messages held waiting at most; at it the agent reads no further until one
        is handled (each tenant's share is bounded before, by intake: ``deferred_tenant_limit``)."""
        super().__init__(handle, capacity=capacity, gauges=GAUGES, due=not_before, clock=clock)
