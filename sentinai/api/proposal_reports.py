"""Proposals from the web view, and their what-if reports, made in the background.

A proposal is answered at once (202); its report re-decides the tenant's exceptions stored in the
``SENTINAI_WHATIF_WINDOW_DAYS`` before the proposal, with the versions it was proposed against
and with the proposal, in a task of the web process. Reports still pending when a web process
stopped are made by the next one at its start.

A web process makes one report at a time, in a thread of its own (not the default executor that
other routes share), taking the waiting tenants in turn; a tenant has at most one report waiting
besides the one being made: a proposal beyond that is a 429 ``busy`` (one tenant's expensive
proposals used to take every thread of the default executor and stall other tenants' what-ifs).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from sentinai.api.errors import ApiError
from sentinai.api.state import POOL, SETTINGS

log = logging.getLogger(__name__)


class ReportQueue:
    """The proposals whose report waits, per tenant (taken in turn), and the one being made."""

    def __init__(self) -> None:
        self.waiting: dict[str, deque[int]] = {}
        self.reserved: set[str] = set()
        self.running: tuple[str, int] | None = None
        self.turn = asyncio.Lock()  # held while a report is made
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="proposal-report")
        self._wake = asyncio.Event()

    def reserve(self, tenant: str) -> None:
        """A place for the tenant's next report, or a 429 when one waits already."""
        if tenant in self.waiting or tenant in self.reserved:
            raise ApiError(429, "busy", f"a what-if report of a proposal of tenant {tenant!r} is waiting to be "
                           "made; propose again when it is made (one waits at a time per tenant)", "body")
        self.reserved.add(tenant)

    def release(self, tenant: str) -> None:
        self.reserved.discard(tenant)

    def add(self, tenant: str, proposal_id: int) -> None:
        self.reserved.discard(tenant)
        self.waiting.setdefault(tenant, deque()).append(proposal_id)
        self._wake.set()

    def _next(self) -> tuple[str, int] | None:
        if not self.waiting:
            return None
        tenant = next(iter(self.waiting))
        ids = self.waiting.pop(tenant)
        proposal_id = ids.popleft()
        if ids:
            self.waiting[tenant] = ids  # to the end: the other tenants come first
        return tenant, proposal_id

    async def work(self, app: web.Application) -> None:
        from sentinai.whatif import make_proposal_report

        while True:
            item = self._next()
            if item is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            self.running = item
            try:
                async with self.turn:
                    await make_proposal_report(app[POOL], *item, window_days=app[SETTINGS].whatif_window_days,
                                               executor=self.executor)
            except Exception:
                log.exception("what-if report of proposal %s of tenant %s failed", item[1], item[0])
            finally:
                self.running = None


REPORTS: web.AppKey[ReportQueue] = web.AppKey("proposal_reports", ReportQueue)


async def propose(request: web.Request, tenant: str, domains: list[dict[str, Any]],
                  tenants: list[dict[str, Any]], *, proposed_by: str, kind: str = "change",
                  comment: str | None = None) -> dict[str, Any]:
    from sentinai.sinks.pack_proposals import ProposalRefused, create_proposal

    queue = request.app[REPORTS]
    queue.reserve(tenant)
    try:
        row = await create_proposal(request.app[POOL], tenant, domains, tenants,
                                    proposed_by=proposed_by, kind=kind, comment=comment)
    except ProposalRefused as err:
        raise ApiError(err.status, err.code, err.message, "body") from None
    finally:
        queue.release(tenant)
    queue.add(tenant, row["id"])
    return row


async def proposal_reports(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: make the reports left pending, and stop the one being made at shutdown."""
    from sentinai.sinks.pack_proposals import pending_reports

    queue = app[REPORTS] = ReportQueue()
    for tenant, proposal_id in await pending_reports(app[POOL]):
        queue.add(tenant, proposal_id)
    worker = asyncio.get_running_loop().create_task(queue.work(app), name="proposal-reports")
    try:
        yield
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        queue.executor.shutdown(wait=False, cancel_futures=True)
