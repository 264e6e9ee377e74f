"""Deliveries that fail after ``send()`` accepted them: the worker must not commit past them.

The broker is this module's own Tansu behind a TCP proxy (``tests/support/proxy.py``); cutting the
proxy for longer than the producer's request timeout makes the batches in the Kafka client expire.
aiokafka's flush, which faust awaits before committing input offsets, does not raise for them, so
without the commit guard the worker committed inputs whose events, decisions and table changes
were never written.

* The mechanism, in this process: real deliveries fail on every publish path of a faust producer
  (``DirectTopic``, ``Topic.send``, the buffer of table changelog writes), the flush returns
  regardless, the guard names the failures, and the consumer refuses the commit and crashes.
* The pipeline: a worker mid-run loses the broker, exits non-zero without committing past the lost
  outputs; restarted once the broker is back, it stores every exception exactly once.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.types import TP

from sentinai.framework import commit_guard, producer_flush
from sentinai.framework.commit_guard import DeliveryFailed, delivery_guard
from sentinai.settings import Settings
from sentinai.streams.direct_topic import DirectTopic
from tests.support.audit import (
    EVERY_EXCEPTION_EVENTS,
    assert_exactly_once,
    audit,
    wait_until_stored,
)
from tests.support.db import fetchval, wait_for
from tests.support.kafka import (
    STAGES,
    committed_offsets,
    produce_positions,
    read_to_end,
    record_stages,
)
from tests.support.load import make_load
from tests.support.packs import activate
from tests.support.pipeline import PACKS, Pipeline
from tests.support.processes import QUICK_GROUP
from tests.support.proxy import CuttableBroker, cuttable_broker

pytestmark = pytest.mark.chaos

REQUEST_TIMEOUT = 3.0  # seconds a batch may wait for the broker before it fails


@pytest.fixture
def guarded_commits() -> Iterator[None]:
    """The commit guard and, as the worker has it, the flush that drains the buffer first."""
    commit_guard.install()
    producer_flush.install()
    try:
        yield
    finally:
        producer_flush.uninstall()
        commit_guard.uninstall()


@pytest.fixture
def cuttable(tmp_path: Path) -> Iterator[CuttableBroker]:
    with cuttable_broker(tmp_path) as broker:
        yield broker


# This module's tests run on their own broker, not the session's.
@pytest.fixture
def broker_url(cuttable: CuttableBroker) -> str:
    return cuttable.url


@pytest.fixture
def bootstrap(cuttable: CuttableBroker) -> str:
    return cuttable.bootstrap


async def test_a_failed_delivery_refuses_the_commit_and_crashes_the_consumer(
        cuttable: CuttableBroker, guarded_commits: None, monkeypatch: pytest.MonkeyPatch) -> None:
    armed: list[float] = []
    monkeypatch.setattr(commit_guard, "exit_unless_stopped", armed.append)  # not this process, please
    app = faust.App("guard-test", broker=cuttable.url, store="memory://", web_enabled=False, producer_acks=-1,
                    producer_request_timeout=REQUEST_TIMEOUT, topic_allow_declare=True)
    topic = app.topic("guarded", partitions=2, key_serializer="raw", value_serializer="raw", internal=False)
    direct = DirectTopic(app, "guarded")
    producer = app.producer
    await producer.start()
    try:
        await topic.maybe_declare()
        await (await direct.send(key=b"k", value=b"delivered", partition=0))
        guard = delivery_guard(producer)
        assert guard is not None
        guard.check()  # nothing failed yet

        cuttable.cut()
        started = time.monotonic()
        accepted = [await direct.send(key=b"k", value=b"lost", partition=1)]  # send() accepts it: queued
        via_topic = await topic.send(key=b"k", value=b"lost too", partition=0)
        buffered = topic.send_soon(key=b"k", value=b"changelog-like", partition=0)  # table changelog writes' path
        await producer.flush()  # aiokafka's flush returns once the batches expired; it does not raise
        waited = time.monotonic() - started
        errors = [future.exception() for future in [*accepted, via_topic, buffered]]
        print(f"flush returned after {waited:.1f}s; the futures failed with {[type(e).__name__ for e in errors]}")
        assert all(error is not None for error in errors)
        with pytest.raises(DeliveryFailed) as failed:
            guard.check()
        print(f"guard: {failed.value}")
        assert "3 message(s)" in str(failed.value)
        assert "guarded[0]×2" in str(failed.value) and "guarded[1]×1" in str(failed.value)

        consumer = app.consumer
        committed: list[Any] = []

        async def thread_commit(offsets: Any) -> bool:
            committed.append(offsets)
            return True

        consumer._thread.commit = thread_commit  # what the guard must not reach
        assert await consumer._commit({TP("input", 0): 42}) is False
        assert committed == []
        assert consumer._crashed.is_set() and isinstance(consumer.crash_reason, DeliveryFailed)
        assert armed == [commit_guard.STOP_GRACE_SECONDS]  # the fallback exit, should the stop hang

        cuttable.restore()
        with pytest.raises(DeliveryFailed):  # it stays refused: the lost messages are not coming back
            guard.check()
    finally:
        cuttable.restore()
        await producer.stop()


TENANTS, EXCEPTIONS, PARTITIONS = 5, 2_000, 4


def _complete_on_log(pipeline: Pipeline) -> set[tuple[str, str]]:
    """Exceptions with all three decisions and every always-published event on the log (read to
    its end: the worker that wrote it has exited)."""
    parts: dict[tuple[str, str], set[str]] = defaultdict(set)
    for message in read_to_end(pipeline.bootstrap, pipeline.topics.decisions):
        record = json.loads(message.value())
        parts[(record["tenant_id"], record["exception_id"])].update(record_stages(record))
    for message in read_to_end(pipeline.bootstrap, pipeline.topics.events):
        record = json.loads(message.value())
        parts[(record["tenant_id"], record["exception_id"])].update(
            e["event_type"] for e in record["events"] if e["event_type"] in EVERY_EXCEPTION_EVENTS)
    return {ident for ident, seen in parts.items() if seen >= {*STAGES, *EVERY_EXCEPTION_EVENTS}}


def _wait_for_line(path: Path, text: str, *, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in path.read_text(errors="replace").splitlines():
            if text in line:
                return line
        time.sleep(0.2)
    return None


def _wait_for_commits(pipeline: Pipeline, *, timeout: float) -> dict[int, int]:
    """The group's committed input offsets, once it has committed some (else the check below is void)."""
    deadline = time.monotonic() + timeout
    while True:
        offsets = committed_offsets(pipeline.bootstrap, pipeline.settings.app_id, pipeline.topics.exceptions,
                                    PARTITIONS)
        if any(offset > 0 for offset in offsets.values()) or time.monotonic() > deadline:
            return offsets
        time.sleep(0.5)


