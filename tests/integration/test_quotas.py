"""A tenant over its quota is deferred, never dropped, and does not hold up a quiet tenant that
shares its partition."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest

from sentinai.settings import Settings
from tests.support.db import fetchval, wait_for
from tests.support.kafka import StageCount, TopicReader, produce, record_stages
from tests.support.packs import activate, cloned_tenants
from tests.support.pipeline import PACKS, Pipeline
from tests.support.processes import WorkerProcess

pytestmark = pytest.mark.integration

NOISY, QUIET = 60, 5


@pytest.fixture
def single_partition(make_settings: Callable[..., Settings], pipeline_factory: Callable[..., Pipeline]) -> Pipeline:
    return pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=1))


def _exception(tenant: str, index: int) -> dict:
    return {"tenant_id": tenant, "exception_id": f"{tenant}-{index}", "exception_type": "SETTLEMENT_FAIL",
            "source_system": "settlements", "payload": {"failReason": "SSI_MISMATCH", "n": index}}


def _decide(pipeline: Pipeline, counts: dict[str, int], *, timeout: float = 60) -> dict[str, list[tuple[str, float]]]:
    """Produce ``counts[tenant]`` exceptions per tenant, in that order, and read their first decision
    records: per tenant, (exception id, seconds after the produce) in the order decided. A record
    seen again (a replay after a rebalance re-publishes it under its deterministic ``event_id``)
    counts once, at its first sight; a second decision under another id would count twice."""
    produced_at = time.time()
    produce(pipeline.bootstrap, pipeline.topics.exceptions,
            [(tenant.encode(), _exception(tenant, i)) for tenant, count in counts.items() for i in range(count)])
    reader = TopicReader(pipeline.bootstrap, pipeline.topics.decisions)
    try:
        messages = reader.poll_until(StageCount(3 * sum(counts.values())), timeout=timeout)
    finally:
        reader.close()
    decided: dict[str, list[tuple[str, float]]] = {tenant: [] for tenant in counts}
    seen: set[str] = set()
    for message in messages:
        record = json.loads(message.value())
        if "triage" in record_stages(record) and record["event_id"] not in seen:
            seen.add(record["event_id"])
            decided[record["tenant_id"]].append((record["exception_id"], message.timestamp()[1] / 1000 - produced_at))
    return decided


def _each_once(decided: list[tuple[str, float]], tenant: str, count: int) -> float:
    """Every one of the tenant's ``count`` exceptions decided exactly once; when the last one was."""
    assert sorted(exception_id for exception_id, _ in decided) == sorted(f"{tenant}-{i}" for i in range(count))
    return max(seconds for _, seconds in decided)


def test_noisy_tenant_is_deferred_and_quiet_tenant_keeps_flowing(single_partition: Pipeline) -> None:
    pipeline = single_partition
    noisy = cloned_tenants(1, quota={"exceptionsPerSecond": 10, "burst": 10}, prefix="noisy")
    quiet = cloned_tenants(1, prefix="quiet")
    activate(pipeline.database_url, noisy + quiet)
    pipeline.start_worker()
    noisy_id, quiet_id = noisy[0]["tenantId"], quiet[0]["tenantId"]

    decided = _decide(pipeline, {noisy_id: NOISY, quiet_id: QUIET})
    # nothing dropped: every exception of both tenants is decided exactly once
    noisy_latency = _each_once(decided[noisy_id], noisy_id, NOISY)
    quiet_latency = _each_once(decided[quiet_id], quiet_id, QUIET)
    print(f"quiet tenant: last decision {quiet_latency:.2f}s after produce; noisy: {noisy_latency:.2f}s")
    # the quiet tenant, produced behind 60 noisy messages on the same partition, is decided
    # while the noisy tenant's deferred backlog (50 over a 10/s quota) is still draining
    assert quiet_latency < noisy_latency - 2.0

    # burst 10 at 10/s: most of the 60 are deferred, each exactly once (its token is reserved)
    deferred = wait_for(pipeline.database_url, "SELECT count(*) FROM exception_events WHERE tenant_id=$1 "
                        "AND event_type='QuotaDeferred'", noisy_id, until=lambda n: n >= 30)
    distinct = fetchval(pipeline.database_url, "SELECT count(DISTINCT exception_id) FROM exception_events "
                        "WHERE tenant_id=$1 AND event_type='QuotaDeferred'", noisy_id)
    print(f"QuotaDeferred events: {deferred} for {distinct} exceptions")
    assert deferred == distinct <= NOISY - 10


