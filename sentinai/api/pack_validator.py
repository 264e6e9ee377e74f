"""Pack validation for uploads, in a child process of the web view.

Compiling a large pack takes seconds of pure Python. In the web process's event loop it would
stall every request; in a thread it still competes for the GIL with the loop (measured: /health
at ~40 ms median and ~280 ms at worst during 1 MB uploads) and leaves the compiled objects'
memory to the web process's allocator. One child process does the work instead: the web process
only sends the documents and receives the issues. The child is replaced after a few uploads so
that its memory is given back too.

The web process sends one validation at a time (in the order asked) and recycles the child itself:
CPython 3.11's ``max_tasks_per_child`` does not replace a retired worker while tasks are queued,
and the executor then hangs for good. A validation that takes longer than ``VALIDATION_SECONDS``
(a child that hangs) has its child killed and answers 503 ``validator_unavailable``; a child
that died is replaced for the next validation.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from aiohttp import web

from sentinai.core.packs.errors import PackIssue, PackValidationError
from sentinai.core.packs.limits import PackLimits

log = logging.getLogger(__name__)

UPLOADS_PER_CHILD = 20
VALIDATION_SECONDS = 120.0
"""A validation running longer is taken for a hung child: the child is killed, the request gets a 503."""

T = TypeVar("T")


class ValidatorUnavailable(Exception):
    """The validation did not finish: its child hung (killed after the timeout) or died."""


def _leave_with(parent: int) -> None:
    """Runs in the child at its start: it exits when the web process is gone, however it went (a
    web process killed with SIGKILL never shuts its executor down, and the child would stay)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="leave-with-parent", daemon=True).start()


class PackValidator:
    """One child process, one call at a time, replaced after ``tasks_per_child`` calls, when it
    died, or when a call outlived ``timeout`` seconds."""

    def __init__(self, *, tasks_per_child: int | None = None, timeout: float | None = None) -> None:
        self.tasks_per_child = tasks_per_child or UPLOADS_PER_CHILD
        self.timeout = timeout or VALIDATION_SECONDS
        self._executor: ProcessPoolExecutor | None = None
        self._calls = 0
        self._turn = asyncio.Lock()  # FIFO: the calls wait in the order they came

    def _fresh(self) -> ProcessPoolExecutor:
        if self._executor is None or self._calls >= self.tasks_per_child:
            self._retire()
            self._executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_leave_with, initargs=(os.getpid(),))
        return self._executor

    def _retire(self, *, kill: bool = False) -> None:
        executor, self._executor, self._calls = self._executor, None, 0
        if executor is None:
            return
        if kill:
            for process in list((getattr(executor, "_processes", None) or {}).values()):
                process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def child_pids(self) -> list[int]:
        """The running child's process id (none before the first call or after a retirement)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return [p.pid for p in processes.values() if p.pid is not None]

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the child; `ValidatorUnavailable` when it hangs or its child dies.

        When the request goes away meanwhile, the child finishes the call (or the next call's
        timeout stops it).
        """
        async with self._turn:
            for attempt in (1, 2):
                executor = self._fresh()
                self._calls += 1
                try:
                    future = executor.submit(fn, *args)
                except (BrokenProcessPool, RuntimeError):
                    # the child died while idle: a new one takes the call
                    self._retire()
                    continue
                try:
                    return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
                except TimeoutError:
                    log.warning("pack validation ran over %.0f s: its child is killed", self.timeout)
                    self._retire(kill=True)
                    raise ValidatorUnavailable(f"the validation ran over {self.timeout:.0f} s and was stopped") from None
                except BrokenProcessPool:
                    self._retire(kill=True)
                    if attempt == 2:
                        raise ValidatorUnavailable("the validation process died twice") from None
                    log.warning("the pack validation child died: a new one takes the call")
        raise ValidatorUnavailable("no validation process could be started")

    def close(self) -> None:
        self._retire(kill=True)


PACK_VALIDATOR: web.AppKey[PackValidator] = web.AppKey("pack_validator", PackValidator)


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
    """Raise `PackValidationError` with every issue, as `build_pack_set` does, or
    `ValidatorUnavailable` when the validation could not finish."""
    issues = await app[PACK_VALIDATOR].run(_validate, domain_docs, tenant_docs, dict(granted), limits)
    if issues:
        raise PackValidationError(issues)


async def pack_validator(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the child process exists while the app runs (started on the first upload)."""
    validator = PackValidator()
    app[PACK_VALIDATOR] = validator
    try:
        yield
    finally:
        validator.close()
