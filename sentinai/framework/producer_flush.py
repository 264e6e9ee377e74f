"""Correction: faust's ``ProducerBuffer.flush`` gives up before the changelog is written.

Corrects faust-streaming 0.15 ``faust.transport.producer.ProducerBuffer.flush``. Table writes
(``table[k] = v``) reach the changelog through the producer's buffer (``send_soon``): a queue
drained by a background task that hands one message at a time to the Kafka client. Before
committing input offsets faust calls ``producer.flush()``, which should drain that buffer first —
that is what makes "table changes reach the changelog before input offsets are committed" true.
faust's flush returns as soon as one message takes longer than 0.1 s to hand over, and it ignores
the message the background task has taken off the queue but not handed over yet.

Measured loss (docs/design.md, "faust's producer flush returns before the changelog is
written"): the commit went ahead with changelog writes still in the buffer, and a kill -9 at that
moment lost table changes whose input was committed — the chaos test saw tenant stats a few
decisions short after three kill -9s.

The replacement waits until the queue is empty *and* nothing is in flight. It gives up only when
the buffer is not running (as faust's does), so a stuck producer shows up as a stuck commit with
a warning every 10 s rather than as silently lost table changes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sentinai.framework.patching import Patches

log = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 10.0
_patches = Patches()


def install() -> None:
    """Make ``ProducerBuffer.flush`` drain the buffer for real (idempotent)."""
    from faust.transport.producer import ProducerBuffer

    if _patches.installed:
        return
    send_one = ProducerBuffer._send_pending

    async def _send_pending(self: Any, fut: Any) -> None:
        self._sentinai_in_flight += 1
        try:
            await send_one(self, fut)
        finally:
            self._sentinai_in_flight -= 1

    async def flush(self: Any) -> None:
        waited = 0.0
        while self.size or self._sentinai_in_flight:
            if self.state != "running" and self.size:
                raise RuntimeError("Cannot flush: Producer not Running")
            self.message_sent.clear()
            try:
                await asyncio.wait_for(self.message_sent.wait(), timeout=0.1)
            except TimeoutError:
                waited += 0.1
                if waited >= WARN_EVERY_SECONDS:
                    log.warning("producer buffer flush still waiting: %d queued, %d in flight",
                                self.size, self._sentinai_in_flight)
                    waited = 0.0

    _patches.replace(ProducerBuffer, "_sentinai_in_flight", 0)
    _patches.replace(ProducerBuffer, "_send_pending", _send_pending)
    _patches.replace(ProducerBuffer, "flush", flush)


def uninstall() -> None:
    """Give faust its own flush back."""
    _patches.undo()
