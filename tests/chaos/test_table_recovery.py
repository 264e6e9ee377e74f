"""A restarted worker recovers its tables from the whole changelog, up to the last record.

The embedded broker answers ListOffsets(latest) with the base offset of the last record batch + 1
(docs/design.md, "Tansu under-reports the end of a partition"). faust's table recovery stopped
there, so the rest of the last changelog batch never reached the table: after a kill -9 the
exception states of that batch were lost, and their re-sent copies were decided a second time.
Here the tail is one batch of ten exception states written by hand to the changelog, and the
restarted worker must know every one of them: their re-sent copies are duplicates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from sentinai.settings import Settings
from tests.support.db import fetch, wait_for
from tests.support.kafka import produce, read_to_end
from tests.support.packs import activate, cloned_tenants
from tests.support.pipeline import PACKS, Pipeline
from tests.support.processes import QUICK_GROUP

pytestmark = pytest.mark.chaos

TAIL = 10


def _exception(tenant: str, index: int) -> dict:
    return {"tenant_id": tenant, "exception_id": f"{tenant}-{index}", "exception_type": "SETTLEMENT_FAIL",
            "source_system": "settlements", "payload": {"failReason": "SSI_MISMATCH", "n": index}}


def _append_one_batch(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> list[int]:
    """Produce the records in a single request, so the broker stores them as one batch."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1000, "batch.num.messages": len(records)})
    offsets: list[int] = []
    for key, value in records:
        producer.produce(topic, key=key, value=value, partition=0,
                         on_delivery=lambda err, message: offsets.append(message.offset()))
    assert producer.flush(30) == 0
    return sorted(offsets)


def _listed_end(bootstrap: str, topic: str) -> int:
    """The partition's end as ListOffsets(latest) reports it."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "table-recovery-probe"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        consumer.close()


def test_restarted_worker_recovers_the_whole_last_changelog_batch(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=1))
    tenants = cloned_tenants(1, prefix="recover")
    tenant = tenants[0]["tenantId"]
    activate(pipeline.database_url, tenants)
    changelog = f"{pipeline.settings.app_id}-exception-state-changelog"

    worker = pipeline.start_worker(env=QUICK_GROUP)  # each join waits the rebalance timeout: shorter
    produce(pipeline.bootstrap, pipeline.topics.exceptions, [(tenant.encode(), _exception(tenant, i)) for i in range(3)])
    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions", until=lambda n: n == 3)
    worker.stop()

    # the worker has stopped: the changelog is read to its end, as the fetch responses report it
    [last] = [m for m in read_to_end(pipeline.bootstrap, changelog) if json.loads(m.key()) == f"{tenant}/{tenant}-2"]
    state = json.loads(last.value())
    assert state["severity"] and state["source"][0] == pipeline.topics.exceptions
    tail_ids = [f"{tenant}-tail-{n}" for n in range(TAIL)]
    tail = [(json.dumps(f"{tenant}/{exception_id}").encode(),
             json.dumps({**state, "source": ["elsewhere", 0, n], "first_seen": time.time()}).encode())
            for n, exception_id in enumerate(tail_ids)]
    offsets = _append_one_batch(pipeline.bootstrap, changelog, tail)
    print(f"tail at offsets {offsets[0]}..{offsets[-1]}; ListOffsets says the end is "
          f"{_listed_end(pipeline.bootstrap, changelog)}, the true end is {offsets[-1] + 1}")

    pipeline.start_worker(env=QUICK_GROUP)
    resent = [(tenant.encode(), {**_exception(tenant, 0), "exception_id": exception_id}) for exception_id in tail_ids]
    produce(pipeline.bootstrap, pipeline.topics.exceptions, [*resent, (tenant.encode(), _exception(tenant, 3))])
    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions WHERE exception_id = $1", f"{tenant}-3",
             until=lambda n: n == 1)
    decided_again = [r["exception_id"] for r in fetch(
        pipeline.database_url, "SELECT exception_id FROM exceptions WHERE exception_id = ANY($1::text[])", tail_ids)]
    print(f"re-sent copies decided as new after the restart: {decided_again}")
    assert decided_again == [], "the restarted worker lost exception states of the changelog's last batch"
