"""Correction: resuming flow that is already active drops the agents' queued input.

Corrects mode-streaming 0.7 ``mode.utils.queues.FlowControlEvent.resume`` as faust-streaming 0.15
uses it. faust's agent input queues are cleared whenever ``app.flow_control.resume()`` is called,
and table recovery calls it again at its very end, after it has resumed the stream partitions and
awaited the seek to the committed offsets — while flow is already active and the fetcher has been
filling those queues. Every message in them is dropped unacked, and faust has recorded them as
read, so they are never fetched again.

Measured loss (docs/design.md, "The kill -9 restart stall"): after a kill -9 the restarted
worker logged ``Ready`` and then stored nothing, or stopped a few dozen exceptions short — the
partition's commit stuck below the first dropped message, or faust's gap handling committing over
them (exceptions silently never decided). After a kill -9 there is always such a backlog, so this
hit the chaos test often.

Clearing on a suspended → active transition (the end of a rebalance, when queued messages belong
to an assignment that is gone) is kept; resuming flow that is already active keeps the queues and
logs how many messages faust would have dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from sentinai.framework.patching import Patches

log = logging.getLogger(__name__)

_patches = Patches()


def resume(self: Any) -> None:
    """``FlowControlEvent.resume`` that clears the queues only when flow was suspended."""
    was_suspended = self._suspend.is_set()
    self._suspend.clear()
    self._resume.set()
    if was_suspended:
        self.clear()
        return
    queued = sum(queue.qsize() for queue in self._queues)
    if queued:
        log.info("flow control resumed while active: kept %d queued messages that faust would drop", queued)


def install() -> None:
    """Make ``flow_control.resume()`` keep queued input when flow is already active (idempotent)."""
    from mode.utils.queues import FlowControlEvent

    if not _patches.installed:
        _patches.replace(FlowControlEvent, "resume", resume)


def uninstall() -> None:
    """Give mode its own ``resume`` back."""
    _patches.undo()
