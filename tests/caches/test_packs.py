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


async def test_a_reload_after_one_tenants_upload_reuses_every_other_pack(database_url: str) -> None:
    domain, acme, globex = (_doc("domains", "capital-markets-trading"), _doc("tenants", "acme-capital"),
                            _doc("tenants", "globex-markets"))
    async with open_pool(database_url, max_size=2) as pool:
        await store_packs(pool, [domain], [acme, globex], created_by="test")
        cache = PackCache()
        assert await cache.refresh(pool)
        before_acme, before_globex = cache.for_tenant("acme-capital"), cache.for_tenant("globex-markets")
        await store_packs(pool, [], [{**globex, "displayName": "Globex (renamed)"}], created_by="test")
        assert await cache.refresh(pool)
    assert cache.for_tenant("acme-capital") is before_acme  # neither validated nor compiled again
    after = cache.for_tenant("globex-markets")
    assert after is not before_globex and after is not None
    assert after.tenant.display_name == "Globex (renamed)"
