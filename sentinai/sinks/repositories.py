"""Tenant-scoped reads of the system of record for the pipeline and the tests.

Every function takes the tenant id and filters by it first: a caller can never read another
tenant's rows by guessing an id.
"""

from __future__ import annotations

from typing import Any

import asyncpg


async def get_exception(pool: asyncpg.Pool, tenant_id: str, exception_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT * FROM exceptions WHERE tenant_id = $1 AND exception_id = $2", tenant_id, exception_id)
    return dict(row) if row else None


async def exception_timeline(pool: asyncpg.Pool, tenant_id: str, exception_id: str) -> list[dict[str, Any]]:
    """The exception's events in the order they happened (ties broken by event id, stably)."""
    rows = await pool.fetch(
        """SELECT event_id, tenant_id, exception_id, event_type, actor_type, actor_id, payload,
                  occurred_at, recorded_at
           FROM exception_events WHERE tenant_id = $1 AND exception_id = $2
           ORDER BY occurred_at, event_id""",
        tenant_id, exception_id,
    )
    return [dict(r) for r in rows]


async def count_exceptions(pool: asyncpg.Pool, tenant_id: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM exceptions WHERE tenant_id = $1", tenant_id))
