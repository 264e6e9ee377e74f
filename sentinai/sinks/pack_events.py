"""The packs' own event log (``pack_events``): who proposed, approved, rejected or activated what.

Rows are written in the transaction of the change they record, so the log and the packs cannot
disagree; the table is append-only (a trigger refuses UPDATE and DELETE) and retention leaves it
alone: it is the audit trail of the rules that decided every exception.
"""

from __future__ import annotations

from typing import Any

import asyncpg

PACK_EVENT_TYPES = ("PackChangeProposed", "PackChangeApproved", "PackChangeRejected",
                    "PackVersionActivated")


def actor_type(actor: str) -> str:
    """``user`` for an API key or a person at the command line, ``system`` for a deploy."""
    return "user" if actor.startswith(("api-key:", "cli:")) else "system"


async def record_pack_event(conn: asyncpg.Connection, tenant_id: str, event_type: str, actor: str,
                            payload: dict[str, Any], *, proposal_id: int | None = None) -> None:
    assert event_type in PACK_EVENT_TYPES, event_type
    await conn.execute(
        """INSERT INTO pack_events (tenant_id, event_type, proposal_id, actor_type, actor_id, payload)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        tenant_id, event_type, proposal_id, actor_type(actor), actor, payload)


async def pack_timeline(pool: asyncpg.Pool, tenant_id: str, *, limit: int = 200,
                        before: int | None = None) -> list[dict[str, Any]]:
    """The tenant's pack events, newest first (``before``: an event id, for the next page)."""
    rows = await pool.fetch(
        """SELECT id, event_type, proposal_id, actor_type, actor_id, payload, occurred_at
           FROM pack_events WHERE tenant_id = $1 AND ($2::bigint IS NULL OR id < $2)
           ORDER BY id DESC LIMIT $3""", tenant_id, before, limit)
    return [dict(r) for r in rows]
