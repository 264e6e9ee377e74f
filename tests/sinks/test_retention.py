"""Retention: only the listed tenant's old exceptions go, whole, in batches, and the run is recorded."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from sentinai.sinks.retention import _JOB_LOCK, apply_retention, apply_retention_exclusively
from sentinai.sinks.writer import EventWriter
from tests.sinks.conftest import T0, event, lifecycle
from tests.sinks.test_writer import approval_events, tool_events

NOW = T0 + timedelta(days=100)


async def _seed(pool: asyncpg.Pool) -> None:
    """acme: 25 exceptions last updated ~100 days ago, 3 recent ones; beta: the same old ones."""
    events = []
    for tenant in ("acme", "beta"):
        for i in range(25):
            events += lifecycle(tenant, f"OLD-{i}") + approval_events(tenant, f"OLD-{i}") + tool_events(tenant, f"OLD-{i}")
    for i in range(3):
        events += lifecycle("acme", f"NEW-{i}", start_minutes=99 * 24 * 60)
    # An old exception touched recently stays whole, old events included.
    events += lifecycle("acme", "TOUCHED")
    events.append(event("acme", "TOUCHED", "CommentAdded", version=8, minutes=99 * 24 * 60, status="RESOLVED"))
    # An old event with no exception row (rejected input) goes too.
    events.append(event("acme", "REJECTED-1", "ExceptionRejected"))
    await EventWriter(pool).write_batch(events)


async def _count(pool: asyncpg.Pool, table: str, tenant: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1", tenant))


async def test_deletes_only_old_rows_of_the_listed_tenant(pool: asyncpg.Pool) -> None:
    await _seed(pool)
    beta_before = {t: await _count(pool, t, "beta") for t in ("exceptions", "exception_events", "approvals")}
    runs = await apply_retention(pool, ttl_days_by_tenant={"acme": 30}, now=NOW, batch_size=10)

    assert len(runs) == 1
    run = runs[0]
    assert (run["tenant_id"], run["cutoff"]) == ("acme", NOW - timedelta(days=30))
    assert (run["exceptions_deleted"], run["events_deleted"]) == (25, 25 * 11 + 1)
    assert (run["approvals_deleted"], run["tool_executions_deleted"]) == (25, 25)
    assert run["batches"] >= 4  # 25 exceptions in batches of 10, then the orphan events

    remaining = {r[0] for r in await pool.fetch("SELECT exception_id FROM exceptions WHERE tenant_id = 'acme'")}
    assert remaining == {"NEW-0", "NEW-1", "NEW-2", "TOUCHED"}
    assert await pool.fetchval(
        "SELECT count(*) FROM exception_events WHERE tenant_id = 'acme' AND exception_id = 'TOUCHED'") == 8
    assert await _count(pool, "exception_events", "acme") == 3 * 7 + 8
    assert {t: await _count(pool, t, "beta") for t in beta_before} == beta_before

    recorded = await pool.fetchrow("SELECT * FROM retention_runs")
    assert (recorded["tenant_id"], recorded["exceptions_deleted"], recorded["events_deleted"],
            recorded["batches"]) == ("acme", 25, 276, run["batches"])


async def test_a_second_run_finds_nothing_and_is_recorded(pool: asyncpg.Pool) -> None:
    await _seed(pool)
    await apply_retention(pool, ttl_days_by_tenant={"acme": 30, "beta": 365}, now=NOW)
    runs = await apply_retention(pool, ttl_days_by_tenant={"acme": 30, "beta": 365}, now=NOW)
    assert [(r["tenant_id"], r["exceptions_deleted"], r["events_deleted"]) for r in runs] == [
        ("acme", 0, 0), ("beta", 0, 0)]
    assert await pool.fetchval("SELECT count(*) FROM retention_runs") == 4
    assert await _count(pool, "exceptions", "beta") == 25


async def test_one_process_runs_the_job_at_a_time(pool: asyncpg.Pool) -> None:
    await _seed(pool)
    other_worker = await pool.acquire()
    try:
        assert await other_worker.fetchval("SELECT pg_try_advisory_lock($1)", _JOB_LOCK)
        assert await apply_retention_exclusively(pool, ttl_days_by_tenant={"acme": 30}, now=NOW) is None
        assert await _count(pool, "exceptions", "acme") == 29
        await other_worker.execute("SELECT pg_advisory_unlock($1)", _JOB_LOCK)
    finally:
        await pool.release(other_worker)
    runs = await apply_retention_exclusively(pool, ttl_days_by_tenant={"acme": 30}, now=NOW)
    assert runs is not None and runs[0]["exceptions_deleted"] == 25
    # released afterwards: the next round can take it
    assert await apply_retention_exclusively(pool, ttl_days_by_tenant={"acme": 30}, now=NOW) is not None
