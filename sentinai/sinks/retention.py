"""Retention: forget exceptions, and their events, older than the tenant's ``dataTTL``.

This is the only code that deletes from ``exception_events`` (besides ``sentinai dev`` at start,
which forgets every row of its embedded broker's lost log: :mod:`sentinai.sinks.log_reset`); the
table is append-only otherwise, and a trigger enforces it: a DELETE succeeds only in a transaction
that has set ``sentinai.retention`` (as this module does), and UPDATE never. An exception is old when its last
change (``updated_at``, the time of the event that wrote its current version) is before the cutoff;
it goes with all its events, approvals and tool executions, so an exception is kept or forgotten
whole. Events older than the cutoff that belong to no exception row (rejected input, say) go too.

Work is done in small batches, each its own short transaction, so the sink and the web view never
wait long on its locks. Each tenant's run is recorded in ``retention_runs``. Every worker runs the
job on a timer (``SENTINAI_RETENTION_INTERVAL_SECONDS``) through :func:`apply_retention_exclusively`:
a session advisory lock lets one of them run at a time, and the others skip that round.

Replaying a topic that still holds forgotten events brings them back; Kafka's own retention should
be shorter than the shortest ``dataTTL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg

_DELETE_EXCEPTIONS = """
WITH doomed AS (
    SELECT exception_id FROM exceptions
    WHERE tenant_id = $1 AND updated_at < $2
    ORDER BY updated_at LIMIT $3
    FOR UPDATE
), events AS (
    DELETE FROM exception_events e USING doomed d
    WHERE e.tenant_id = $1 AND e.exception_id = d.exception_id RETURNING 1
), approvals AS (
    DELETE FROM approvals a USING doomed d
    WHERE a.tenant_id = $1 AND a.exception_id = d.exception_id RETURNING 1
), tool_executions AS (
    DELETE FROM tool_executions t USING doomed d
    WHERE t.tenant_id = $1 AND t.exception_id = d.exception_id RETURNING 1
), gone AS (
    DELETE FROM exceptions x USING doomed d
    WHERE x.tenant_id = $1 AND x.exception_id = d.exception_id RETURNING 1
)
SELECT (SELECT count(*) FROM gone) AS exceptions, (SELECT count(*) FROM events) AS events,
       (SELECT count(*) FROM approvals) AS approvals,
       (SELECT count(*) FROM tool_executions) AS tool_executions
"""

_DELETE_ORPHAN_EVENTS = """
WITH gone AS (
    DELETE FROM exception_events WHERE event_id IN (
        SELECT e.event_id FROM exception_events e
        WHERE e.tenant_id = $1 AND e.occurred_at < $2
          AND NOT EXISTS (SELECT 1 FROM exceptions x
                          WHERE x.tenant_id = e.tenant_id AND x.exception_id = e.exception_id)
        LIMIT $3)
    RETURNING 1
)
SELECT count(*) FROM gone
"""


async def apply_retention(pool: asyncpg.Pool, *, ttl_days_by_tenant: Mapping[str, int], now: datetime,
                          batch_size: int = 1000) -> list[dict[str, Any]]:
    """Delete what each listed tenant keeps no longer; returns what was deleted, per tenant."""
    runs = []
    for tenant_id, ttl_days in sorted(ttl_days_by_tenant.items()):
        cutoff = now - timedelta(days=ttl_days)
        run: dict[str, Any] = {"tenant_id": tenant_id, "cutoff": cutoff, "exceptions_deleted": 0,
                               "events_deleted": 0, "approvals_deleted": 0,
                               "tool_executions_deleted": 0, "batches": 0}
        while True:
            row = await _in_retention_transaction(pool, _DELETE_EXCEPTIONS, tenant_id, cutoff, batch_size)
            run["batches"] += 1
            for name in ("exceptions", "events", "approvals", "tool_executions"):
                run[f"{name}_deleted"] += row[name]
            if row["exceptions"] < batch_size:
                break
        while True:
            row = await _in_retention_transaction(pool, _DELETE_ORPHAN_EVENTS, tenant_id, cutoff, batch_size)
            run["batches"] += 1
            run["events_deleted"] += row[0]
            if row[0] < batch_size:
                break
        await pool.execute(
            """INSERT INTO retention_runs (tenant_id, cutoff, exceptions_deleted, events_deleted,
                                           approvals_deleted, tool_executions_deleted, batches)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            tenant_id, cutoff, run["exceptions_deleted"], run["events_deleted"],
            run["approvals_deleted"], run["tool_executions_deleted"], run["batches"])
        runs.append(run)
    return runs


# pg_try_advisory_lock key of the retention job: any 64-bit number no other SentinAI lock uses.
_JOB_LOCK = 0x53_52_45_54_45_4E_54  # "SRETENT"


async def apply_retention_exclusively(pool: asyncpg.Pool, *, ttl_days_by_tenant: Mapping[str, int], now: datetime,
                                      batch_size: int = 1000) -> list[dict[str, Any]] | None:
    """:func:`apply_retention`, unless another process is running it now: None then.

    The lock is held by a session of its own, so a worker that dies mid-run releases it with its
    connection; the batches already deleted stay deleted and the next run carries on.
    """
    async with pool.acquire() as holder:
        if not await holder.fetchval("SELECT pg_try_advisory_lock($1)", _JOB_LOCK):
            return None
        try:
            return await apply_retention(pool, ttl_days_by_tenant=ttl_days_by_tenant, now=now,
                                         batch_size=batch_size)
        finally:
            await holder.execute("SELECT pg_advisory_unlock($1)", _JOB_LOCK)


async def _in_retention_transaction(pool: asyncpg.Pool, sql: str, *args: object) -> asyncpg.Record:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL sentinai.retention = 'on'")
        return await conn.fetchrow(sql, *args)
