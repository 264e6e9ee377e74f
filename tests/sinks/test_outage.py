"""A PostgreSQL outage: write_batch fails clearly, and the retried batch is stored exactly once."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from sentinai.sinks.errors import SinkUnavailable
from sentinai.sinks.pool import open_pool
from sentinai.sinks.writer import EventWriter, WriteResult
from sentinai.streams.envelope import EventEnvelope
from tests.sinks.conftest import lifecycle


async def _retry(writer: EventWriter, batch: list[EventEnvelope], *, deadline: float) -> WriteResult:
    """What the sink feed does: retry the same batch with backoff until it commits."""
    delay = 0.05
    while True:
        try:
            return await writer.write_batch(batch)
        except SinkUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


async def test_outage_then_retry_stores_every_event_once(postgres_server: object, database_url: str) -> None:
    if postgres_server is None:
        pytest.skip("SENTINAI_DATABASE_URL points at an external PostgreSQL; this test must stop the server")
    events = [e for i in range(40) for e in lifecycle("acme", f"EX-{i}")]
    before, during = events[:140], events[140:]
    async with open_pool(database_url, min_size=2, max_size=2) as pool:
        writer = EventWriter(pool)
        await writer.write_batch(before)
        postgres_server.stop()  # type: ignore[attr-defined]
        try:
            with pytest.raises(SinkUnavailable, match="PostgreSQL unavailable.*retry it"):
                await writer.write_batch(during)  # the pool's connections were cut
            with pytest.raises(SinkUnavailable, match="PostgreSQL unavailable.*retry it"):
                await writer.write_batch(during)  # and new ones are refused
        finally:
            postgres_server.start()  # type: ignore[attr-defined]
        result = await _retry(writer, during, deadline=time.monotonic() + 30)
        assert (result.inserted, result.duplicates) == (len(during), 0)
        again = await _retry(writer, events, deadline=time.monotonic() + 30)  # the feed's rewind
        assert again.inserted == 0

    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM exception_events") == len(events)
        assert await conn.fetchval("SELECT count(DISTINCT event_id) FROM exception_events") == len(events)
        assert await conn.fetchval("SELECT count(*) FROM exceptions WHERE version = 7") == 40
    finally:
        await conn.close()
