"""A producer with librdkafka's default partitioner (CRC32) puts a tenant on another partition
than the Java client, aiokafka and the web view do (murmur2). Intake forwards such an input to the
tenant's home partition once, so its state, transitions and decision records all live there,
where the web view's commands arrive, and the same exception sent over HTTP is a duplicate rather
than a second decision (with several workers the two partitions may be owned by two of them)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from confluent_kafka import Producer

from sentinai.settings import Settings
from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.pool import open_pool
from sentinai.streams.home_partition import home_partition
from tests.support.db import wait_for
from tests.support.kafka import read_all, record_stages
from tests.support.pipeline import PACKS, Pipeline

pytestmark = pytest.mark.integration

TENANT, PARTITIONS = "acme-capital", 4
EXCEPTION = {"tenant_id": TENANT, "exception_id": "ANY-PARTITIONER-1", "exception_type": "SETTLEMENT_FAIL",
             "source_system": "settlements", "payload": {"failReason": "SSI_MISMATCH"}}


def _produce_with_the_default_partitioner(bootstrap: str, topic: str) -> int:
    producer = Producer({"bootstrap.servers": bootstrap})  # librdkafka's own default: consistent_random
    arrived: list[int] = []
    producer.produce(topic, key=TENANT.encode(), value=json.dumps(EXCEPTION).encode(),
                     on_delivery=lambda err, message: arrived.append(-1 if err else message.partition()))
    assert producer.flush(30) == 0
    return arrived[0]


async def _post_over_http(pipeline: Pipeline, url: str) -> int:
    async with open_pool(pipeline.database_url, min_size=1, max_size=1) as pool:
        key = await create_api_key(pool, TENANT, "operator")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
        async with session.post(f"{url}/api/v1/tenants/{TENANT}/exceptions", json=EXCEPTION) as resp:
            return resp.status


def _of_the_exception(messages: list[Any]) -> list[tuple[int, dict[str, Any]]]:
    records = [(m.partition(), json.loads(m.value())) for m in messages]
    return [(p, r) for p, r in records if r.get("exception_id") == EXCEPTION["exception_id"]]


def test_an_input_off_its_tenants_home_partition_is_handled_there(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=PARTITIONS, stall_seconds=3))
    worker = pipeline.start_worker()
    web = pipeline.start_web()
    home = home_partition(TENANT, PARTITIONS)

    arrived = _produce_with_the_default_partitioner(pipeline.bootstrap, pipeline.topics.exceptions)
    assert arrived not in (-1, home)  # CRC32 puts this tenant elsewhere: the case under test
    assert asyncio.run(_post_over_http(pipeline, web.url)) == 202
    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions WHERE exception_id = $1",
             EXCEPTION["exception_id"], until=lambda n: n == 1, timeout=60)
    deadline = time.monotonic() + 30  # both copies handled: the progress line counts them (every second here)
    while "forwarded=1" not in worker.log_path.read_text() or "duplicate=1" not in worker.log_path.read_text():
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.2)

    transitions = _of_the_exception(read_all(pipeline.bootstrap, pipeline.topics.events))
    decisions = _of_the_exception(read_all(pipeline.bootstrap, pipeline.topics.decisions))
    assert transitions and {p for p, _ in transitions} == {home}
    assert {r["source"]["partition"] for _, r in transitions} == {home}
    first = [r for _, r in decisions if "triage" in record_stages(r)]
    assert len(first) == 1  # decided once, though sent twice over two routes
    assert {p for p, _ in decisions} == {home}
