"""Which workers run: a fresh heartbeat counts, a silent one does not, a stopped one leaves."""

from __future__ import annotations

import asyncpg

from sentinai.sinks.worker_heartbeats import FRESH_SECONDS, WorkerIdentity, beat, leave, running


async def _seen_ago(pool: asyncpg.Pool, worker: WorkerIdentity, seconds: float) -> None:
    await pool.execute("UPDATE worker_heartbeats SET seen_at = now() - make_interval(secs => $2) WHERE worker_id = $1",
                       worker.worker_id, seconds)


async def test_fresh_heartbeats_count_silent_and_stopped_workers_do_not(pool: asyncpg.Pool) -> None:
    first, second, frozen = WorkerIdentity(), WorkerIdentity(), WorkerIdentity()
    assert await running(pool) == 0
    for worker in (first, second, frozen):
        await beat(pool, worker)
    assert await running(pool) == 3
    await _seen_ago(pool, frozen, FRESH_SECONDS + 1)  # killed or frozen: it stopped beating
    assert await running(pool) == 2
    await beat(pool, first)  # a beat again is the same worker, not one more
    await leave(pool, second)
    assert await running(pool) == 1


async def test_a_beat_forgets_workers_gone_for_a_day(pool: asyncpg.Pool) -> None:
    gone, alive = WorkerIdentity(), WorkerIdentity()
    await beat(pool, gone)
    await _seen_ago(pool, gone, 86_400 + 60)
    await beat(pool, alive)
    assert await pool.fetchval("SELECT array_agg(worker_id) FROM worker_heartbeats") == [alive.worker_id]
