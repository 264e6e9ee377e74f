"""The worker's retention round: every tenant's ``retentionPolicies.dataTTL`` applied, one worker at a time.

The deleting itself is :mod:`sentinai.sinks.retention`'s; this takes the TTLs from the active packs
(so a pack that changes its TTL applies from the next round) and counts what went.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import asyncpg

from sentinai.caches.packs import PackCache
from sentinai.metrics import RETENTION_DELETED
from sentinai.sinks.retention import apply_retention_exclusively

log = logging.getLogger(__name__)

_COUNTS = (("exceptions", "exceptions_deleted"), ("exception_events", "events_deleted"),
           ("approvals", "approvals_deleted"), ("tool_executions", "tool_executions_deleted"))


async def apply_tenant_retention(pool: asyncpg.Pool, packs: PackCache, *, now: datetime) -> list[dict[str, Any]] | None:
    """One round over the tenants with an active pack; None when another worker is running one."""
    ttl_days = {tenant_id: pack.retention_policies.data_ttl for tenant_id, pack in packs.tenants.items()}
    runs = await apply_retention_exclusively(pool, ttl_days_by_tenant=ttl_days, now=now)
    for run in runs or ():
        for table, key in _COUNTS:
            RETENTION_DELETED.labels(run["tenant_id"], table).inc(run[key])
        if run["exceptions_deleted"] or run["events_deleted"]:
            log.info("retention: tenant %s, older than %s: %d exceptions, %d events, %d approvals, "
                     "%d tool executions deleted", run["tenant_id"], run["cutoff"].isoformat(),
                     run["exceptions_deleted"], run["events_deleted"], run["approvals_deleted"],
                     run["tool_executions_deleted"])
    return runs
