"""Two workers share the work by partitions; one stops halfway; nothing is lost or doubled."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest

from sentinai.settings import Settings
from tests.support.db import fetch, wait_for
from tests.support.kafka import (
    StageCount,
    TopicReader,
    produce,
    read_all,
    record_stages,
    stage_decisions,
)
from tests.support.load import make_load
from tests.support.packs import activate
from tests.support.pipeline import PACKS, Pipeline
from tests.support.processes import QUICK_GROUP

pytestmark = pytest.mark.integration

TENANTS, EXCEPTIONS = 20, 4_000


def test_two_workers_one_stopped_halfway(make_settings: Callable[..., Settings],
                                         pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=8))
    load = make_load(tenants=TENANTS, exceptions=EXCEPTIONS)
    activate(pipeline.database_url, load.tenants)
    # every join waits the group's rebalance timeout: QUICK_GROUP shortens it (for both workers)
    first, second = pipeline.start_worker(env=QUICK_GROUP), pipeline.start_worker(env=QUICK_GROUP)
    produce(pipeline.bootstrap, pipeline.topics.exceptions, load.messages)

    reader = TopicReader(pipeline.bootstrap, pipeline.topics.decisions)
    try:
        reader.poll_until(lambda ms: len(ms) >= EXCEPTIONS // 2, timeout=180)
        second.stop()
        reader.poll_until(StageCount(3 * EXCEPTIONS), timeout=240)
    finally:
        reader.close()
    assert first.process is not None and first.process.poll() is None, first.log_tail()

    messages = read_all(pipeline.bootstrap, pipeline.topics.decisions)
    ids_by_stage = stage_decisions(messages)
    stage_messages = sum(1 for m in messages if record_stages(json.loads(m.value())))
    redelivered = stage_messages - len({i for ids in ids_by_stage.values() for i in ids})
    print(f"sent {len(load.messages)} ({sum(load.duplicates.values())} re-sent duplicates); "
          f"stage decision messages {stage_messages}; redelivered copies (same event_id) {redelivered}")
    decided = {(tenant, exc) for tenant, exc, _ in ids_by_stage}
    assert decided == load.exception_ids
    assert all(len(ids) == 1 for ids in ids_by_stage.values())
    assert Counter(stage for _, _, stage in ids_by_stage) == {s: EXCEPTIONS for s in ("triage", "policy", "playbook")}

    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions", until=lambda n: n >= EXCEPTIONS, timeout=120)
    stored = {r["tenant_id"]: r["n"] for r in fetch(
        pipeline.database_url, "SELECT tenant_id, count(*) AS n FROM exceptions GROUP BY 1")}
    assert stored == dict(load.per_tenant()), "one row per exception, re-sent duplicates included once"
