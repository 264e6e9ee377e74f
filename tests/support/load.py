"""Load for scale and chaos tests: many tenants, unique exceptions, some re-sent duplicates."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sentinai.core.packs import build_pack_set
from sentinai.samples import sample_exception
from tests.support.packs import cloned_tenants, sample_documents

HIGH_QUOTA = {"exceptionsPerSecond": 100_000, "burst": 100_000}


@dataclass
class Load:
    tenants: list[dict[str, Any]]
    messages: list[tuple[bytes, dict[str, Any]]] = field(default_factory=list)
    duplicates: Counter[str] = field(default_factory=Counter)

    @property
    def exception_ids(self) -> set[tuple[str, str]]:
        return {(m["tenant_id"], m["exception_id"]) for _, m in self.messages}

    def per_tenant(self) -> Counter[str]:
        return Counter(tenant for tenant, _ in self.exception_ids)


def make_load(*, tenants: int, exceptions: int, duplicate_share: float = 0.05, seed: int = 7) -> Load:
    docs = cloned_tenants(tenants, quota=HIGH_QUOTA, prefix="load")
    domains, _ = sample_documents()
    packs = build_pack_set(domains, docs)
    rng = random.Random(seed)
    load = Load(tenants=docs)
    originals: list[tuple[bytes, dict[str, Any]]] = []
    for index in range(exceptions):
        tenant = docs[index % tenants]["tenantId"]
        exc = sample_exception(rng, packs, tenant)
        assert isinstance(exc, dict)
        exc["exception_id"] = f"{tenant}-{index}"
        originals.append((tenant.encode(), exc))
        load.messages.append(originals[-1])
        if rng.random() < duplicate_share:
            key, dup = rng.choice(originals)
            load.messages.append((key, dup))
            load.duplicates[dup["tenant_id"]] += 1
    return load
