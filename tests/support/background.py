"""An asyncio loop on a background thread, for real servers that synchronous tests talk to."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from aiohttp import web

T = TypeVar("T")


@contextmanager
def serving(start: Callable[[], Awaitable[T]], stop: Callable[[], Awaitable[object]]) -> Iterator[T]:
    """Run ``start()`` on a background loop, yield its result, and always ``stop()`` and close."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        result = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
        try:
            yield result
        finally:
            asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@contextmanager
def serving_app(app: web.Application, port: int) -> Iterator[None]:
    """Serve an aiohttp app on 127.0.0.1:``port`` from a background loop; always cleaned up."""
    runner = web.AppRunner(app)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    with serving(start, runner.cleanup):
        yield
