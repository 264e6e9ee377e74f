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
from sentinai.streams.envelope import EventEnvelope
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
        on_log = {EventEnvelope.model_validate_json(m.value()).event_id
                  for m in read_all(pipeline.bootstrap, pipeline.topics.events)}
        stored = fetchval(pipeline.database_url, "SELECT count(*) FROM exception_events")
        if stored == len(on_log):
            return int(stored)
        if time.monotonic() > deadline:
            raise AssertionError(f"{stored} events stored of {len(on_log)} on the log after {timeout}s")
        time.sleep(0.5)


async def _replay(database_url: str, envelopes: list[EventEnvelope]) -> tuple[int, int]:
    """(inserted, duplicates) after writing every envelope, in log order, as the sink does."""
    inserted = duplicates = 0
    async with open_pool(database_url, max_size=1) as pool:
        writer = EventWriter(pool)
        for start in range(0, len(envelopes), BATCH):
            result = await writer.write_batch(envelopes[start:start + BATCH])
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

    log = [EventEnvelope.model_validate_json(m.value()) for m in read_all(pipeline.bootstrap, pipeline.topics.events)]
    distinct = {e.event_id for e in log}
    approvals = fetchval(pipeline.database_url, "SELECT count(*) FROM approvals")
    print(f"exceptions={len(load.exception_ids)} events on the topic={len(log)} distinct={len(distinct)} "
          f"stored={stored} approvals={approvals}")
    assert len(distinct) == stored, "every event of the log is stored once"
    assert approvals > 0, "the run should exercise more than the exceptions projection"

    before = asyncio.run(_fingerprint(pipeline.database_url))
    inserted, duplicates = asyncio.run(_replay(pipeline.database_url, log))
    print(f"replay into the same database: inserted={inserted} duplicates={duplicates}")
    assert (inserted, duplicates) == (0, len(log))
    assert asyncio.run(_fingerprint(pipeline.database_url)) == before

    inserted, _ = asyncio.run(_replay(second_database_url, log))
    print(f"replay into an empty database: inserted={inserted}")
    assert inserted == len(distinct)
    rebuilt = asyncio.run(_fingerprint(second_database_url, without=("recorded_at",)))
    assert rebuilt == asyncio.run(_fingerprint(pipeline.database_url, without=("recorded_at",)))
