"""A stored history for benchmarks and tests: exceptions decided and written as the pipeline does.

Each raw exception is normalized and decided by the core, turned into the intake's transition by
the pipeline's own builder (`sentinai.streams.records.decided`: the decision's events, the
playbook run's first steps, the exception's snapshot) and written by the sink's `EventWriter`: the
rows are the ones a worker would have stored, without a broker in between.
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
from sentinai.streams import records
from sentinai.streams.transition import Transition, transition


async def store_history(pool: asyncpg.Pool, pack_set: PackSet, raws: Iterable[dict[str, Any]], *,
                        now: datetime, batch_size: int = 1000) -> int:
    """Decide and store every exception of ``raws`` (each at its own ``occurred_at``); returns how
    many were stored."""
    writer = EventWriter(pool)
    batch: list[Transition] = []
    stored = 0
    for raw in raws:
        exception = normalize(raw, now=now)
        packs = pack_set.for_tenant(exception.tenant_id)
        if packs is None:
            raise ValueError(f"no packs for tenant {exception.tenant_id!r}")
        at = exception.occurred_at
        result = records.decided(exception, decide(exception, packs, now=at), packs, now=at)
        batch.append(transition(tenant_id=exception.tenant_id, exception_id=exception.exception_id,
                                events=result.events, snapshot=result.snapshot))
        stored += 1
        if len(batch) >= batch_size:
            await writer.write_batch(batch)
            batch = []
    if batch:
        await writer.write_batch(batch)
    return stored
