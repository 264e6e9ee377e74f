"""Correction: faust's ``pause_partitions`` drops fetched records not yet delivered.

Corrects faust-streaming 0.15 ``faust.transport.consumer.Consumer.pause_partitions`` (and
``resume_partitions``), used by the sink gate (``sentinai.sinks.backpressure``) to pause intake.
faust removes the partitions from its set of active partitions *in place*, and that very set
object is what a delivery in progress (``Consumer.getmany``, which yields to the event loop
between messages) filters the fetched records by. The paused partitions' records not yet
delivered are skipped silently while the Kafka client's position has moved past them: the
partition reads nothing more until a restart (read offset below the position: the worker stalls
with lag), and once a later fetch jumps past them faust's gap handling commits over them — input
never processed.

Measured loss (docs/performance.md, "What was found and changed (2026-11-25)", item 2): the
worker stalled for good at 2,649 of 4,000 exceptions the first time the gate paused.

Replacing the set instead lets the delivery in progress finish with the set it started with; the
next fetch uses the new one. Nothing is patched: the gate calls these two functions.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any


def pause_fetching(consumer: Any, tps: Set[Any]) -> None:
    """Stop fetching ``tps`` (on a faust consumer); what was fetched already is still delivered."""
    active = consumer._get_active_partitions()
    consumer._paused_partitions.update(tps)
    consumer._active_partitions = active - tps


def resume_fetching(consumer: Any, tps: Set[Any]) -> None:
    """Fetch ``tps`` again (the counterpart of :func:`pause_fetching`)."""
    active = consumer._get_active_partitions()
    consumer._paused_partitions.difference_update(tps)
    consumer._active_partitions = active | tps
