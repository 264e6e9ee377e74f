"""Correction: every ``Topic.send`` yields to the event loop three times.

Corrects faust-streaming 0.15 ``faust.topics.Topic._get_producer`` (with mode 0.7's
``stampede``). Each publish looks the producer up through ``App.maybe_start_producer``, which is
wrapped in ``stampede``: three ``await asyncio.sleep(0)`` per call, even when the producer has
long been started. So every message published (events, decisions, table changelog writes) costs
three event-loop turns, each with a ``select()`` that releases the GIL to the consumer's thread.

Measured loss (docs/performance.md, "What was found and changed (2026-11-25)", item 1): the
intake agent spent ~80 % of its wall time inside sends with the process half idle; with the
started producer handed over, 139 → 340 decisions/s on the same 4,000 exceptions.

The replacement hands the started producer straight over and keeps faust's path for the rest
(not started yet, or the exactly-once transaction manager).
"""

from __future__ import annotations

from typing import Any

from sentinai.framework.patching import Patches

_patches = Patches()


def install() -> None:
    """Make ``Topic.send`` take the started producer without yielding to the event loop (idempotent)."""
    from faust.topics import Topic

    if _patches.installed:
        return
    via_stampede = Topic._get_producer

    async def _get_producer(self: Any) -> Any:
        app = self.app
        producer = app.producer
        if producer.started and not app.in_transaction:
            return producer
        return await via_stampede(self)

    _patches.replace(Topic, "_get_producer", _get_producer)


def uninstall() -> None:
    """Give faust its own producer lookup back."""
    _patches.undo()
