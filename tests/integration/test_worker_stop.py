"""SIGTERM stops a worker within 10 s, after committing what it handled: a restarted worker
has nothing left to redo."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from sentinai.settings import Settings
from tests.support.db import fetchval, wait_for
from tests.support.kafka import committed_offsets, produce_positions
from tests.support.pipeline import PACKS, Pipeline
from tests.support.processes import QUICK_GROUP

pytestmark = pytest.mark.integration

EXCEPTIONS = 300


def _messages(count: int, prefix: str) -> list[tuple[bytes, bytes]]:
    return [(b"acme-capital", (
        f'{{"tenant_id": "acme-capital", "exception_id": "{prefix}-{n}", "exception_type": "SETTLEMENT_FAIL", '
        f'"source_system": "settlements", "payload": {{"failReason": "SSI_MISMATCH"}}}}').encode())
        for n in range(count)]


def _stop(process: subprocess.Popen[bytes]) -> float:
    asked = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    return time.monotonic() - asked


def test_sigterm_stops_the_worker_within_ten_seconds_after_committing(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    worker = pipeline.start_worker(env=QUICK_GROUP)  # its join waits the rebalance timeout: shorter
    messages = _messages(EXCEPTIONS, "STOP")
    positions = produce_positions(pipeline.bootstrap, pipeline.topics.exceptions, messages)
    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions", until=lambda n: n == EXCEPTIONS, timeout=120)

    assert worker.process is not None
    process = worker.process
    took = _stop(process)
    print(f"worker stopped {took:.1f}s after SIGTERM, exit code {process.returncode}")  # noqa: T201
    assert took < 10, worker.log_tail()
    assert process.returncode == 0, worker.log_tail()
    ends: dict[int, int] = {}
    for partition, offset in positions:
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    committed = committed_offsets(pipeline.bootstrap, pipeline.settings.app_id, pipeline.topics.exceptions,
                                  sorted(ends))
    assert committed == ends


def test_sigterm_in_the_middle_of_a_backlog_stops_in_time_and_a_restart_finishes_it(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    backlog = 1500
    produce_positions(pipeline.bootstrap, pipeline.topics.exceptions, _messages(backlog, "BACKLOG"))
    worker = pipeline.start_worker(env=QUICK_GROUP)
    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions", until=lambda n: n >= 300, timeout=120)
    assert worker.process is not None
    process = worker.process
    took = _stop(process)
    print(f"worker stopped {took:.1f}s after SIGTERM mid-backlog, exit code {process.returncode}")  # noqa: T201
    assert took < 10 and process.returncode == 0, worker.log_tail()
    stored = fetchval(pipeline.database_url, "SELECT count(*) FROM exceptions")
    assert stored < backlog, f"all {backlog} were stored before the SIGTERM: it was not the middle of a backlog"
    pipeline.start_worker(env=QUICK_GROUP)
    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions", until=lambda n: n == backlog, timeout=180)
