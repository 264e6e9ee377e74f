"""Proposals from the web view, and their what-if reports, made in the background.

A proposal is answered at once (202); its report re-decides the tenant's exceptions stored in the
``SENTINAI_WHATIF_WINDOW_DAYS`` before the proposal, with the versions it was proposed against
and with the proposal, in a task of the web process. Reports still pending when a web process
stopped are made by the next one at its start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from sentinai.api.errors import ApiError
from sentinai.api.state import POOL, SETTINGS

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
    from sentinai.whatif import make_proposal_report

    await make_proposal_report(app[POOL], tenant, proposal_id,
                               window_days=app[SETTINGS].whatif_window_days)


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
