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


SYSTEM_OF_RECORD = ("exception_events", "exceptions", "approvals", "tool_executions")


async def fingerprint(pool: asyncpg.Pool, tables: tuple[str, ...] = SYSTEM_OF_RECORD, *,
                      without: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    """Row count and an md5 over every column (but ``without``) of every row, per table."""
    result = {}
    for table in tables:
        columns = [r[0] for r in await pool.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = $1 ORDER BY ordinal_position", table)]
        kept = ", ".join(c for c in columns if c not in without)
        row = await pool.fetchrow(f"SELECT count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) "
                                  f"FROM (SELECT {kept} FROM {table}) r")
        result[table] = (row[0], row[1])
    return result
