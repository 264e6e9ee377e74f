"""The worker's stall watchdog: input waiting on assigned partitions, and nothing moving.

A faust worker can end up "Ready" with partitions assigned and work waiting on them, and never
fetch again (see docs/design.md, "Stalls"). From the outside that looks like a healthy, idle
worker. The watchdog compares, every check, how much work the worker did with how much input is
waiting on its partitions; when work waits and nothing moved for ``stall_seconds`` it logs what
the consumer looks like inside (the evidence) and calls ``on_stall``.
"""

from __future__ import annotations

import gc
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sentinai.framework.consumer_internals import (
    await_chain,
    consumer_snapshot,
    consumer_thread_report,
    waiting_input,
)

log = logging.getLogger(__name__)


def agent_stacks() -> dict[str, list[str]]:
    """Where each agent's body waits (faust agents are async generators, which task dumps skip)."""
    stacks = {}
    for obj in gc.get_objects():
        if inspect.isasyncgen(obj) and obj.ag_frame is not None and obj.ag_code.co_name.endswith("_agent"):
            stacks[obj.ag_code.co_name] = await_chain(obj)[-6:]
    return stacks


def _per_partition(waiting: dict[str, int] | None) -> str:
    if waiting is None:
        return "partitions unknown"
    return ", ".join(f"{partition}: {count}" for partition, count in waiting.items())


class Watchdog:
    """Logs (and calls ``on_stall``) when input waits and ``work()`` has not moved for ``stall_seconds``."""

    def __init__(self, app: Any, *, work: Callable[[], float], stall_seconds: float,
                 on_stall: Callable[[dict[str, Any]], Awaitable[None]] | None = None) -> None:
        self.app = app
        self.work = work
        self.stall_seconds = stall_seconds
        self.on_stall = on_stall
        self._last_work = work()
        self._moved_at = time.monotonic()
        self._idle_logged = False
        self.stalls = 0

    async def check(self) -> None:
        now, work = time.monotonic(), self.work()
        if work != self._last_work or self.app.rebalancing:
            self._last_work, self._moved_at, self._idle_logged = work, now, False
            return
        if now - self._moved_at < self.stall_seconds:
            return
        try:
            waiting = await waiting_input(self.app)
        except Exception as err:  # the watchdog must never be what stops a worker
            log.warning("watchdog: cannot tell the input waiting (%s)", err)
            return
        if waiting == {}:
            if not self._idle_logged:
                log.info("watchdog: idle for %.0fs, no input waiting", now - self._moved_at)
                self._idle_logged = True
            self._moved_at = now
            return
        total = None if waiting is None else sum(waiting.values())
        snapshot = consumer_snapshot(self.app)
        snapshot["waiting_input"] = waiting
        try:
            snapshot["agents"] = agent_stacks()
            snapshot.update(await consumer_thread_report(self.app))
        except Exception as err:  # diagnostics must never fail the worker
            snapshot["thread.report"] = repr(err)
        self.stalls += 1
        log.error("stall: %s messages wait on assigned partitions (%s) and nothing moved for %.0fs; %s",
                  "unknown" if total is None else total, _per_partition(waiting), now - self._moved_at, snapshot)
        self._moved_at = now
        if self.on_stall is not None:
            await self.on_stall(snapshot)


def pipeline_work() -> float:
    """Everything the worker's agents have done or tried so far.

    Input handled, events stored, and failed write attempts: a sink retrying against a database
    that is down is waiting for the database, not stalled (that shows as its own warnings).
    """
    from sentinai.metrics import EVENTS_PROCESSED, SINK_BATCH, SINK_ERRORS

    def total(metric: Any, suffix: str) -> float:
        return sum(sample.value for family in metric.collect() for sample in family.samples
                   if sample.name.endswith(suffix))

    return total(EVENTS_PROCESSED, "_total") + total(SINK_BATCH, "_sum") + total(SINK_ERRORS, "_total")
