"""Benchmark: similar-case quality and query time on a generated history, lexical retrieval only.

``python -m sentinai.bench.similar [--total 50000] [--planted 500] [--seed 7]``

Writes ``total`` exceptions of one tenant (see :mod:`sentinai.bench.similar_history`: background
cases, planted originals with a hard-negative sibling each, and the originals' rewordings) through
the sink's :class:`~sentinai.sinks.writer.EventWriter`, so the search documents are built by the
same triggers as in production, plus a copy of every original under another tenant with other
ids (a result from that tenant would be a leak). Then it builds the queued search documents,
refreshes the term statistics (both worker timers in production) and asks
for the 5 cases most similar to each rewording:

* ``recall@5``: share of rewordings whose original is among the 5; ``recall@1`` likewise;
* query time percentiles of :func:`~sentinai.sinks.similar_cases.similar_to_exception` (the
  whole call: scoring statement and outcomes statement);
* ``baseline``: the first 50 of the same searches ranked by PostgreSQL's ``ts_rank`` over all
  the query's terms (no term weighting), measured in the same run;
* the cost of keeping the documents: building them from the queue (a worker's timer in
  production), and the sink's share — the same events written with the queueing triggers disabled
  and enabled, in two fresh databases.

Uses ``SENTINAI_DATABASE_URL`` when set, otherwise an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from sentinai.bench.database import database_server, fresh_database
from sentinai.bench.similar_history import Case, generate
from sentinai.core.actor import Actor
from sentinai.embedded.process import exit_on_sigterm
from sentinai.sinks.pool import open_pool
from sentinai.sinks.search_index import index_queued
from sentinai.sinks.search_terms import refresh_tenant
from sentinai.sinks.similar_cases import similar_to_exception
from sentinai.sinks.writer import EventWriter
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.transition import Transition, transition

TENANT = "bench-tenant"
OTHER = "bench-other"
BATCH = 1000
BASELINE_QUERIES = 50  # it ranks nearly every document of the tenant: seconds per query
T0 = datetime(2026, 1, 5, tzinfo=UTC)

_BASELINE = """
SELECT s.exception_id FROM exception_search s,
       (SELECT replace(strip(tsv)::text, ' ', ' | ')::tsquery AS q FROM exception_search
         WHERE tenant_id = $1 AND exception_id = $2) query
 WHERE s.tenant_id = $1 AND s.exception_id <> $2 AND s.tsv @@ query.q
 ORDER BY ts_rank(s.tsv, query.q) DESC LIMIT 5
