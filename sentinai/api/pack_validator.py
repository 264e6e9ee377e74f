"""Pack validation for uploads, in a child process of the web view.

Compiling a large pack takes seconds of pure Python. In the web process's event loop it would
stall every request; in a thread it still competes for the GIL with the loop (measured: /health
at ~40 ms median and ~280 ms at worst during 1 MB uploads) and leaves the compiled objects'
memory to the web process's allocator. One child process does the work instead: the web process
only sends the documents and receives the issues. The child is replaced after a few uploads so
that its memory is given back too.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Collection, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from aiohttp import web

from sentinai.core.packs.errors import PackIssue, PackValidationError
from sentinai.core.packs.limits import PackLimits

UPLOADS_PER_CHILD = 20

PACK_VALIDATOR: web.AppKey[ProcessPoolExecutor] = web.AppKey("pack_validator", ProcessPoolExecutor)


def _leave_with(parent: int) -> None:
    """Runs in the child at its start: it exits when the web process is gone, however it went (a
    web process killed with SIGKILL never shuts its executor down, and the child would stay)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="leave-with-parent", daemon=True).start()


def _validate(domain_docs: list[dict[str, Any]], tenant_docs: list[dict[str, Any]],
              granted: Mapping[str, Collection[str]], limits: PackLimits) -> list[PackIssue]:
    """Runs in the child: every issue of the merged documents (empty when they are valid)."""
    from sentinai.core.packs import build_pack_set

    try:
        build_pack_set(domain_docs, tenant_docs, source="<request>", limits=limits,
                       granted_secrets=lambda tenant: granted.get(tenant, ()))
    except PackValidationError as error:
        return error.issues
    return []


async def validate_packs(app: web.Application, domain_docs: list[dict[str, Any]],
                         tenant_docs: list[dict[str, Any]], granted: Mapping[str, Collection[str]],
                         limits: PackLimits) -> None:
    """Raise `PackValidationError` with every issue, as `build_pack_set` does."""
    loop = asyncio.get_running_loop()
    issues = await loop.run_in_executor(app[PACK_VALIDATOR], _validate, domain_docs, tenant_docs,
                                        dict(granted), limits)
    if issues:
        raise PackValidationError(issues)


async def pack_validator(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the child process exists while the app runs (started on the first upload)."""
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                   max_tasks_per_child=UPLOADS_PER_CHILD, initializer=_leave_with,
                                   initargs=(os.getpid(),))
    app[PACK_VALIDATOR] = executor
    try:
        yield
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
