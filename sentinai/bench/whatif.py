"""What-if replay over stored exceptions: re-decided per second, and the memory it takes.

    python -m sentinai.bench.whatif [--count 100000] [--packs DIR] [--seed S]

Stores ``--count`` exceptions of one sample tenant (decided and written as the pipeline does, see
`sentinai.bench.history`) in a fresh database (``SENTINAI_DATABASE_URL``'s server, else an
embedded PostgreSQL), then runs the what-if report of a candidate tenant pack that raises a
severity over all of them. The baseline, measured in the same run, is the decision core alone
deciding the same exceptions twice (active and candidate) from memory. Rates are given per
wall-clock second and per CPU second of this process (the machine is shared: the second says what
one core does when it is not waiting for others; PostgreSQL's own work is not in it). The
process's resident memory is sampled while the report runs: flat means it does not grow with
the rows read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sentinai.bench.database import database_server, fresh_database
from sentinai.bench.history import store_history
from sentinai.bench.workload import pack_documents
from sentinai.core.engine import decide
from sentinai.core.packs import build_pack_set
from sentinai.samples import sample_exception
from sentinai.sinks.pack_store import store_packs
from sentinai.sinks.pool import open_pool
from sentinai.sinks.stored_exceptions import stored_exceptions
from sentinai.whatif import active_and_candidate, restored, run_whatif

DEFAULT_PACKS = Path(__file__).resolve().parents[2] / "packs"
TENANT = "acme-capital"


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def candidate_of(tenant_doc: dict[str, Any], exception_type: str) -> dict[str, Any]:
    """The tenant pack with ``exception_type`` raised to CRITICAL (which needs approval)."""
    overrides = [o for o in tenant_doc.get("customSeverityOverrides", [])
                 if o["exceptionType"] != exception_type]
    return {**tenant_doc, "version": f"{tenant_doc['version']}-whatif",
            "customSeverityOverrides": [*overrides,
                                        {"exceptionType": exception_type, "severity": "CRITICAL"}]}


async def _run(url: str, count: int, packs_dir: Path, seed: int) -> list[tuple[str, float]]:
    domains, tenants = pack_documents(packs_dir)
    pack_set = build_pack_set(domains, tenants)
    tenant_doc = next(t for t in tenants if t["tenantId"] == TENANT)
    domain = pack_set.domains[tenant_doc["domainName"]]
    candidate = candidate_of(tenant_doc, sorted(domain.exception_types)[0])
    rng = random.Random(seed)
    now = datetime.now(UTC)

    def raws() -> Any:
        for index in range(count):
            raw = sample_exception(rng, pack_set, TENANT)
            assert isinstance(raw, dict)
            raw["exception_id"] = f"WI-{index:07d}"
            yield raw

    async with open_pool(url, max_size=2) as pool:
        await store_packs(pool, domains, tenants, created_by="bench")
        start = time.perf_counter()
        stored = await store_history(pool, pack_set, raws(), now=now)
        seeded = time.perf_counter() - start
        print(f"stored {stored} exceptions in {seeded:.1f}s", flush=True)
        active, proposed = await active_and_candidate(pool, TENANT, [], [candidate])
        since, until = now - timedelta(days=30), now + timedelta(days=1)

        sample = []
        async with aclosing(stored_exceptions(pool, TENANT, since, until)) as batches:
            async for rows in batches:
                sample += [restored(TENANT, row) for row in rows]
                if len(sample) >= 20_000:
                    break
        start, cpu = time.perf_counter(), time.process_time()
        for exception in sample:
            decide(exception, active, now=exception.occurred_at)
            decide(exception, proposed, now=exception.occurred_at)
        baseline = len(sample) / (time.perf_counter() - start)
        baseline_cpu = len(sample) / (time.process_time() - cpu)
        del sample

        samples: list[float] = []
        done = asyncio.Event()

        async def sample_memory() -> None:
            while not done.is_set():
                samples.append(_rss_mb())
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample_memory())
        rss_before = _rss_mb()
        start, cpu = time.perf_counter(), time.process_time()
        report = await run_whatif(pool, TENANT, active, proposed, since, until)
        elapsed, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        done.set()
        await sampler
    rate, rate_cpu = report.compared / elapsed, report.compared / cpu_seconds
    quarter = samples[: max(1, len(samples) // 4)]
    print(f"{'path':<34}{'per second':>12}{'per CPU second':>16}")
    print(f"{'decide x2 from memory (baseline)':<34}{baseline:>12,.0f}{baseline_cpu:>16,.0f}")
    print(f"{'what-if from PostgreSQL':<34}{rate:>12,.0f}{rate_cpu:>16,.0f}")
    print(f"compared: {report.compared}  changed: {report.changed}  skipped: {report.skipped}")
    return [("exceptions", float(report.compared)), ("seconds", elapsed),
            ("rss_mb_before", rss_before), ("rss_mb_first_quarter_max", max(quarter)),
            ("rss_mb_max", max(samples)), ("whatif_vs_decide_ratio", rate / baseline),
            ("load_average_1min", os.getloadavg()[0]), ("redecided_per_cpu_second", rate_cpu),
            ("redecided_per_second", rate)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentinai.bench.whatif")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--packs", type=Path, default=DEFAULT_PACKS)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    async def run(server_url: str) -> list[tuple[str, float]]:
        async with fresh_database(server_url) as url:
            return await _run(url, args.count, args.packs, args.seed)

    with database_server() as server_url:
        results = asyncio.run(run(server_url))
    for name, value in results:
        print(f"{name}: {value:.2f}" if value != int(value) else f"{name}: {int(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
