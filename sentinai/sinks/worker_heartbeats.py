"""The workers' heartbeats in PostgreSQL (migration 0005): which workers run now.

A worker writes its row every :data:`BEAT_SECONDS` and deletes it when it stops; the web view
counts the rows written within :data:`FRESH_SECONDS` (three beats: a worker killed or frozen drops
out of the count within that time). The Kafka group cannot tell this on every broker: the embedded
one keeps a stopped worker as a member of the group for good.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

BEAT_SECONDS = 10.0
FRESH_SECONDS = 3 * BEAT_SECONDS
GONE_AFTER = "1 day"
"""Rows of workers gone longer than this are deleted by the next beat of any worker."""


@dataclass(frozen=True)
class WorkerIdentity:
    """This worker process: a new id each start, with where it runs for an operator to find it."""

    worker_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


async def beat(pool: asyncpg.Pool, worker: WorkerIdentity) -> None:
    """Write that ``worker`` runs now (and forget workers gone for a day)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO worker_heartbeats (worker_id, host, pid, started_at, seen_at) VALUES ($1, $2, $3, $4, now()) "
            "ON CONFLICT (worker_id) DO UPDATE SET seen_at = now()",
            worker.worker_id, worker.host, worker.pid, worker.started_at)
        await conn.execute(f"DELETE FROM worker_heartbeats WHERE seen_at < now() - interval '{GONE_AFTER}'")


async def leave(pool: asyncpg.Pool, worker: WorkerIdentity) -> None:
    """``worker`` stops: it no longer counts."""
    await pool.execute("DELETE FROM worker_heartbeats WHERE worker_id = $1", worker.worker_id)


async def running(pool: asyncpg.Pool) -> int:
    """Workers whose heartbeat is fresh."""
    return int(await pool.fetchval(
        "SELECT count(*) FROM worker_heartbeats WHERE seen_at > now() - make_interval(secs => $1)",
        FRESH_SECONDS))
