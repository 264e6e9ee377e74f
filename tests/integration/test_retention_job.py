"""The worker applies every tenant's retentionPolicies.dataTTL on its own, on a timer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sentinai.settings import Settings
from sentinai.sinks.pool import open_pool
from sentinai.sinks.writer import EventWriter
from tests.sinks.conftest import T0, lifecycle
from tests.support.db import fetch, wait_for
from tests.support.pipeline import PACKS, Pipeline

pytestmark = pytest.mark.integration

DAY = 24 * 60  # minutes


def _days_before_now(days: int) -> float:
    """``lifecycle`` start (minutes after its fixed T0) of an exception ``days`` old today."""
    return (datetime.now(UTC) - T0).total_seconds() / 60 - days * DAY


async def _store(database_url: str) -> None:
    events = (lifecycle("acme-capital", "OLD-ACME", start_minutes=_days_before_now(2600))      # dataTTL 2555
              + lifecycle("acme-capital", "KEEP-ACME", start_minutes=_days_before_now(2000))
              + lifecycle("globex-markets", "OLD-GLOBEX", start_minutes=_days_before_now(400))  # default 365
              + lifecycle("mercy-health", "KEEP-MERCY", start_minutes=_days_before_now(400)))   # dataTTL 3650
    async with open_pool(database_url, max_size=1) as pool:
        await EventWriter(pool).write_batch(events)


def test_the_worker_forgets_what_each_tenant_keeps_no_longer(make_settings: Callable[..., Settings],
                                                             pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, retention_interval_seconds=1.0))
    asyncio.run(_store(pipeline.database_url))
    pipeline.start_worker()

    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions WHERE exception_id LIKE 'OLD-%'",
             until=lambda n: n == 0, timeout=60)
    kept = {r[0]: r[1] for r in fetch(pipeline.database_url,
                                      "SELECT exception_id, count(*) FROM exception_events GROUP BY exception_id")}
    assert kept == {"KEEP-ACME": 7, "KEEP-MERCY": 7}, "an old exception goes with its events; others stay whole"
    runs = fetch(pipeline.database_url, "SELECT tenant_id, sum(exceptions_deleted) AS gone, sum(events_deleted) AS events "
                 "FROM retention_runs GROUP BY tenant_id")
    by_tenant = {r["tenant_id"]: (r["gone"], r["events"]) for r in runs}
    print(f"retention runs: {by_tenant}")
    assert by_tenant["acme-capital"] == (1, 7) and by_tenant["globex-markets"] == (1, 7)
    assert by_tenant["mercy-health"] == (0, 0)
