"""Scale 1 → 2 → 1 workers under load: the partitions move twice and nothing is lost or doubled."""

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

TENANTS, EXCEPTIONS = 20, 6_000


def test_scale_one_two_one_under_load(make_settings: Callable[..., Settings],
                                      pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    """Half the load is sent before the second worker joins and half once it is ready, so the
    partitions move to it while input waits whatever its start-up took (on a slow machine the first
    worker alone could otherwise store nearly all of it meanwhile); it leaves while half of that
    second half at least is still to store."""
    started = time.monotonic()
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=8))
    load = make_load(tenants=TENANTS, exceptions=EXCEPTIONS)
    activate(pipeline.database_url, load.tenants)
    url = pipeline.database_url
    messages = [(key, json.dumps(value).encode()) for key, value in load.messages]
    half = len(messages) // 2
    # every join waits the group's rebalance timeout: QUICK_GROUP shortens it (for both workers)
    first = pipeline.start_worker(env=QUICK_GROUP)
    positions = produce_positions(pipeline.bootstrap, pipeline.topics.exceptions, messages[:half])

    wait_for(url, "SELECT count(*) FROM exceptions", until=lambda n: n >= EXCEPTIONS // 5, timeout=120)
    second = pipeline.start_worker(env=QUICK_GROUP)
    at_ready = fetchval(url, "SELECT count(*) FROM exceptions")
    positions += produce_positions(pipeline.bootstrap, pipeline.topics.exceptions, messages[half:])
    print(f"second worker ready at {at_ready} stored exceptions; the second half sent")
    # the two share the load for a tenth of it (at most half of it was stored when the second joined)
    at_stop = wait_for(url, "SELECT count(*) FROM exceptions",
                       until=lambda n: n >= at_ready + EXCEPTIONS // 10, timeout=120)
    second.stop()
    print(f"second worker stopped at {fetchval(url, 'SELECT count(*) FROM exceptions')} stored exceptions "
          f"({at_stop} when it was told to)")

    wait_until_stored(pipeline, EXCEPTIONS, timeout=120, load=load, positions=positions)
    assert first.process is not None and first.process.poll() is None, first.log_tail()
    assert "Setting newly assigned partitions" in second.log_path.read_text(errors="replace")
    result = audit(pipeline, sent=len(load.messages), expected=EXCEPTIONS)
    print(f"scale 1→2→1: {result.line()} ({time.monotonic() - started:.0f}s)")
    assert_exactly_once(result, pipeline, load)
    assert result.dlq == 0