def test_a_long_deferral_does_not_hold_up_another_tenants_short_one(single_partition: Pipeline) -> None:
    """Two throttled tenants on one partition: the slow one's backlog waits six seconds and more on
    the deferred topic; the other's deferred messages, queued behind it, come back on their own time."""
    pipeline = single_partition
    slow = cloned_tenants(1, quota={"exceptionsPerSecond": 2, "burst": 1}, prefix="slow")
    brisk = cloned_tenants(1, quota={"exceptionsPerSecond": 20, "burst": 5}, prefix="brisk")
    activate(pipeline.database_url, slow + brisk)
    pipeline.start_worker()
    slow_id, brisk_id = slow[0]["tenantId"], brisk[0]["tenantId"]

    decided = _decide(pipeline, {slow_id: 14, brisk_id: 25})
    slow_last, brisk_last = _each_once(decided[slow_id], slow_id, 14), _each_once(decided[brisk_id], brisk_id, 25)
    print(f"last decision after produce: slow {slow_last:.1f}s, brisk {brisk_last:.1f}s")
    # the slow tenant's quota is kept: its 14th token is due 6.5 s after the first
    assert slow_last >= 6.0
    # the brisk tenant's last token is due 1 s after its first; its deferred messages sit behind the
    # slow tenant's on the deferred partition and still come back long before the slow ones are done
    assert brisk_last < 5.0


def test_a_rebalance_while_deferred_messages_wait_loses_and_doubles_nothing(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[..., Pipeline]) -> None:
    """The deferred lanes give their waiting messages back when the partitions move: a worker that
    joins while a tenant's backlog waits is in the group at once (faust waits for every message
    taken and not acknowledged), and each exception is still decided once, on its time."""
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=2))
    slow = cloned_tenants(1, quota={"exceptionsPerSecond": 0.5, "burst": 1}, prefix="slow")
    activate(pipeline.database_url, slow)
    first = pipeline.start_worker()
    slow_id, count = slow[0]["tenantId"], 16  # a token every 2 s: the last one is due 30 s after the first
    second: list[WorkerProcess] = []

    def join_while_the_backlog_waits() -> None:
        wait_for(pipeline.database_url, "SELECT count(*) FROM exception_events WHERE tenant_id=$1 "
                 "AND event_type='QuotaDeferred'", slow_id, until=lambda n: n >= count - 1)
        joined = time.monotonic()
        # ready in about 10 s; held for the backlog, the group would wait until it is done, 27 s more and longer
        second.append(pipeline.start_worker(wait_ready=20))
        print(f"second worker ready {time.monotonic() - joined:.1f}s after it started")

    joiner = threading.Thread(target=join_while_the_backlog_waits)
    try:
        joiner.start()
        decided = _decide(pipeline, {slow_id: count}, timeout=90)
    finally:
        joiner.join()
    assert second, "the second worker did not join"
    second[0].stop()
    assert first.process is not None and first.process.poll() is None, first.log_tail()
    last = _each_once(decided[slow_id], slow_id, count)
    print(f"last decision {last:.1f}s after produce")
    assert last >= 2 * (count - 2)  # the quota still holds across the move


