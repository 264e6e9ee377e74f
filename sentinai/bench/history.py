"""A stored history for benchmarks and tests: exceptions decided and written as the pipeline does.

Each raw exception is normalized and decided by the core, turned into the events of the log
(`sentinai.streams.records.outcome_events`) and written by the sink's `EventWriter`: the rows are
the ones a worker would have stored, without a broker in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg

from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.core.packs import PackSet
from sentinai.sinks.writer import EventWriter
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.records import outcome_events


async def store_history(pool: asyncpg.Pool, pack_set: PackSet, raws: Iterable[dict[str, Any]], *,
                        now: datetime, batch_events: int = 5000) -> int:
    """Decide and store every exception of ``raws``; returns how many were stored."""
    writer = EventWriter(pool)
    batch: list[EventEnvelope] = []
    stored = 0
    for raw in raws:
        exception = normalize(raw, now=now)
        packs = pack_set.for_tenant(exception.tenant_id)
        if packs is None:
            raise ValueError(f"no packs for tenant {exception.tenant_id!r}")
        at = exception.occurred_at
        outcome = decide(exception, packs, now=at)
        batch += outcome_events(exception, outcome, now=at,
                                approval_timeout_minutes=packs.tenant.approval_timeout_minutes)
        stored += 1
        if len(batch) >= batch_events:
            await writer.write_batch(batch)
            batch = []
    if batch:
        await writer.write_batch(batch)
    return stored
