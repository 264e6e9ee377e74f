"""Tenant packs for tests that need more tenants, or other quotas, than the samples have."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sentinai.sinks.pack_store import store_packs
from sentinai.sinks.pool import open_pool

from sentinai.core.packs import load_pack_dir

PACKS = Path(__file__).resolve().parents[2] / "packs"


def sample_documents() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    packs = load_pack_dir(PACKS)
    domains = [d.model_dump(mode="json", by_alias=True, exclude_none=True) for d in packs.domains.values()]
    tenants = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in packs.tenants.values()]
    return domains, tenants


def cloned_tenants(count: int, *, quota: dict[str, float] | None = None, prefix: str = "tenant") -> list[dict[str, Any]]:
    """``count`` tenants named ``{prefix}-00``…, each a copy of a sample tenant (cycling), optionally with a quota."""
    _, samples = sample_documents()
    docs = []
    for index in range(count):
        doc = dict(samples[index % len(samples)])
        doc["tenantId"] = f"{prefix}-{index:02d}"
        doc.pop("testSuites", None)
        if quota is not None:
            doc["quotas"] = {**doc.get("quotas", {}), **quota}
        docs.append(doc)
    return docs


def activate(database_url: str, tenant_docs: list[dict[str, Any]]) -> None:
    """Store and activate the sample domains and these tenant packs."""
    domains, _ = sample_documents()

    async def run() -> None:
        async with open_pool(database_url, min_size=1, max_size=1) as pool:
            await store_packs(pool, domains, tenant_docs, created_by="test")

    asyncio.run(run())
