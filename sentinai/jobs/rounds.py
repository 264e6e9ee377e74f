"""A periodic job on the worker's faust timer: one round every so often, a failed round logged.

A faust timer whose body raises stops for good, so every round is caught here and the job runs
again at the next interval. A job whose resources are not ready yet (the pool opens on the first
agent's start) skips the round.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


def every(app: Any, seconds: float, what: str, job: Callable[[], Awaitable[Any]],
          *, ready: Callable[[], bool]) -> Callable[[], Awaitable[None]]:
    """Run ``job()`` every ``seconds`` on ``app``'s timer once ``ready()``; ``what`` names it in logs.

    Returns one round, for a caller that also wants one at a moment of its own."""
    async def one_round() -> None:
        if not ready():
            return
        try:
            await job()
        except Exception:  # a timer that raised would stop for good
            log.exception("%s round failed", what)

    app.timer(interval=seconds, name=f"sentinai.jobs.{what.replace(' ', '_')}")(one_round)
    return one_round
