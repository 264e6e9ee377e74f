"""Pipeline benchmark: the real worker against a raw aiokafka loop on the same broker, same messages.

    python -m sentinai.bench.pipeline [--n 100000] [--tenants 20] [--latency-seconds 20]

1. Starts an embedded broker and PostgreSQL (or uses SENTINAI_KAFKA_BROKER / SENTINAI_DATABASE_URL),
   migrates a fresh database, activates the sample domains and N tenants cloned from the samples
   (without quota throttling), and preloads N ~1 KB exceptions into a fresh input topic.
2. Baseline: a raw aiokafka consume → JSON decode → produce loop over the same messages.
3. Pipeline: one ``sentinai worker``; throughput from its first to its last decision, and to the
   last row committed in PostgreSQL; the worker's CPU time (start-up included) per exception, a
   number that other load on the machine disturbs much less than the rates, and the same without
   its start-up (the CPU it had used when its first decision was read; a fixed cost that the
   first number spreads over N); and, with the embedded
   broker, the broker's CPU time over the same phase per exception (the worker's traffic plus this
   benchmark's read of the decisions), which shares the machine's two cores with the worker.
3b. A second baseline, for comparison only: the raw loop with the worker's own traffic. The
   messages the worker produced per exception are counted (events, decision records, commands,
   table changelogs), and so are those it read back (all but the decision records and the
   changelogs); the raw loop then produces that many per input and reads that many back
   (``pipeline_vs_raw_fanout_ratio``). ``pipeline_vs_raw_ratio`` stays the one-in, one-out loop.
4. Latency: a fresh worker under a steady offered load of half the measured maximum; p50/p95/p99
   from produce to decision and from produce to committed row; the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from sentinai.bench import workload
from sentinai.bench.raw_loop import count_records, create_topic, produce, raw_loop
from sentinai.bench.worker_process import Worker, cpu_seconds_of
from sentinai.embedded.process import exit_on_sigterm, free_port
from sentinai.settings import Settings, asyncpg_dsn, bootstrap_servers
from sentinai.streams import codec
from sentinai.streams.topics import TopicNames, ensure_topics

PACKS = Path(__file__).resolve().parents[2] / "packs"


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _worker_traffic(bootstrap: str, settings: Settings, n: int) -> tuple[float, float]:
    """Messages the throughput worker produced per exception, and how many of them it read back
    (all but the decision records and the table changelogs: the sink reads the events, the agents
    their commands)."""
    names = TopicNames.from_settings(settings)
    produced = {name: await count_records(bootstrap, name, settings.topic_partitions)
                for name in names.all() if name != names.exceptions}
    changelogs = [f"{settings.app_id}-{table}-changelog" for table in ("exception-state", "tenant-state", "tool-calls")]
    changelog_records = sum([await count_records(bootstrap, name, settings.topic_partitions) for name in changelogs])
    out = sum(produced.values()) + changelog_records
    return out / n, (out - produced[names.decisions] - changelog_records) / n


async def _decision_times(bootstrap: str, topic: str, expected: int, timeout: float,
                          only: set[str] | None = None,
                          at_first: Callable[[], None] | None = None) -> dict[str, float]:
    """exception_id → timestamp (s) of its decision (the record whose stages include the playbook
    stage), read until ``expected`` are seen (of the ``only`` ids, when given); ``at_first`` is
    called when the first decision is read."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=f"bench-{uuid.uuid4().hex}")
    await consumer.start()
    times: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(times) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for record in records:
                    decision = codec.loads(record.value)
                    decided = any(stage["stage"] == "playbook" for stage in decision["stages"])
                    if decided and (only is None or decision["exception_id"] in only):
                        if not times and at_first is not None:
                            at_first()
                        times[decision["exception_id"]] = record.timestamp / 1000
    finally:
        await consumer.stop()
    return times


async def _wait_rows(database_url: str, tenants: list[str], expected: int, timeout: float) -> float:
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            count = await conn.fetchval("SELECT count(*) FROM exceptions WHERE tenant_id = ANY($1::text[])", tenants)
            if count >= expected:
                return time.time()
            await asyncio.sleep(0.05)
        raise TimeoutError(f"only {count} of {expected} rows after {timeout}s")
    finally:
        await conn.close()