def test_the_worker_stops_without_committing_past_lost_outputs_and_a_restart_loses_nothing(
        cuttable: CuttableBroker, make_settings: Callable[..., Settings],
        pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    started = time.monotonic()
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=PARTITIONS,
                                              producer_request_timeout_seconds=REQUEST_TIMEOUT))
    app_id = pipeline.settings.app_id
    load = make_load(tenants=TENANTS, exceptions=EXCEPTIONS)
    activate(pipeline.database_url, load.tenants)
    url = pipeline.database_url
    worker = pipeline.start_worker(env=QUICK_GROUP)  # each join waits the rebalance timeout: shorter
    positions = produce_positions(pipeline.bootstrap, pipeline.topics.exceptions,
                                  [(key, json.dumps(value).encode()) for key, value in load.messages])
    wait_for(url, "SELECT count(*) FROM exceptions", until=lambda n: n >= EXCEPTIONS // 5, timeout=60)
    before = _wait_for_commits(pipeline, timeout=30)

    cuttable.cut()
    cut_at = time.monotonic()
    at_cut = fetchval(url, "SELECT count(*) FROM exceptions")
    refusal = _wait_for_line(worker.log_path, "NOT committing offsets", timeout=30)
    assert refusal is not None, f"no refused commit within 30 s of the cut:\n{worker.log_tail()}"
    print(f"cut at {at_cut} stored exceptions, input offsets committed {before}; "
          f"{time.monotonic() - cut_at:.1f}s later: {refusal}")
    assert "CRITICAL" in refusal and "never delivered" in refusal
    assert any(f"{topic}[" in refusal for topic in (pipeline.topics.events, pipeline.topics.decisions))
    process = worker.process
    assert process is not None
    try:
        code = process.wait(40)  # the broker is still away, as in an outage
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the worker did not exit within 40 s of its refusal:\n{worker.log_tail()}") from None
    hard = "exiting now" in worker.log_tail(5)
    print(f"the worker exited with code {code} {time.monotonic() - cut_at:.1f}s after the cut "
          f"({'fallback exit: faust stop hung' if hard else 'faust stopped'})")
    assert code == 1
    cuttable.restore()

    # What the worker committed on the input topic, against what reached the log.
    committed = committed_offsets(pipeline.bootstrap, app_id, pipeline.topics.exceptions, PARTITIONS)
    refused = {int(partition): int(offset) for topic, partition, offset in
               re.findall(r"'([^'\[]+)\[(\d+)\]': (\d+)", refusal) if topic == pipeline.topics.exceptions}
    assert refused and all(committed[partition] < offset for partition, offset in refused.items()), (
        f"refused {refused}, committed {committed}")
    complete = _complete_on_log(pipeline)
    below_commit, lost = set(), set()
    for (partition, offset), (_, value) in zip(positions, load.messages, strict=True):
        ident = (value["tenant_id"], value["exception_id"])
        if offset < committed[partition]:
            below_commit.add(ident)
        if ident not in complete:
            lost.add(ident)
    print(f"committed input offsets {committed}; {len(below_commit)} exceptions below them, "
          f"{len(lost & below_commit)} of those incomplete on the log; {len(lost)} incomplete in all")
    assert below_commit, "nothing was committed before the cut: the check above proves nothing"
    assert not lost & below_commit, "the worker committed inputs whose outputs are not on the log"

    worker = pipeline.start_worker(env=QUICK_GROUP)
    wait_until_stored(pipeline, EXCEPTIONS, timeout=60, load=load, positions=positions)
    result = audit(pipeline, sent=len(load.messages), expected=EXCEPTIONS)
    print(f"commit guard: {result.line()} ({time.monotonic() - started:.0f}s in all)")
    assert_exactly_once(result, pipeline, load)
    assert result.dlq == 0
