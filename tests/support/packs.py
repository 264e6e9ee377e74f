"""Tenant packs for tests that need more tenants, or other quotas, than the samples have."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sentinai.bench import workload
from sentinai.sinks.pack_store import store_packs
from sentinai.sinks.pool import open_pool

PACKS = Path(__file__).resolve().parents[2] / "packs"


def cloned_tenants(count: int, *, quota: dict[str, float] | None = None, prefix: str = "tenant") -> list[dict[str, Any]]:
    _, samples = workload.pack_documents(PACKS)
    return workload.cloned_tenants(samples, count, prefix=prefix, quota=quota, offline_tools=True)


def activate(database_url: str, tenant_docs: list[dict[str, Any]]) -> None:
    """Store and activate the sample domains and these tenant packs."""
    domains, _ = workload.pack_documents(PACKS)

    async def run() -> None:
        async with open_pool(database_url, min_size=1, max_size=1) as pool:
            await store_packs(pool, domains, tenant_docs, created_by="test")

    asyncio.run(run())
