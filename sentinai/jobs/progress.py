"""The worker's progress line: one log line per round while work moves, then the stall watchdog.

What a stalled worker stopped doing shows in its log: the last line before the watchdog's report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import REGISTRY

from sentinai.jobs.watchdog import Watchdog
from sentinai.metrics import PROCESSED_SAMPLE

log = logging.getLogger(__name__)

OUTCOMES = ("decided", "replayed", "duplicate", "deferred", "dead_lettered", "forwarded")


def processed(outcome: str) -> int:
    """Input messages handled so far with ``outcome``, read back from the registry."""
    return int(REGISTRY.get_sample_value(PROCESSED_SAMPLE, {"outcome": outcome}) or 0)


class ProgressLog:
    def __init__(self, *, watchdog: Watchdog, sink_pending: Callable[[], int], assigned: Callable[[], int]) -> None:
        self._watchdog = watchdog
        self._sink_pending = sink_pending
        self._assigned = assigned
        self._last = ""

    async def round(self) -> None:
        counts = " ".join(f"{outcome}={processed(outcome)}" for outcome in OUTCOMES)
        line = f"progress: {counts} sink_pending={self._sink_pending()} assigned={self._assigned()}"
        if line != self._last:
            log.info("%s", line)
            self._last = line
        await self._watchdog.check()
