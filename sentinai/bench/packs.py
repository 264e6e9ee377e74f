"""Benchmark: large pack uploads against a running web process — its memory and its /health.

Starts an embedded PostgreSQL and broker (or uses ``SENTINAI_DATABASE_URL`` and
``SENTINAI_KAFKA_BROKER``), migrates, runs ``sentinai web`` as a child process and PUTs ten distinct
tenant packs of about 1 MB (a few hundred distinct conditions each) while another task polls
``/health`` every 20 ms. Prints the web process's RSS before and after, the PUT times and the
/health latencies measured during the uploads against those measured before them (same run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from sentinai.core.packs.yaml_loader import load_yaml
from sentinai.embedded.process import exit_on_sigterm, free_port, wait_for_port
from sentinai.settings import load_settings

PACKS_DIR = Path(__file__).resolve().parents[2] / "packs"
TENANT = "acme-capital"
TARGET_BYTES = 1_000_000


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def large_pack(upload: int, target_bytes: int = TARGET_BYTES) -> dict[str, Any]:
    """The sample tenant pack with custom playbooks until it is about `target_bytes` of JSON;
    every playbook has its own condition, and every upload different ones."""
    tenant = load_yaml((PACKS_DIR / "tenants" / f"{TENANT}.yaml").read_text())
    tenant["version"] = f"bench-{upload}"
    playbooks: list[dict[str, Any]] = tenant.setdefault("customPlaybooks", [])
    i = 0
    while len(json.dumps(tenant)) < target_bytes - 5_000:
        accounts = ", ".join(f"'ACC-{upload}-{i}-{j}'" for j in range(180))
        playbooks.append({
            "id": f"bench-{i}", "name": f"bench playbook {i}", "priority": i % 50,
            "conditions": {"exceptionTypes": ["POSITION_BREAK"],
                           "condition": f"payload.account in [{accounts}] && "
                                        f"payload.book matches '^B{upload}-{i}-[0-9]+$'"},
            "steps": [{"name": "note", "action": "add_comment", "params": {"text": f"bench {i}"}}]})
        i += 1
    return tenant


@contextmanager
def _services(data_dir: Path) -> Iterator[tuple[str, str]]:
    """(database URL, broker bootstrap): the configured ones, or embedded ones started here."""
    settings = load_settings()
    with ExitStack() as stack:
        database_url = settings.database_url
        if database_url is None:
            from sentinai.embedded.postgres import EmbeddedPostgres

            database_url = stack.enter_context(
                EmbeddedPostgres(data_dir / "postgres", port=free_port())).url
        broker = settings.kafka_broker
        if broker is None:
            from sentinai.embedded.broker import EmbeddedBroker

            broker = stack.enter_context(EmbeddedBroker(port=free_port(), log_dir=data_dir)).url
        yield database_url, broker


async def _admin_key(database_url: str) -> str:
    from sentinai.sinks.api_keys import create_api_key
    from sentinai.sinks.pool import open_pool

    async with open_pool(database_url, min_size=1, max_size=1) as pool:
        return await create_api_key(pool, "*", "admin")


async def _poll_health(session: aiohttp.ClientSession, url: str, stop: asyncio.Event,
                       latencies: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        async with session.get(f"{url}/health") as response:
            await response.read()
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(url: str, key: str, pid: int, uploads: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    packs = [large_pack(i) for i in range(uploads)]
    async with aiohttp.ClientSession() as session:
        idle: list[float] = []
        stop = asyncio.Event()
        poller = asyncio.create_task(_poll_health(session, url, stop, idle))
        await asyncio.sleep(2.0)
        stop.set()
        await poller
        rss_before = rss_bytes(pid)
        busy: list[float] = []
        put_seconds = []
        for pack in packs:
            stop = asyncio.Event()
            poller = asyncio.create_task(_poll_health(session, url, stop, busy))
            started = time.perf_counter()
            async with session.put(f"{url}/api/v1/tenants/{TENANT}/packs", json=pack,
                                   headers=headers) as response:
                body = await response.text()
                if response.status != 200:
                    raise RuntimeError(f"PUT answered {response.status}: {body[:300]}")
            put_seconds.append(time.perf_counter() - started)
            stop.set()
            await poller
        rss_after = rss_bytes(pid)
    return {"rss_before": rss_before, "rss_after": rss_after, "put": put_seconds,
            "idle": idle, "busy": busy, "pack_bytes": len(json.dumps(packs[0])),
            "playbooks": len(packs[0]["customPlaybooks"])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sentinai.bench.packs",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=10, help="large packs to PUT (default 10)")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="sentinai-bench-packs-") as tmp, \
            _services(Path(tmp)) as (database_url, broker):
        from sentinai.migrate import import_packs, upgrade

        upgrade(database_url)
        import_packs(database_url, PACKS_DIR, created_by="bench")
        key = asyncio.run(_admin_key(database_url))
        port = free_port()
        env = {**os.environ, "SENTINAI_DATABASE_URL": database_url, "SENTINAI_KAFKA_BROKER": broker,
               "SENTINAI_WEB_PORT": str(port), "SENTINAI_LOG_LEVEL": "WARNING"}
        with open(Path(tmp) / "web.log", "wb") as log:
            web = subprocess.Popen([sys.executable, "-m", "sentinai", "web"], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_for_port("127.0.0.1", port, 60, web)
                result = asyncio.run(_measure(f"http://127.0.0.1:{port}", key, web.pid, args.uploads))
            finally:
                web.terminate()
                web.wait(timeout=30)
    mib = 1024 * 1024
    ratio = result["rss_after"] / result["rss_before"]
    print(f"{args.uploads} uploads of a {result['pack_bytes']:,} byte tenant pack "
          f"({result['playbooks']} playbooks, one distinct condition each)")
    print()
    print(f"{'measure':<34}{'value':>12}")
    print(f"{'web RSS before (MiB)':<34}{result['rss_before'] / mib:>12.1f}")
    print(f"{'web RSS after (MiB)':<34}{result['rss_after'] / mib:>12.1f}")
    print(f"{'PUT median (s)':<34}{_quantile(result['put'], 0.5):>12.3f}")
    print(f"{'PUT max (s)':<34}{max(result['put']):>12.3f}")
    print(f"{'/health idle median (ms)':<34}{_quantile(result['idle'], 0.5) * 1000:>12.1f}")
    print(f"{'/health during uploads p50 (ms)':<34}{_quantile(result['busy'], 0.5) * 1000:>12.1f}")
    print(f"{'/health during uploads max (ms)':<34}{max(result['busy']) * 1000:>12.1f}")
    print()
    print(f"web_rss_after_vs_before_ratio: {ratio:.2f}")
    print(f"health_during_upload_max_ms: {max(result['busy']) * 1000:.1f}")
    print(f"health_during_upload_p50_ms: {_quantile(result['busy'], 0.5) * 1000:.1f}")
    print(f"pack_put_median_seconds: {_quantile(result['put'], 0.5):.3f}")


if __name__ == "__main__":
    main()