def test_a_message_held_for_its_time_is_not_a_stall(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[..., Pipeline]) -> None:
    """A tenant allowed one exception per 7 s sends two: while the second waits for its token
    nothing else moves, longer than the stall time. The watchdog checks and finds no input waiting
    (it logs that the worker is idle), not a stall: the message is scheduled, not stuck."""
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=1, stall_seconds=2))
    slow = cloned_tenants(1, quota={"exceptionsPerSecond": 1 / 7, "burst": 1}, prefix="slow")
    activate(pipeline.database_url, slow)
    worker = pipeline.start_worker()
    slow_id = slow[0]["tenantId"]

    decided = _decide(pipeline, {slow_id: 2})
    last = _each_once(decided[slow_id], slow_id, 2)
    print(f"second decision {last:.1f}s after produce")
    assert last >= 6.5  # it waited for its token (due 7 s after the first), three stall times and more
    log = worker.log_path.read_text(errors="replace")
    assert "watchdog: idle" in log, worker.log_tail()
    assert "stall:" not in log, worker.log_tail()


def test_a_tenant_beyond_its_share_of_waiting_is_dead_lettered_and_the_others_flow(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[..., Pipeline]) -> None:
    """A hostile tenant admin sets the lowest quota and floods: beyond its share of the deferred
    agent (SENTINAI_DEFERRED_TENANT_LIMIT) its input is dead-lettered with the reason, where it
    can be replayed, so the agent keeps room for every other tenant's over-quota input."""
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=1, deferred_tenant_limit=5))
    flood = cloned_tenants(1, quota={"exceptionsPerSecond": 0.01, "burst": 1}, prefix="flood")
    other = cloned_tenants(1, quota={"exceptionsPerSecond": 10, "burst": 2}, prefix="other")
    activate(pipeline.database_url, flood + other)
    pipeline.start_worker()
    flood_id, other_id = flood[0]["tenantId"], other[0]["tenantId"]
    produce(pipeline.bootstrap, pipeline.topics.exceptions, [(flood_id.encode(), _exception(flood_id, i)) for i in range(12)])
    # one within the burst, five waiting (the limit), six beyond it
    letters = wait_for(pipeline.database_url, "SELECT count(*) FROM dead_letters WHERE tenant_id=$1 AND stage='quota'",
                       flood_id, until=lambda n: n >= 6)
    assert letters == 6
    message = fetchval(pipeline.database_url, "SELECT error_message FROM dead_letters WHERE tenant_id=$1 AND "
                       "stage='quota' LIMIT 1", flood_id)
    assert "5 exceptions already waiting" in message and "SENTINAI_DEFERRED_TENANT_LIMIT" in message, message

    produce(pipeline.bootstrap, pipeline.topics.exceptions, [(other_id.encode(), _exception(other_id, i)) for i in range(6)])
    # two at once, four deferred 0.1–0.4 s, while the flood's five wait for days
    wait_for(pipeline.database_url, "SELECT count(*) FROM exceptions WHERE tenant_id=$1", other_id,
             until=lambda n: n == 6, timeout=20)
    assert fetchval(pipeline.database_url, "SELECT count(*) FROM exception_events WHERE tenant_id=$1 "
                    "AND event_type='QuotaDeferred'", flood_id) == 5


def test_a_full_deferred_agent_says_so_and_loses_nothing(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[..., Pipeline]) -> None:
    """More over-quota input than the agent may hold: it reads no further until one is handled,
    logs that it is full and who holds the most (an operator's alert: ``sentinai_deferred_full``),
    and every exception is still decided once, none dead-lettered."""
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=1, deferred_capacity=3))
    busy = cloned_tenants(1, quota={"exceptionsPerSecond": 4, "burst": 1}, prefix="busy")
    activate(pipeline.database_url, busy)
    worker = pipeline.start_worker()
    tenant = busy[0]["tenantId"]
    decided = _decide(pipeline, {tenant: 10}, timeout=60)  # one within the burst, nine deferred 0.25 s apart
    _each_once(decided[tenant], tenant, 10)
    assert fetchval(pipeline.database_url, "SELECT count(*) FROM dead_letters WHERE tenant_id=$1", tenant) == 0
    log = worker.log_path.read_text(errors="replace")
    assert "deferred agent full: 3 over-quota messages" in log and f"Holding the most: {tenant} 3" in log, \
        worker.log_tail()
    assert "deferred agent reads again" in log, worker.log_tail()
