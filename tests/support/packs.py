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


def fix_or_sign_off_tenant(prefix: str, hook_url: str) -> dict[str, Any]:
    """A tenant whose SEC_MASTER_MISMATCH is fixed on sight (a comment, then a webhook to
    ``hook_url``: its notice key is ``fixed:1:notify:0``) and whose SETTLEMENT_FAIL waits for a
    sign-off (approval), then gets a comment."""
    fixed = {"id": "fixed", "name": "Fixed on sight", "priority": 99, "approved": True,
             "conditions": {"exceptionTypes": ["SEC_MASTER_MISMATCH"]},
             "steps": [{"name": "note", "action": "add_comment", "params": {"text": "vendor value taken"}},
                       {"name": "tell", "action": "notify", "params": {"message": "vendor value taken"}}]}
    sign_off = {"id": "sign-off", "name": "Needs a sign-off", "priority": 99, "approved": False,
                "conditions": {"exceptionTypes": ["SETTLEMENT_FAIL"]},
                "steps": [{"name": "note", "action": "add_comment", "params": {"text": "signed off"}}]}
    doc = cloned_tenants(1, prefix=prefix)[0]
    doc.update({"domainName": "CapitalMarketsTrading", "humanApprovalRules": [], "customPlaybooks": [fixed, sign_off],
                "toolPolicy": {"httpsOnly": False, "allowPrivate": True},
                "notificationPolicies": [{"channel": "webhook", "target": hook_url, "events": []}]})
    doc.pop("customGuardrails", None)
    return doc
