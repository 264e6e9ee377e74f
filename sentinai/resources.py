"""The worker's PostgreSQL pool and active packs, opened once by whichever agent starts first."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

import asyncpg

from sentinai.caches.packs import PackCache
from sentinai.settings import Settings
from sentinai.sinks.pool import open_pool

log = logging.getLogger(__name__)


class Resources:
    """``packs`` exists from the start (empty); :meth:`ready` opens the pool and loads them.

    Agents await :meth:`ready` before their first input, so a worker started before PostgreSQL
    joins its group and waits for the database instead of failing: one WARNING a second, not an
    agent crashing with its traceback.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.packs = PackCache(settings.pack_limits())
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        self._stack = AsyncExitStack()

    @property
    def opened(self) -> bool:
        return self._pool is not None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the worker's pool is not open yet: await Resources.ready() first")
        return self._pool

    async def ready(self) -> Resources:
        async with self._lock:
            pool = None
            while self._pool is None:
                try:
                    if pool is None:
                        pool = await self._stack.enter_async_context(
                            open_pool(self.settings.require_database(), min_size=1, max_size=8))
                    await self.packs.refresh(pool)
                    self._pool = pool
                except (OSError, asyncpg.PostgresError) as err:
                    what = "reach the database" if pool is None else "load packs"
                    log.warning("cannot %s yet (%s); retrying", what, err)
                    await asyncio.sleep(1)
        return self

    async def refresh_packs(self) -> None:
        """Reload the packs if they changed (a no-op before the pool is open); a failure keeps the old ones."""
        if self._pool is None:
            return
        try:
            await self.packs.refresh(self._pool)
        except (OSError, asyncpg.PostgresError) as err:
            log.warning("pack refresh failed: %s", err)

    async def close(self) -> None:
        self._pool = None
        await self._stack.aclose()
