"""Benchmark and test workloads: many tenants cloned from the sample packs, realistic messages."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from sentinai.core.packs import PackSet, build_pack_set, load_pack_dir
from sentinai.samples import sample_exception

UNTHROTTLED = {"exceptionsPerSecond": 1_000_000, "burst": 1_000_000}


def pack_documents(packs_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    packs = load_pack_dir(packs_dir)
    domains = [d.model_dump(mode="json", by_alias=True, exclude_none=True) for d in packs.domains.values()]
    tenants = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in packs.tenants.values()]
    return domains, tenants


def cloned_tenants(samples: list[dict[str, Any]], count: int, *, prefix: str = "tenant",
                   quota: dict[str, float] | None = None, offline_tools: bool = False) -> list[dict[str, Any]]:
    """``count`` tenants ``{prefix}-00``…, each a copy of a sample tenant (cycling), optionally with a quota.

    ``offline_tools`` approves no tool and routes no webhook: the samples' endpoints and hooks are
    on example hosts that this machine cannot reach, and a load run should measure the pipeline,
    not DNS failures and retries.
    """
    docs = []
    for index in range(count):
        doc = dict(samples[index % len(samples)])
        doc["tenantId"] = f"{prefix}-{index:02d}"
        doc.pop("testSuites", None)
        if quota is not None:
            doc["quotas"] = {**doc.get("quotas", {}), **quota}
        if offline_tools:
            doc["approvedTools"] = []
            doc["notificationPolicies"] = [r for r in doc.get("notificationPolicies", []) if r["channel"] != "webhook"]
        docs.append(doc)
    return docs


def unique_exceptions(packs: PackSet, tenants: list[str], count: int, *, seed: int = 7,
                      id_prefix: str = "") -> list[tuple[bytes, dict[str, Any]]]:
    """``count`` (key, exception) pairs spread round-robin over ``tenants``, with unique ids."""
    rng = random.Random(seed)
    messages = []
    for index in range(count):
        tenant = tenants[index % len(tenants)]
        exception = sample_exception(rng, packs, tenant)
        assert isinstance(exception, dict)
        exception["exception_id"] = f"{id_prefix}{tenant}-{index}"
        messages.append((tenant.encode(), exception))
    return messages


def workload_packs(packs_dir: Path, tenants: int, *, prefix: str = "tenant", quota: dict[str, float] | None = None,
                   offline_tools: bool = True) -> tuple[list[dict[str, Any]], list[dict[str, Any]], PackSet]:
    domains, samples = pack_documents(packs_dir)
    docs = cloned_tenants(samples, tenants, prefix=prefix, quota=quota, offline_tools=offline_tools)
    return domains, docs, build_pack_set(domains, docs)
