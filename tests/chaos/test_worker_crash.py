"""kill -9 the worker mid-run three times, restarting it each time: nothing lost, nothing doubled."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from sentinai.settings import Settings
from tests.support.db import fetch, fetchval, wait_for
from tests.support.kafka import produce, table_contents
from tests.support.load import make_load
from tests.support.packs import activate
from tests.support.pipeline import PACKS, Pipeline

pytestmark = pytest.mark.chaos

TENANTS, EXCEPTIONS, KILLS = 10, 4_000, 3


def test_kill_9_three_times(make_settings: Callable[..., Settings],
                            pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=4))
    load = make_load(tenants=TENANTS, exceptions=EXCEPTIONS)
    activate(pipeline.database_url, load.tenants)
    url = pipeline.database_url
    worker = pipeline.start_worker()
    produce(pipeline.bootstrap, pipeline.topics.exceptions, load.messages)

    for kill in range(1, KILLS + 1):
        target = EXCEPTIONS * kill // (KILLS + 1)
        wait_for(url, "SELECT count(*) FROM exceptions", until=lambda n, t=target: n >= t, timeout=180)
        worker.kill()
        print(f"kill -9 #{kill} at {fetchval(url, 'SELECT count(*) FROM exceptions')} stored exceptions")
        time.sleep(0.5)
        worker = pipeline.start_worker()

    wait_for(url, "SELECT count(*) FROM exceptions", until=lambda n: n >= EXCEPTIONS, timeout=240)
    wait_for(url, "SELECT count(DISTINCT exception_id) FROM exception_events WHERE event_type='ExceptionStatusChanged'",
             until=lambda n: n >= EXCEPTIONS, timeout=120)
    rows = fetchval(url, "SELECT count(*) FROM exceptions")
    per_exception = fetch(url, "SELECT event_type, count(*) AS n, count(DISTINCT exception_id) AS d "
                               "FROM exception_events GROUP BY event_type")
    print(f"sent {len(load.messages)}; exceptions rows {rows}; events by type "
          f"{ {r['event_type']: r['n'] for r in per_exception} }")
    assert rows == EXCEPTIONS
    for row in per_exception:
        if row["event_type"] in {"ExceptionNormalized", "TriageCompleted", "PolicyEvaluated"}:
            assert row["n"] == row["d"] == EXCEPTIONS, row
    recount = {r["tenant_id"]: r["n"] for r in fetch(url, "SELECT tenant_id, count(*) AS n FROM exceptions GROUP BY 1")}
    stats = table_contents(pipeline.bootstrap, pipeline.settings.app_id, "tenant-state")
    assert {tenant: state["decided"] for tenant, state in stats.items()} == recount
    assert recount == dict(load.per_tenant())
