"""Starting an aiokafka client so that a cancellation leaves no connection open.

aiokafka's bootstrap (``AIOKafkaClient.bootstrap``) opens a connection, asks it for the cluster's
metadata and closes it once the answer came: a task cancelled in between — the web view stopping
while its decision feed connects — leaves that connection to the garbage collector, which logs
"Unclosed AIOKafkaConnection" as an ERROR (a failed `sentinai web` printed it under its one line).
Here the start runs in a task of its own that the cancellation does not interrupt; the cancelled
caller gives it a moment to finish, then closes the client and goes on being cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

FINISH_SECONDS = 2.0
"""How long a cancelled start may go on (a broker that answers does so in milliseconds)."""


async def start_client(start: Callable[[], Awaitable[None]], close: Callable[[], Awaitable[None]]) -> None:
    """``await start()``; when cancelled meanwhile, let it finish (briefly), ``close()``, re-raise."""
    starting = asyncio.ensure_future(start())
    try:
        await asyncio.shield(starting)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(starting, FINISH_SECONDS)
        with contextlib.suppress(Exception):
            await close()
        raise
