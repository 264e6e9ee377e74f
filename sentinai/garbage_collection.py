"""The worker's cyclic garbage collector, tuned for a process that keeps large tables in memory.

CPython's defaults (a young collection every 700 net allocations, a full one about every 100
young ones) suit short scripts. A worker allocates a few hundred container objects per exception
and keeps tens of thousands of table entries alive: with the defaults it spent about 11 % of its
CPU in the collector, and a full collection stopped the event loop for up to 252–356 ms
(docs/performance.md, "The collector, direct sends, cheaper ids"). Almost every object here is
freed by reference counting; the collector only has to find cycles, which are rare, so it can run
far less often.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 20


def tune_for_worker() -> None:
    """Collect less often (process-wide; call once when the worker starts)."""
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
