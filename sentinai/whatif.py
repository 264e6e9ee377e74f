"""What-if replay: re-decide a tenant's stored exceptions with candidate packs and with the active ones.

Reads PostgreSQL (a server-side cursor, batch by batch), publishes nothing and changes nothing.
Each stored row is turned back into its raw input (`sentinai.core.whatif.stored_input`), normalized
as the intake does, and decided twice with the exception's own ``occurred_at`` as ``now``; the
pure report (`sentinai.core.whatif.WhatIfReport`) counts what would change.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from sentinai.core.engine import decide
from sentinai.core.models import NormalizedException
from sentinai.core.normalize import RejectedInput, normalize
from sentinai.core.packs import PackIssue, PackValidationError, TenantPacks, build_pack_set
from sentinai.core.whatif import WhatIfReport, merge_documents, stored_input
from sentinai.sinks.pack_store import active_pack_documents
from sentinai.sinks.stored_exceptions import StoredException, stored_exceptions

Documents = list[dict[str, Any]]
log = logging.getLogger(__name__)


def tenant_packs(domains: Documents, tenants: Documents, tenant_id: str, *,
                 source: str) -> TenantPacks:
    """The compiled packs of one tenant; `PackValidationError` when its documents are not valid.
    Only the tenant's pack and its domain's are compiled, not every tenant's."""
    own = [d for d in tenants if d.get("tenantId") == tenant_id]
    names = {d.get("domainName") for d in own}
    packs = build_pack_set([d for d in domains if d.get("domainName") in names], own,
                           source=source).for_tenant(tenant_id)
    if packs is None:
        raise PackValidationError([PackIssue(f"{source}/tenants", "",
                                             f"no tenant pack for tenant {tenant_id!r}")])
    return packs


async def active_and_candidate(pool: asyncpg.Pool, tenant_id: str, domains: Documents,
                               tenants: Documents) -> tuple[TenantPacks, TenantPacks]:
    """The tenant's active packs, and the candidate: the active documents with the given ones
    replacing those of the same name. Raises `PackValidationError` for an invalid candidate."""
    active_domains, active_tenants = await active_pack_documents(pool)

    def compile_both() -> tuple[TenantPacks, TenantPacks]:
        # Compiling takes a while for large packs: off the event loop, as uploads are.
        active = tenant_packs(active_domains, active_tenants, tenant_id, source="<active>")
        candidate = tenant_packs(merge_documents(active_domains, domains, "domainName"),
                                 merge_documents(active_tenants, tenants, "tenantId"), tenant_id,
                                 source="<candidate>")
        return active, candidate

    return await asyncio.to_thread(compile_both)


def restored(tenant_id: str, row: StoredException) -> NormalizedException:
    """The stored exception normalized again, as the intake normalized it; `RejectedInput` if not."""
    if row.raw_payload is None:
        raise RejectedInput("stored without its raw payload")
    # the standard library, not orjson: it reads an integer beyond 64 bits (the limits allow 40 digits) as a float
    context = json.loads(row.normalized_context) if row.normalized_context else None
    raw = stored_input(tenant_id, row.exception_id, source_system=row.source_system,
                       stored_type=row.exception_type, payload=json.loads(row.raw_payload),
                       normalized_context=context)
    # Its size and its values were checked when it came in; checking again would cost more than deciding it.
    size = len(row.raw_payload) + len(row.normalized_context or "")
    return normalize(raw, now=row.created_at, raw_size=size, within_limits=True)


def _compare(report: WhatIfReport, tenant_id: str, rows: Sequence[StoredException],
             active: TenantPacks, candidate: TenantPacks) -> None:
    for row in rows:
        try:
            exception = restored(tenant_id, row)
        except RejectedInput as err:
            report.skip(str(err))
            continue
        now = exception.occurred_at
        report.add(exception.exception_id, now, decide(exception, active, now=now),
                   decide(exception, candidate, now=now))


async def run_whatif(pool: asyncpg.Pool, tenant_id: str, active: TenantPacks,
                     candidate: TenantPacks, since: datetime, until: datetime, *,
                     max_changed: int = 100, batch_size: int = 2000,
                     abandoned: Callable[[], bool] = lambda: False,
                     executor: Executor | None = None) -> WhatIfReport:
    """The report over the tenant's exceptions first stored in ``[since, until)``.

    Each batch is decided in a thread: the loop meanwhile fetches the next batch (the server's
    share of the work runs beside the decisions) and a web server keeps answering. When
    ``abandoned()`` (the client went away) the work stops after the batch in hand. ``executor``:
    where the batches are decided (by default the loop's default executor).
    """
    report = WhatIfReport(max_changed=max_changed)
    async for rows in stored_exceptions(pool, tenant_id, since, until, batch_size=batch_size):
        if abandoned():
            log.info("what-if of tenant %s abandoned by its client after %d exceptions", tenant_id, report.compared)
            break
        await asyncio.get_running_loop().run_in_executor(executor, _compare, report, tenant_id, rows,
                                                         active, candidate)
    return report


async def make_proposal_report(pool: asyncpg.Pool, tenant_id: str, proposal_id: int, *,
                               window_days: float, executor: Executor | None = None) -> None:
    """Store the what-if report of a proposal: the tenant's exceptions stored in the
    ``window_days`` before it, decided by the versions it was proposed against and by it (the
    compiling and deciding in ``executor``, by default the loop's default executor)."""
    from sentinai.sinks.pack_proposals import base_documents, get_proposal, store_report

    proposal = await get_proposal(pool, tenant_id, proposal_id)
    if proposal is None:
        return
    until = proposal["proposed_at"]
    since = until - timedelta(days=window_days)
    base_domains, base_tenants = await base_documents(pool, proposal)
    documents = proposal["documents"]

    def compile_both() -> tuple[TenantPacks, TenantPacks]:
        active = tenant_packs(base_domains, base_tenants, tenant_id, source="<active>")
        candidate = tenant_packs(merge_documents(base_domains, documents["domains"], "domainName"),
                                 merge_documents(base_tenants, documents["tenants"], "tenantId"),
                                 tenant_id, source="<proposal>")
        return active, candidate

    try:
        active, candidate = await asyncio.get_running_loop().run_in_executor(executor, compile_both)
        report = await run_whatif(pool, tenant_id, active, candidate, since, until, executor=executor)
    except PackValidationError as err:
        await store_report(pool, proposal_id, report=None, error=str(err))
        return
    except Exception as err:
        log.exception("what-if report of proposal %s failed", proposal_id)
        await store_report(pool, proposal_id, report=None, error=f"{type(err).__name__}: {err}")
        return
    await store_report(pool, proposal_id, report={"since": since.isoformat(),
                                                  "until": until.isoformat(), **report.as_json()})
