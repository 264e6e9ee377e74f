"""The workers keep the similar-case search current on their own: documents and term counts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from sentinai.settings import Settings
from sentinai.sinks.pool import open_pool
from sentinai.sinks.writer import EventWriter
from tests.sinks.conftest import lifecycle
from tests.support.db import fetch, wait_for
from tests.support.pipeline import PACKS, Pipeline

pytestmark = pytest.mark.integration


async def _store(database_url: str) -> None:
    events = lifecycle("acme-capital", "EX-1") + lifecycle("acme-capital", "EX-2", start_minutes=60)
    async with open_pool(database_url, max_size=1) as pool:
        await EventWriter(pool).write_batch(events)


def test_the_worker_builds_the_queued_documents_and_counts_the_terms(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, search_index_interval_seconds=0.5,
                                              search_stats_interval_seconds=1.0))
    asyncio.run(_store(pipeline.database_url))
    assert fetch(pipeline.database_url, "SELECT count(*) FROM exception_search")[0][0] == 0
    pipeline.start_worker()

    wait_for(pipeline.database_url, "SELECT count(*) FROM exception_search", until=lambda n: n == 2,
             timeout=60)
    wait_for(pipeline.database_url,
             "SELECT coalesce(max(documents), 0) FROM search_stats WHERE tenant_id = 'acme-capital'",
             until=lambda n: n == 2, timeout=60)
    assert fetch(pipeline.database_url, "SELECT count(*) FROM exception_search_queue")[0][0] == 0
    counted = fetch(pipeline.database_url, "SELECT t.documents FROM search_terms t, "
                    "unnest(to_tsvector('english', 'SETTLEMENT_FAIL')) u "
                    "WHERE t.tenant_id = 'acme-capital' AND t.lexeme = u.lexeme")
    assert [r[0] for r in counted] == [2, 2]  # 'settlement' and 'fail', in both documents
