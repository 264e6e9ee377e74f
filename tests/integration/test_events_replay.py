"""PostgreSQL is a projection of the event log: after a real run, replaying the whole events topic
through the sink's writer changes no row, and replaying it into an empty database rebuilds the
same rows (the events but for when they were recorded, and every projection)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from sentinai.settings import Settings
from sentinai.sinks.pool import open_pool
from sentinai.sinks.writer import EventWriter
from sentinai.streams.transition import Transition, decode
from tests.support.db import fetchval, fingerprint, wait_for
from tests.support.kafka import produce, read_all
from tests.support.load import make_load
from tests.support.packs import activate
from tests.support.pipeline import PACKS, Pipeline

pytestmark = pytest.mark.integration

TENANTS, EXCEPTIONS, BATCH = 4, 300, 1000


def _wait_until_the_log_is_stored(pipeline: Pipeline, *, timeout: float = 120.0) -> int:
    """The stored event count once it equals the number of distinct events on the events topic."""
    deadline = time.monotonic() + timeout
    while True:
        on_log = {e.event_id for m in read_all(pipeline.bootstrap, pipeline.topics.events)
                  for e in decode(m.value()).events}
        stored = fetchval(pipeline.database_url, "SELECT count(*) FROM exception_events")
        if stored == len(on_log):
            return int(stored)
        if time.monotonic() > deadline:
            raise AssertionError(f"{stored} events stored of {len(on_log)} on the log after {timeout}s")
        time.sleep(0.5)


async def _replay(database_url: str, transitions: list[Transition]) -> tuple[int, int]:
    """(inserted, duplicates) events after writing every transition, in log order, as the sink does."""
    inserted = duplicates = 0
    async with open_pool(database_url, max_size=1) as pool:
        writer = EventWriter(pool)
        for start in range(0, len(transitions), BATCH):
            result = await writer.write_batch(transitions[start:start + BATCH])
            inserted += result.inserted
            duplicates += result.duplicates
    return inserted, duplicates


async def _fingerprint(database_url: str, **options: object) -> dict[str, tuple[int, str]]:
    async with open_pool(database_url, max_size=1) as pool:
        return await fingerprint(pool, **options)  # type: ignore[arg-type]


def test_replaying_the_events_topic_changes_nothing_and_rebuilds_the_rows(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline],
        second_database_url: str) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    load = make_load(tenants=TENANTS, exceptions=EXCEPTIONS)
    activate(pipeline.database_url, load.tenants)
    worker = pipeline.start_worker()
    produce(pipeline.bootstrap, pipeline.topics.exceptions, load.messages)
    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions",
             until=lambda n: n == len(load.exception_ids), timeout=120)
    stored = _wait_until_the_log_is_stored(pipeline)
    worker.stop()

    log = [decode(m.value()) for m in read_all(pipeline.bootstrap, pipeline.topics.events)]
    events = [e for t in log for e in t.events]
    distinct = {e.event_id for e in events}
    approvals = fetchval(pipeline.database_url, "SELECT count(*) FROM approvals")
    print(f"exceptions={len(load.exception_ids)} transitions={len(log)} events={len(events)} distinct={len(distinct)} "
          f"stored={stored} approvals={approvals}")
    assert len(distinct) == stored, "every event of the log is stored once"
    assert approvals > 0, "the run should exercise more than the exceptions projection"

    before = asyncio.run(_fingerprint(pipeline.database_url))
    inserted, duplicates = asyncio.run(_replay(pipeline.database_url, log))
    print(f"replay into the same database: inserted={inserted} duplicates={duplicates}")
    assert (inserted, duplicates) == (0, len(events))
    assert asyncio.run(_fingerprint(pipeline.database_url)) == before

    inserted, _ = asyncio.run(_replay(second_database_url, log))
    print(f"replay into an empty database: inserted={inserted}")
    assert inserted == len(distinct)
    rebuilt = asyncio.run(_fingerprint(second_database_url, without=("recorded_at",)))
    assert rebuilt == asyncio.run(_fingerprint(pipeline.database_url, without=("recorded_at",)))
