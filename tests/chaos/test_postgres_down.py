"""PostgreSQL down for 20 seconds mid-run: nothing lost, and the flow resumes within seconds of its return."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from sentinai.settings import Settings
from tests.support.audit import assert_exactly_once, audit, wait_until_stored
from tests.support.db import fetchval, wait_for
from tests.support.kafka import produce
from tests.support.load import make_load
from tests.support.packs import activate
from tests.support.pipeline import PACKS, Pipeline
from tests.support.processes import QUICK_GROUP

pytestmark = pytest.mark.chaos

TENANTS, EXCEPTIONS = 10, 3_000
DOWN_SECONDS = 20.0
RESUME_BOUND = 5.0  # the promise: the flow resumes within 5 s of the database returning


def test_postgres_down_20_seconds(postgres_server: object, make_settings: Callable[..., Settings],
                                  pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    if postgres_server is None:
        pytest.skip("SENTINAI_DATABASE_URL points at an external PostgreSQL; this test stops and restarts "
                    "the embedded server, which it cannot do to a server it does not own")
    started = time.monotonic()
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=4))
    load = make_load(tenants=TENANTS, exceptions=EXCEPTIONS)
    activate(pipeline.database_url, load.tenants)
    url = pipeline.database_url
    worker = pipeline.start_worker(env=QUICK_GROUP)  # its join waits the rebalance timeout: shorter
    produce(pipeline.bootstrap, pipeline.topics.exceptions, load.messages)

    wait_for(url, "SELECT count(*) FROM exceptions", until=lambda n: n >= EXCEPTIONS // 4, timeout=120)
    postgres_server.stop()  # type: ignore[attr-defined]
    time.sleep(DOWN_SECONDS)
    assert worker.process is not None and worker.process.poll() is None, worker.log_tail()
    postgres_server.start()  # type: ignore[attr-defined]
    back_at = time.monotonic()
    # Rows the sink committed before the outage; the first one committed after it ends the wait.
    stored_before = fetchval(url, "SELECT count(*) FROM exceptions")
    wait_for(url, "SELECT count(*) FROM exceptions", until=lambda n: n > stored_before, timeout=60)
    resumed_after = time.monotonic() - back_at
    print(f"PostgreSQL down {DOWN_SECONDS:.0f}s at {stored_before} stored exceptions; "
          f"flow resumed {resumed_after:.2f}s after it returned")

    wait_until_stored(pipeline, EXCEPTIONS, timeout=120)
    result = audit(pipeline, sent=len(load.messages), expected=EXCEPTIONS)
    print(f"postgres down: {result.line()} ({time.monotonic() - started:.0f}s)")
    assert_exactly_once(result, pipeline, load)
    assert result.dlq == 0
    assert resumed_after <= RESUME_BOUND, f"the flow resumed {resumed_after:.1f}s after PostgreSQL returned"