async def _row_times(database_url: str, ids: list[str]) -> dict[str, float]:
    """exception_id → when its first events were stored: the start of the sink transaction that
    also created its row (``exceptions.created_at`` is the event time, so it cannot say this)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT exception_id, extract(epoch FROM min(recorded_at)) AS at FROM exception_events "
                                "WHERE exception_id = ANY($1::text[]) GROUP BY exception_id", ids)
        return {r["exception_id"]: float(r["at"]) for r in rows}
    finally:
        await conn.close()


async def _activate(database_url: str, domains: list[dict[str, Any]], tenants: list[dict[str, Any]]) -> None:
    from sentinai.sinks.pack_store import store_packs
    from sentinai.sinks.pool import open_pool

    async with open_pool(database_url, min_size=1, max_size=1) as pool:
        await store_packs(pool, domains, tenants, created_by="bench")


async def _create_database(server_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def run(n: int, tenants: int, latency_seconds: float, partitions: int) -> dict[str, float]:
    from sentinai.migrate import upgrade

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sentinai-bench-")))
        broker_url = os.environ.get("SENTINAI_KAFKA_BROKER")
        broker_pid: int | None = None  # the embedded broker's, whose CPU time is counted too
        if not broker_url:
            from sentinai.embedded.broker import EmbeddedBroker

            broker = stack.enter_context(EmbeddedBroker(port=free_port(), log_dir=tmp))
            broker_url, broker_pid = broker.url, broker.pid
        server_url = os.environ.get("SENTINAI_DATABASE_URL")
        if server_url:
            server_url = asyncpg_dsn(server_url)
        else:
            from sentinai.embedded.postgres import EmbeddedPostgres

            server_url = stack.enter_context(EmbeddedPostgres(tmp / "pg", port=free_port())).url
        database_url = asyncio.run(_create_database(server_url))
        upgrade(database_url)
        domains, docs, packs = workload.workload_packs(PACKS, tenants, prefix="bench", quota=workload.UNTHROTTLED)
        asyncio.run(_activate(database_url, domains, docs))
        tenant_ids = [d["tenantId"] for d in docs]
        prefix = f"b{uuid.uuid4().hex[:6]}"
        settings = Settings(kafka_broker=broker_url, topic_partitions=partitions, app_id=f"{prefix}-app",
                            topic_prefix=prefix, topic_exceptions=f"{prefix}.exceptions",
                            topic_events=f"{prefix}.events", topic_decisions=f"{prefix}.decisions",
                            topic_dlq=f"{prefix}.dlq", data_dir=tmp / "data")
        bootstrap = bootstrap_servers(broker_url)
        asyncio.run(ensure_topics(settings))
        messages = [(k, codec.dumps(v)) for k, v in workload.unique_exceptions(packs, tenant_ids, n)]
        print(f"preloading {n} messages ({sum(len(v) for _, v in messages) / n:.0f} bytes avg) "
              f"over {tenants} tenants, {partitions} partitions", flush=True)
        asyncio.run(produce(bootstrap, settings.topic_exceptions, messages))

        raw_seconds = asyncio.run(raw_loop(bootstrap, settings.topic_exceptions, prefix, n, partitions))
        raw_rate = n / raw_seconds

        broker_cpu_before = cpu_seconds_of(broker_pid) if broker_pid else float("nan")
        worker = Worker(settings, database_url, tmp / "worker.log")
        try:
            started: list[float] = []  # the worker's CPU when its first decision is read: start-up
            decisions = asyncio.run(_decision_times(
                bootstrap, settings.topic_decisions, n, timeout=max(600, n / 50),
                at_first=lambda: started.append(cpu_seconds_of(worker.process.pid))))
            row_done = asyncio.run(_wait_rows(database_url, tenant_ids, n, timeout=600))
            cpu_seconds = cpu_seconds_of(worker.process.pid)
            broker_cpu_seconds = (cpu_seconds_of(broker_pid) if broker_pid else float("nan")) - broker_cpu_before
        finally:
            rss_throughput = worker.stop()
        if len(decisions) < n:
            raise SystemExit(f"only {len(decisions)} of {n} decisions; see {tmp / 'worker.log'}")
        # the first decision marks the first consume closely enough: it is ~1 ms behind it
        first = min(decisions.values())
        pipeline_rate = n / (max(decisions.values()) - first)
        stored_rate = n / (row_done - first)
        out_per_input, back_per_input = asyncio.run(_worker_traffic(bootstrap, settings, n))
        fanout_seconds = asyncio.run(raw_loop(bootstrap, settings.topic_exceptions, prefix, n, partitions,
                                               out_per_input=out_per_input, back_per_input=back_per_input))

        latency_n = max(100, int(pipeline_rate / 2 * latency_seconds))
        latency_messages = [(k, codec.dumps(v)) for k, v in
                            workload.unique_exceptions(packs, tenant_ids, latency_n, seed=11, id_prefix="lat-")]
        warm_up = [(k, codec.dumps(v)) for k, v in
                   workload.unique_exceptions(packs, tenant_ids, 2 * tenants, seed=12, id_prefix="warm-")]
        worker = Worker(settings.model_copy(update={"app_id": f"{prefix}-latency",
                                                    "topic_exceptions": f"{prefix}.latency-in"}),
                        database_url, tmp / "worker-latency.log")
        try:
            latency = asyncio.run(_steady_load(bootstrap, settings, f"{prefix}.latency-in", latency_messages,
                                               rate=pipeline_rate / 2, database_url=database_url, warm_up=warm_up))
        finally:
            rss_latency = worker.stop()

    results = {
        "raw_msgs_per_second": raw_rate,
        "pipeline_msgs_per_second": pipeline_rate,
        "pipeline_stored_msgs_per_second": stored_rate,
        "pipeline_vs_raw_ratio": pipeline_rate / raw_rate,
        "messages_out_per_exception": out_per_input,
        "messages_back_per_exception": back_per_input,
        "raw_fanout_msgs_per_second": n / fanout_seconds,
        "pipeline_vs_raw_fanout_ratio": pipeline_rate * fanout_seconds / n,
        "worker_cpu_ms_per_exception": 1000 * cpu_seconds / n,
        "worker_startup_cpu_seconds": started[0],
        "worker_cpu_ms_per_exception_after_start": 1000 * (cpu_seconds - started[0]) / n,
        "broker_cpu_ms_per_exception": 1000 * broker_cpu_seconds / n,
        **latency,
        "worker_peak_rss_mb": max(rss_throughput, rss_latency),
    }
    return results


async def _steady_load(bootstrap: str, settings: Settings, topic: str, messages: list[tuple[bytes, bytes]], *,
                       rate: float, database_url: str, warm_up: list[tuple[bytes, bytes]]) -> dict[str, float]:
    """Latency in the steady state: the clock starts once the fresh worker has decided and stored
    the warm-up exceptions (every tenant, so every partition it owns), not after a guessed delay."""
    await create_topic(bootstrap, topic, settings.topic_partitions)
    started = time.monotonic()
    await produce(bootstrap, topic, warm_up)
    warm_ids = {codec.loads(value)["exception_id"] for _, value in warm_up}
    await _decision_times(bootstrap, settings.topic_decisions, len(warm_ids), timeout=120, only=warm_ids)
    while len(await _row_times(database_url, list(warm_ids))) < len(warm_ids) and time.monotonic() - started < 180:
        await asyncio.sleep(0.2)
    print(f"worker warmed up in {time.monotonic() - started:.1f}s", flush=True)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    sent_at: dict[str, float] = {}
    try:
        start = time.perf_counter()
        for index, (key, value) in enumerate(messages):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            exception_id = codec.loads(value)["exception_id"]
            sent_at[exception_id] = time.time()
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()
    decided = await _decision_times(bootstrap, settings.topic_decisions, len(sent_at), timeout=120,
                                    only=set(sent_at))
    stored: dict[str, float] = {}
    deadline = time.monotonic() + 120
    while len(stored) < len(sent_at) and time.monotonic() < deadline:
        stored = await _row_times(database_url, list(sent_at))
        await asyncio.sleep(0.5)
    to_decision = [1000 * (decided[k] - sent_at[k]) for k in decided]
    to_row = [1000 * (stored[k] - sent_at[k]) for k in stored]
    return {
        "offered_msgs_per_second": rate,
        "decision_latency_p50_ms": _percentile(to_decision, 0.50),
        "decision_latency_p95_ms": _percentile(to_decision, 0.95),
        "decision_latency_p99_ms": _percentile(to_decision, 0.99),
        "stored_latency_p50_ms": _percentile(to_row, 0.50),
        "stored_latency_p95_ms": _percentile(to_row, 0.95),
        "stored_latency_p99_ms": _percentile(to_row, 0.99),
        "latency_samples": float(min(len(to_decision), len(to_row))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentinai.bench.pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    exit_on_sigterm()
    results = run(args.n, args.tenants, args.latency_seconds, args.partitions)
    print(f"{'metric':<34}{'value':>14}")
    for name, value in results.items():
        print(f"{name:<34}{value:>14,.2f}")
    print()
    for name, value in results.items():
        print(f"{name}: {value:.3f}" if "ratio" in name else f"{name}: {value:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
