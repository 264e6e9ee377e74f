"""The intake quota of each tenant: a token bucket in memory, written to the table when it matters.

Taking a token changes the bucket on every exception; writing it to the changelog-backed table
each time would cost one changelog message per exception. The bucket lives in memory instead and
reaches the table when throttling starts or ends: what a worker that takes the tenant's partition
over must know to keep throttling. After a rebalance the memory is dropped and the table read
again, so a tenant may get up to one bucket's worth of tokens twice after a failover; over quota
is still deferred, never dropped.
"""

from __future__ import annotations

import math
from typing import Any

from sentinai.metrics import QUOTA_TOKENS
from sentinai.tables import tenant_state


class IntakeQuota:
    def __init__(self, tenants_table: Any) -> None:
        self._table = tenants_table
        self._buckets: dict[str, dict[str, float]] = {}

    def take(self, tenant: str, *, rate: float, burst: float, now_epoch: float,
             max_debt: float = math.inf) -> tuple[bool, dict[str, float], float]:
        """One token of ``tenant``'s bucket: (allowed now, the bucket after, seconds until its slot;
        infinite when ``max_debt`` messages already wait)."""
        bucket = self._buckets.get(tenant)
        state = self._table.get(tenant) if bucket is None else None
        if bucket is None:
            bucket = tenant_state.bucket(state, "quota")
        allowed, new, wait = tenant_state.take_token(bucket, rate=rate, burst=burst, now_epoch=now_epoch,
                                                     max_debt=max_debt)
        self._buckets[tenant] = new
        QUOTA_TOKENS.labels(tenant).set(new["tokens"])
        if state is None:
            state = self._table.get(tenant)
        if bool(state and state.get("throttled")) == allowed:  # throttling starts or ends
            self._table[tenant] = tenant_state.with_throttling(state, new, throttled=not allowed)
        return allowed, new, wait

    def forget(self) -> None:
        """Partitions moved: the table is the truth again."""
        self._buckets.clear()
