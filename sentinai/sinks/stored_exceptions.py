"""Stored exceptions of a tenant, streamed in batches through a server-side cursor.

The what-if replay reads a whole period; a cursor keeps the memory of a read to one batch, however
many rows the period holds. The JSON columns come as text and are parsed by the caller (with the standard
library: orjson would read an integer beyond 64 bits as a float).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg

_QUERY = """SELECT exception_id, source_system, exception_type, raw_payload::text,
                   normalized_context::text, created_at
            FROM exceptions
            WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
            ORDER BY created_at DESC, exception_id"""


@dataclass(frozen=True, slots=True)
class StoredException:
    exception_id: str
    source_system: str | None
    exception_type: str | None
    raw_payload: str | None
    normalized_context: str | None
    created_at: datetime


async def stored_exceptions(pool: asyncpg.Pool, tenant_id: str, since: datetime, until: datetime,
                            *, batch_size: int = 2000) -> AsyncIterator[list[StoredException]]:
    """Batches of the tenant's exceptions first stored in ``[since, until)``, newest first (the
    order of the ``exceptions_by_created`` index: no sort of the period before the first row)."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        cursor = await conn.cursor(_QUERY, tenant_id, since, until)
        ahead = asyncio.ensure_future(cursor.fetch(batch_size))
        try:
            while rows := await ahead:
                # The server reads the next batch while the caller works on this one.
                ahead = asyncio.ensure_future(cursor.fetch(batch_size))
                yield [StoredException(*row) for row in rows]
        finally:
            if not ahead.done():
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ahead


async def stored_exception(pool: asyncpg.Pool, tenant_id: str,
                           exception_id: str) -> StoredException | None:
    row = await pool.fetchrow(
        """SELECT exception_id, source_system, exception_type, raw_payload::text,
                  normalized_context::text, created_at
           FROM exceptions WHERE tenant_id = $1 AND exception_id = $2""", tenant_id, exception_id)
    return None if row is None else StoredException(*row)
