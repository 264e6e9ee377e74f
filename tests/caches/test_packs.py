"""The active packs as the worker and the web view load them: an active pack that no longer
validates (stored before a bound was added) leaves its tenant out, not every tenant."""

from __future__ import annotations

from pathlib import Path

import yaml
from prometheus_client import REGISTRY

from sentinai.caches.packs import PackCache
from sentinai.sinks.pack_store import store_packs
from sentinai.sinks.pool import open_pool

PACKS = Path(__file__).resolve().parents[2] / "packs"


def _doc(kind: str, name: str) -> dict:
    return yaml.safe_load((PACKS / kind / f"{name}.yaml").read_text())


async def test_a_tenant_whose_stored_pack_no_longer_validates_is_left_out_alone(database_url: str) -> None:
    invalid = {**_doc("tenants", "globex-markets"), "retentionPolicies": {"dataTTL": 10**9}}
    async with open_pool(database_url, max_size=2) as pool:
        await store_packs(pool, [_doc("domains", "capital-markets-trading")],
                          [_doc("tenants", "acme-capital"), invalid], created_by="an earlier release")
        cache = PackCache()
        assert await cache.refresh(pool)
    assert cache.for_tenant("acme-capital") is not None
    assert cache.for_tenant("globex-markets") is None
    assert REGISTRY.get_sample_value("sentinai_packs_left_out") == 1
