"""The faust floor benchmark against the real broker: every variant handles every input (the
batch loop deciding each one) and reports its rate and CPU time."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from sentinai.bench import faust_floor
from sentinai.bench.raw_loop import count_records

PARTITIONS = 4


def test_every_variant_handles_every_input(broker_url: str, bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINAI_KAFKA_BROKER", broker_url)
    source = f"floor{uuid.uuid4().hex[:6]}.in"
    results = faust_floor.run(200, PARTITIONS, source=source)

    def records(topic: str) -> int:
        return asyncio.run(count_records(bootstrap, f"{source}.{topic}", PARTITIONS))

    # the two worker-traffic variants (with and without idle topics) send to the same topics
    assert [records("bare-out"), records("one-out"), records("worker-out"), records("worker-decisions")] == [
        200, 200, 400, 400]
    # the batch loop decides every input: a transition, a decision record and a state each
    assert [records("batch-out"), records("batch-decisions"), records("batch-state")] == [200, 200, 200]
    for name, value in results.items():
        assert value > 0, name
    assert results["faust_one_out_vs_raw_ratio"] == pytest.approx(
        results["faust_one_out_msgs_per_second"] / results["raw_msgs_per_second"])
