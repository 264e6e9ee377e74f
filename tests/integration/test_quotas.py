"""A tenant over its quota is deferred, never dropped, and does not hold up a quiet tenant that
shares its partition."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from sentinai.settings import Settings
from tests.support.db import fetchval, wait_for
from tests.support.kafka import StageCount, TopicReader, produce, record_stages
from tests.support.packs import activate, cloned_tenants
from tests.support.pipeline import PACKS, Pipeline

pytestmark = pytest.mark.integration

NOISY, QUIET = 60, 5


@pytest.fixture
def single_partition(make_settings: Callable[..., Settings], pipeline_factory: Callable[..., Pipeline]) -> Pipeline:
    return pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=1))


def _exception(tenant: str, index: int) -> dict:
    return {"tenant_id": tenant, "exception_id": f"{tenant}-{index}", "exception_type": "SETTLEMENT_FAIL",
            "source_system": "settlements", "payload": {"failReason": "SSI_MISMATCH", "n": index}}


def test_noisy_tenant_is_deferred_and_quiet_tenant_keeps_flowing(single_partition: Pipeline) -> None:
    pipeline = single_partition
    noisy = cloned_tenants(1, quota={"exceptionsPerSecond": 10, "burst": 10}, prefix="noisy")
    quiet = cloned_tenants(1, prefix="quiet")
    activate(pipeline.database_url, noisy + quiet)
    pipeline.start_worker()
    noisy_id, quiet_id = noisy[0]["tenantId"], quiet[0]["tenantId"]

    produced_at = time.time()
    produce(pipeline.bootstrap, pipeline.topics.exceptions,
            [(noisy_id.encode(), _exception(noisy_id, i)) for i in range(NOISY)]
            + [(quiet_id.encode(), _exception(quiet_id, i)) for i in range(QUIET)])

    reader = TopicReader(pipeline.bootstrap, pipeline.topics.decisions)
    try:
        messages = reader.poll_until(StageCount(3 * (NOISY + QUIET)), timeout=60)
    finally:
        reader.close()
    triage = [(json.loads(m.value()), m.timestamp()[1] / 1000) for m in messages]
    triage = [(r, ts) for r, ts in triage if "triage" in record_stages(r)]
    by_tenant: dict[str, list[float]] = {}
    for record, ts in triage:
        by_tenant.setdefault(record["tenant_id"], []).append(ts)
    # nothing dropped: every exception of both tenants is decided exactly once
    assert len({r["exception_id"] for r, _ in triage}) == NOISY + QUIET
    assert len(by_tenant[noisy_id]) == NOISY and len(by_tenant[quiet_id]) == QUIET
    quiet_latency = max(by_tenant[quiet_id]) - produced_at
    noisy_latency = max(by_tenant[noisy_id]) - produced_at
    print(f"quiet tenant: last decision {quiet_latency:.2f}s after produce; noisy: {noisy_latency:.2f}s")
    # the quiet tenant, produced behind 60 noisy messages on the same partition, is decided
    # while the noisy tenant's deferred backlog (50 over a 10/s quota) is still draining
    assert max(by_tenant[quiet_id]) < max(by_tenant[noisy_id]) - 2.0

    # burst 10 at 10/s: most of the 60 are deferred, each exactly once (its token is reserved)
    deferred = wait_for(pipeline.database_url, "SELECT count(*) FROM exception_events WHERE tenant_id=$1 "
                        "AND event_type='QuotaDeferred'", noisy_id, until=lambda n: n >= 30)
    distinct = fetchval(pipeline.database_url, "SELECT count(DISTINCT exception_id) FROM exception_events "
                        "WHERE tenant_id=$1 AND event_type='QuotaDeferred'", noisy_id)
    print(f"QuotaDeferred events: {deferred} for {distinct} exceptions")
    assert deferred == distinct <= NOISY - 10
