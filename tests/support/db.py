"""Synchronous helpers over asyncpg for tests that drive real processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg


async def _fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    return asyncio.run(_fetch(url, sql, *args))


def fetchval(url: str, sql: str, *args: Any) -> Any:
    rows = fetch(url, sql, *args)
    return rows[0][0] if rows else None


def wait_for(url: str, sql: str, *args: Any, until: Callable[[Any], bool] = bool, timeout: float = 30.0) -> Any:
    """Poll the first column of the first row until ``until(value)``; fail with the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetchval(url, sql, *args)
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{sql} {args}: still {value!r} after {timeout}s")
        time.sleep(0.2)