"""


def _transitions(tenant: str, cases: list[Case], *, id_prefix: str = "") -> list[Transition]:
    """One transition per case: its ExceptionNormalized event and the snapshot with its input."""
    actor = Actor(type="agent", id="decide")
    out = []
    for n, case in enumerate(cases):
        exception_id = id_prefix + case.exception_id
        snapshot = {"source_system": case.source_system, "exception_type": case.exception_type,
                    "severity": case.severity, "status": "RESOLVED", "owner": None,
                    "playbook_id": None, "current_step": None, "sla_deadline": None, "version": 1,
                    "raw_payload": case.payload,
                    "normalized_context": {"policyTags": [case.source_system],
                                           "source_system": case.source_system}}
        event = EventEnvelope.create(event_type="ExceptionNormalized", tenant_id=tenant,
                                     exception_id=exception_id, occurred_at=T0 + timedelta(seconds=n),
                                     actor=actor, payload={}, version=1)
        out.append(transition(tenant_id=tenant, exception_id=exception_id, events=[event],
                              snapshot=snapshot))
    return out


async def _write(pool: asyncpg.Pool, transitions: list[Transition]) -> float:
    writer = EventWriter(pool)
    started = time.perf_counter()
    for i in range(0, len(transitions), BATCH):
        await writer.write_batch(transitions[i:i + BATCH])
    return time.perf_counter() - started


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _sink_cost(server_url: str, transitions: list[Transition]) -> tuple[float, float]:
    """Seconds to write ``transitions`` without, then with, the search triggers (fresh databases)."""
    times = []
    for enabled in (False, True):
        async with fresh_database(server_url) as url, open_pool(url, max_size=2) as pool:
            if not enabled:
                await pool.execute("ALTER TABLE exceptions DISABLE TRIGGER exceptions_search_inserted")
                await pool.execute("ALTER TABLE exceptions DISABLE TRIGGER exceptions_search_updated")
            times.append(await _write(pool, transitions))
    return times[0], times[1]


async def _run(server_url: str, total: int, planted: int, seed: int) -> dict[str, Any]:
    cases, pairs = generate(total, planted, seed)
    by_id = {c.exception_id: c for c in cases}
    originals = [by_id[o] for o, _ in pairs]
    transitions = _transitions(TENANT, cases)
    results: dict[str, Any] = {}
    async with fresh_database(server_url) as url, open_pool(url, max_size=4) as pool:
        results["write_seconds"] = await _write(pool, transitions + _transitions(OTHER, originals, id_prefix="X"))
        started = time.perf_counter()
        results["documents_built"] = await index_queued(pool, max_batches=10_000)
        results["index_seconds"] = time.perf_counter() - started
        await pool.execute("ANALYZE exception_search")
        started = time.perf_counter()
        async with pool.acquire() as conn:
            await refresh_tenant(conn, TENANT, now=datetime.now(UTC))
        results["stats_refresh_seconds"] = time.perf_counter() - started
        for _, reworded in pairs[:20]:  # warm the caches and the plan
            await similar_to_exception(pool, TENANT, reworded, limit=5)
        times, hits1, hits5, leaks, base_hits, base_times = [], 0, 0, 0, 0, []
        for original, reworded in pairs:
            started = time.perf_counter()
            found = await similar_to_exception(pool, TENANT, reworded, limit=5)
            times.append((time.perf_counter() - started) * 1000)
            ids = [c.exception_id for c in found or []]
            hits1 += ids[:1] == [original]
            hits5 += original in ids
            leaks += sum(i.startswith("X") for i in ids)
        baseline_pairs = pairs[:BASELINE_QUERIES]
        for original, reworded in baseline_pairs:
            started = time.perf_counter()
            base = [r["exception_id"] for r in await pool.fetch(_BASELINE, TENANT, reworded)]
            base_times.append((time.perf_counter() - started) * 1000)
            base_hits += original in base
        n = len(pairs)
        results.update({
            "recall_at_1": hits1 / n, "recall_at_5": hits5 / n, "cross_tenant_results": leaks,
            "query_ms_p50": statistics.median(times), "query_ms_p95": _percentile(times, 0.95),
            "query_ms_p99": _percentile(times, 0.99),
            "baseline_recall_at_5": base_hits / len(baseline_pairs),
            "baseline_query_ms_p95": _percentile(base_times, 0.95),
        })
    without, with_triggers = await _sink_cost(server_url, transitions)
    results["sink_seconds_without_search"] = without
    results["sink_seconds_with_search"] = with_triggers
    results["sink_search_overhead_ratio"] = with_triggers / without
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sentinai.bench.similar")
    parser.add_argument("--total", type=int, default=50_000)
    parser.add_argument("--planted", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.total < 3 * args.planted:
        parser.error("--total must be at least 3 × --planted")
    exit_on_sigterm()
    with database_server() as server_url:
        r = asyncio.run(_run(server_url, args.total, args.planted, args.seed))
    print(f"{'history':<34}{args.total} exceptions, {args.planted} planted near-duplicates")
    print(f"{'written through the sink':<34}{r['write_seconds']:.1f} s")
    print(f"{'search documents built':<34}{r['documents_built']} in {r['index_seconds']:.1f} s "
          f"({r['documents_built'] / r['index_seconds']:.0f}/s, off the sink's path)")
    print(f"{'term statistics refresh':<34}{r['stats_refresh_seconds'] * 1000:.0f} ms")
    print(f"{'similar cases':<34}recall@1 {r['recall_at_1']:.3f}  recall@5 {r['recall_at_5']:.3f}  "
          f"p50 {r['query_ms_p50']:.1f} ms  p95 {r['query_ms_p95']:.1f} ms  "
          f"p99 {r['query_ms_p99']:.1f} ms")
    print(f"{'baseline (ts_rank, all terms, 50)':<34}recall@5 {r['baseline_recall_at_5']:.3f}  "
          f"p95 {r['baseline_query_ms_p95']:.1f} ms")
    print(f"{'sink, search queue off / on':<34}{r['sink_seconds_without_search']:.1f} s / "
          f"{r['sink_seconds_with_search']:.1f} s")
    for name in ("recall_at_1", "recall_at_5", "query_ms_p50", "query_ms_p95", "query_ms_p99",
                 "baseline_recall_at_5", "baseline_query_ms_p95", "cross_tenant_results",
                 "stats_refresh_seconds", "sink_search_overhead_ratio"):
        value = r[name]
        print(f"{name}: {value:.4f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
