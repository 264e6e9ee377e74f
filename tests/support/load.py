"""Load for scale and chaos tests: many tenants, unique exceptions, some re-sent duplicates."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sentinai.bench import workload
from tests.support.packs import PACKS


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
    _, docs, packs = workload.workload_packs(PACKS, tenants, prefix="load", quota=workload.UNTHROTTLED)
    load = Load(tenants=docs)
    originals = workload.unique_exceptions(packs, [d["tenantId"] for d in docs], exceptions, seed=seed)
    rng = random.Random(seed)
    for message in originals:
        load.messages.append(message)
        if rng.random() < duplicate_share:
            key, dup = rng.choice(load.messages)
            load.messages.append((key, dup))
            load.duplicates[dup["tenant_id"]] += 1
    return load
