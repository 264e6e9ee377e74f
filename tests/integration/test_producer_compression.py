"""Producers compress: librdkafka's `compression.type` (gzip, snappy, lz4, zstd) is a common
production setting. The worker reads each codec and decides what was sent."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from sentinai.settings import Settings
from tests.support.db import wait_for
from tests.support.pipeline import PACKS, Pipeline

pytestmark = pytest.mark.integration

TENANT = "acme-capital"
CODECS = ("gzip", "snappy", "lz4", "zstd")


def test_every_codec_a_producer_may_use_is_read(make_settings: Callable[..., Settings],
                                                pipeline_factory: Callable[..., Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    pipeline.start_worker()
    for codec in CODECS:
        producer = Producer({"bootstrap.servers": pipeline.bootstrap, "compression.type": codec, "linger.ms": 20})
        for i in range(5):
            producer.produce(pipeline.topics.exceptions, key=TENANT.encode(), value=json.dumps({
                "tenant_id": TENANT, "exception_id": f"{codec}-{i}", "exception_type": "SETTLEMENT_FAIL",
                "source_system": "settlements", "payload": {"failReason": "SSI_MISMATCH", "codec": codec}}).encode())
        assert producer.flush(30) == 0
    stored = wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions WHERE tenant_id=$1", TENANT,
                      until=lambda n: n == 5 * len(CODECS), timeout=60)
    assert stored == 5 * len(CODECS)
