"""Correction: table recovery stops at the end ListOffsets reports.

Corrects faust-streaming 0.15 ``faust.tables.recovery.Recovery.need_recovery``. faust recovers a
table by reading its changelog partitions up to the end offsets it asked for with
ListOffsets(latest) when recovery began. The embedded broker (Tansu) answers with the base offset
of the last record batch + 1, so recovery ended after the first record of the last batch and the
rest of that batch never reached the table.

Measured loss (docs/design.md, "Tansu under-reports the end of a partition"): when the input
behind those records was already committed nothing replayed them — after a kill -9, or a
partition moving between workers, the tenant stats were a decision or a duplicate short of a
recount (two CI runs failed on it).

Fetch responses carry the true end (the high watermark), so recovery now reads on to the largest
end its fetches have reported. A broker that reports the true end in ListOffsets is unaffected:
the fetched end is never larger than what recovery already waits for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sentinai.framework.patching import Patches

_patches = Patches()


def raise_to_fetched_ends(highwaters: dict[Any, int | None], fetched_end: Callable[[Any], int | None]) -> None:
    """Raise recovery's target per partition to the last offset the fetches reported (end - 1).

    ``highwaters`` holds faust's recovery targets, last offsets (its end - 1); ``fetched_end``
    gives the high watermark of the latest fetch response for a partition, or None before one.
    """
    for tp, highwater in highwaters.items():
        end = fetched_end(tp)
        if end is not None and highwater is not None and end - 1 > highwater:
            highwaters[tp] = end - 1


def install() -> None:
    """Make table recovery read each changelog partition to the end its fetches report (idempotent)."""
    from faust.exceptions import ConsumerNotStarted
    from faust.tables.recovery import Recovery

    if _patches.installed:
        return
    need_recovery = Recovery.need_recovery

    def _need_recovery(self: Any) -> bool:
        consumer = self.app.consumer

        def fetched_end(tp: Any) -> int | None:
            try:
                return consumer.highwater(tp)
            except (AssertionError, ConsumerNotStarted):  # not assigned (any more), or no consumer yet
                return None

        raise_to_fetched_ends(self.active_highwaters, fetched_end)
        return need_recovery(self)

    _patches.replace(Recovery, "need_recovery", _need_recovery)


def uninstall() -> None:
    """Give faust its own recovery target back."""
    _patches.undo()
