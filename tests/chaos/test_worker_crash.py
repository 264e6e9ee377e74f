"""kill -9 the worker mid-run three times, restarting it each time: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from sentinai.settings import Settings
from tests.support.audit import assert_exactly_once, audit, wait_until_stored
from tests.support.db import fetchval, wait_for
from tests.support.kafka import produce_positions
from tests.support.load import make_load
from tests.support.packs import activate
from tests.support.pipeline import PACKS, Pipeline
from tests.support.processes import QUICK_GROUP

pytestmark = pytest.mark.chaos

TENANTS, EXCEPTIONS, KILLS = 10, 2_000, 3


def test_kill_9_three_times(make_settings: Callable[..., Settings],
                            pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    started = time.monotonic()
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=4))
    load = make_load(tenants=TENANTS, exceptions=EXCEPTIONS)
    activate(pipeline.database_url, load.tenants)
    url = pipeline.database_url
    # each restarted worker waits for the killed one's session to time out: QUICK_GROUP shortens it
    worker = pipeline.start_worker(env=QUICK_GROUP)
    positions = produce_positions(pipeline.bootstrap, pipeline.topics.exceptions,
                                  [(key, json.dumps(value).encode()) for key, value in load.messages])

    for kill in range(1, KILLS + 1):
        target = EXCEPTIONS * kill // (KILLS + 1)
        wait_for(url, "SELECT count(*) FROM exceptions", until=lambda n, t=target: n >= t, timeout=120)
        worker.kill()
        at_kill = fetchval(url, 'SELECT count(*) FROM exceptions')
        print(f"kill -9 #{kill} at {at_kill} stored exceptions")
        assert at_kill < EXCEPTIONS, "the worker had stored everything: the kill was not mid-run"
        worker = pipeline.start_worker(env=QUICK_GROUP)

    wait_until_stored(pipeline, EXCEPTIONS, timeout=120, load=load, positions=positions)
    result = audit(pipeline, sent=len(load.messages), expected=EXCEPTIONS)
    print(f"kill -9 x{KILLS}: {result.line()} ({time.monotonic() - started:.0f}s)")
    assert_exactly_once(result, pipeline, load)
    assert result.dlq == 0
