"""Retrying an operation until it succeeds, for failures that waiting can fix (a database outage)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sentinai.metrics import SINK_ERRORS

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BACKOFF = 2.0  # bounds how long after the database returns the flow resumes (the promise is 5 s)


async def retry_forever(operation: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run until it succeeds, backing off from 0.1 s to MAX_BACKOFF; only cancellation stops it."""
    delay = 0.1
    while True:
        try:
            return await operation()
        except asyncio.CancelledError:
            raise
        except Exception as err:
            SINK_ERRORS.inc()
            log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(err).__name__, err, delay)
            await asyncio.sleep(delay)
            delay = min(MAX_BACKOFF, delay * 2)
