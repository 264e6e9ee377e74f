"""A producer that writes the input topic in transactions (exactly-once pipelines do): each
commit leaves a marker at an offset no consumer is ever given. The worker goes on past it:
every committed exception, and every plain one after it, is decided, and the worker's committed
offsets reach the end of the topic."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from sentinai.settings import Settings
from tests.support.db import wait_for
from tests.support.kafka import group_progress
from tests.support.pipeline import PACKS, Pipeline

pytestmark = pytest.mark.integration

TENANT = "acme-capital"


def _exception(exception_id: str) -> bytes:
    return json.dumps({"tenant_id": TENANT, "exception_id": exception_id, "exception_type": "SETTLEMENT_FAIL",
                       "source_system": "settlements", "payload": {"failReason": "SSI_MISMATCH"}}).encode()


def test_transaction_markers_do_not_stall_the_partition(make_settings: Callable[..., Settings],
                                                        pipeline_factory: Callable[..., Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    pipeline.start_worker()
    topic = pipeline.topics.exceptions
    producer = Producer({"bootstrap.servers": pipeline.bootstrap, "transactional.id": "outside-etl",
                         "partitioner": "murmur2_random"})
    producer.init_transactions(30)
    for batch in range(3):  # three transactions: three commit markers on the tenant's partition
        producer.begin_transaction()
        for i in range(2):
            producer.produce(topic, key=TENANT.encode(), value=_exception(f"TX-{batch}-{i}"))
        producer.commit_transaction(30)
    plain = Producer({"bootstrap.servers": pipeline.bootstrap, "partitioner": "murmur2_random"})
    for i in range(3):
        plain.produce(topic, key=TENANT.encode(), value=_exception(f"PLAIN-{i}"))
    assert plain.flush(30) == 0

    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions WHERE tenant_id=$1", TENANT,
             until=lambda n: n == 9, timeout=60)
    deadline = time.monotonic() + 30
    while True:  # the commit follows the handling; the markers must not hold it back
        progress = group_progress(pipeline.bootstrap, pipeline.settings.app_id, [topic])[topic]
        if all(committed == end for committed, end in progress if end):
            break
        assert time.monotonic() < deadline, f"committed offsets stopped short of the end: {progress}"
