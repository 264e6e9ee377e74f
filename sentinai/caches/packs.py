"""The active packs, loaded from Postgres and reloaded when an active version changes."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from sentinai.core.packs import PackSet, TenantPacks
from sentinai.core.packs.limits import DEFAULT_LIMITS, PackLimits
from sentinai.core.packs.loader import ModelMemo, build_valid_packs
from sentinai.metrics import PACKS_LEFT_OUT
from sentinai.sinks.pack_store import active_pack_documents, active_packs_revision

log = logging.getLogger(__name__)


class PackCache:
    """What the agents and the web view decide with; empty until the first :meth:`refresh`."""

    def __init__(self, limits: PackLimits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._revision: str | None = None
        self._packs = PackSet(domains={}, tenants={})
        self._memo = ModelMemo()
        self._refreshing = asyncio.Lock()  # the memo is one build's at a time

    @property
    def tenants(self) -> dict[str, object]:
        return self._packs.tenants  # type: ignore[return-value]

    def for_tenant(self, tenant_id: str) -> TenantPacks | None:
        return self._packs.for_tenant(tenant_id)

    async def refresh(self, pool: asyncpg.Pool) -> bool:
        """Reload from ``pool`` when the active versions changed; True when something new was loaded."""
        async with self._refreshing:
            return await self._refresh(pool)

    async def _refresh(self, pool: asyncpg.Pool) -> bool:
        revision = await active_packs_revision(pool)
        if revision == self._revision:
            return False
        domains, tenants = await active_pack_documents(pool)
        # In a thread: a large pack's compilation must not hold up the partitions' agents.
        packs, issues = await asyncio.to_thread(build_valid_packs, domains, tenants, source="<active packs>",
                                                limits=self._limits, memo=self._memo)
        if issues:  # stored before a bound was added, say: that tenant is left out, not every tenant
            log.error("active packs left out, they do not validate: %s", "; ".join(str(i) for i in issues))
        PACKS_LEFT_OUT.set(len(issues))
        packs.keep_compiled(self._packs)
        self._packs, self._revision = packs, revision
        log.info("loaded packs revision %s: %d tenants", revision, len(packs.tenants))
        return True
