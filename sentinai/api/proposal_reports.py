"""Proposals from the web view, and their what-if reports, made in the background.

A proposal is answered at once (202); its report re-decides the tenant's exceptions stored in the
``SENTINAI_WHATIF_WINDOW_DAYS`` before the proposal, with the versions it was proposed against
and with the proposal, in a task of the web process. Reports still pending when a web process
stopped are made by the next one at its start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from aiohttp import web

from sentinai.api.errors import ApiError
from sentinai.api.state import POOL, SETTINGS
from sentinai.core.packs import PackValidationError
from sentinai.core.whatif import merge_documents

log = logging.getLogger(__name__)

REPORTS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("proposal_reports", set)


async def propose(request: web.Request, tenant: str, domains: list[dict[str, Any]],
                  tenants: list[dict[str, Any]], *, proposed_by: str, kind: str = "change",
                  comment: str | None = None) -> dict[str, Any]:
    from sentinai.sinks.pack_proposals import ProposalRefused, create_proposal

    try:
        row = await create_proposal(request.app[POOL], tenant, domains, tenants,
                                    proposed_by=proposed_by, kind=kind, comment=comment)
    except ProposalRefused as err:
        raise ApiError(err.status, err.code, err.message, "body") from None
    schedule_report(request.app, tenant, row["id"])
    return row


def schedule_report(app: web.Application, tenant: str, proposal_id: int) -> None:
    task = asyncio.get_running_loop().create_task(_make_report(app, tenant, proposal_id))
    app[REPORTS].add(task)
    task.add_done_callback(app[REPORTS].discard)


async def _make_report(app: web.Application, tenant: str, proposal_id: int) -> None:
    from sentinai.sinks.pack_proposals import base_documents, get_proposal, store_report
    from sentinai.whatif import run_whatif, tenant_packs

    pool = app[POOL]
    proposal = await get_proposal(pool, tenant, proposal_id)
    if proposal is None:
        return
    until = proposal["proposed_at"]
    since = until - timedelta(days=app[SETTINGS].whatif_window_days)
    base_domains, base_tenants = await base_documents(pool, proposal)
    documents = proposal["documents"]
    try:
        active = tenant_packs(base_domains, base_tenants, tenant, source="<active>")
        candidate = tenant_packs(merge_documents(base_domains, documents["domains"], "domainName"),
                                 merge_documents(base_tenants, documents["tenants"], "tenantId"),
                                 tenant, source="<proposal>")
        report = await run_whatif(pool, tenant, active, candidate, since, until)
    except PackValidationError as err:
        await store_report(pool, proposal_id, report=None, error=str(err))
        return
    except Exception as err:
        log.exception("what-if report of proposal %s failed", proposal_id)
        await store_report(pool, proposal_id, report=None, error=f"{type(err).__name__}: {err}")
        return
    await store_report(pool, proposal_id, report={"since": since.isoformat(), "until": until.isoformat(),
                                                  **report.as_json()})


async def proposal_reports(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: make the reports left pending, and cancel those still running at shutdown."""
    from sentinai.sinks.pack_proposals import pending_reports

    app[REPORTS] = set()
    for tenant, proposal_id in await pending_reports(app[POOL]):
        schedule_report(app, tenant, proposal_id)
    yield
    for task in list(app[REPORTS]):
        task.cancel()
    await asyncio.gather(*app[REPORTS], return_exceptions=True)
