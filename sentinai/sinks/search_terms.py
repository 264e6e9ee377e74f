"""Per-tenant document frequencies of the search documents' terms: the IDF of similar cases.

PostgreSQL's text ranking has no notion of how common a term is, and in a tenant's history most
terms of an exception are shared by thousands of others (its type, its source, the enum values
of its kind). Similar-case search weighs each shared term by its rarity within the tenant, and
uses only the rarer terms to find candidates, which keeps the candidate set, and the query time,
small. The counts come from ``ts_stat`` over the tenant's documents, refreshed by the workers on
a timer (one worker at a time); they may lag a little behind the documents, which only makes a
new term look rare for a while.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

_LOCK_KEY = 0x53494D494C4152  # "SIMILAR": one refresh round at a time across workers

_REFRESH = """
WITH counted AS (
    SELECT word, ndoc FROM ts_stat(format(
        'SELECT tsv FROM exception_search WHERE tenant_id = %L', $1::text))
)
INSERT INTO search_terms (tenant_id, lexeme, documents)
SELECT $1, word, ndoc FROM counted
"""


async def refresh_tenant(conn: asyncpg.Connection, tenant_id: str, *, now: datetime) -> int:
    """Recount ``tenant_id``'s terms in one transaction; returns its number of documents."""
    async with conn.transaction():
        await conn.execute("DELETE FROM search_terms WHERE tenant_id = $1", tenant_id)
        await conn.execute(_REFRESH, tenant_id)
        documents = int(await conn.fetchval(
            "SELECT count(*) FROM exception_search WHERE tenant_id = $1", tenant_id))
        await conn.execute(
            "INSERT INTO search_stats (tenant_id, documents, refreshed_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (tenant_id) DO UPDATE SET documents = EXCLUDED.documents, "
            "refreshed_at = EXCLUDED.refreshed_at", tenant_id, documents, now)
    return documents


async def refresh_all(pool: asyncpg.Pool, *, now: datetime) -> list[dict[str, Any]] | None:
    """Recount every tenant with search documents; None when another worker holds the round."""
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK_KEY):
            return None
        try:
            tenants = [r["tenant_id"] for r in await conn.fetch(
                "SELECT DISTINCT tenant_id FROM exception_search ORDER BY 1")]
            return [{"tenant_id": t, "documents": await refresh_tenant(conn, t, now=now)}
                    for t in tenants]
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
