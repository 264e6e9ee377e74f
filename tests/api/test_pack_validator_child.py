"""The web view's pack-validation child: it leaves with the web process, even a killed one; a
burst of validations does not hang it; a child that hangs or dies is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from aiohttp import web

from sentinai.api import pack_validator as validator_module
from sentinai.api.pack_validator import (
    PackValidator,
    ValidatorUnavailable,
    validate_packs,
)
from sentinai.core.packs.limits import PackLimits

PARENT = r'''
import asyncio, os
from aiohttp import web
from sentinai.api.pack_validator import PACK_VALIDATOR, pack_validator

async def main() -> None:
    app = web.Application()
    lifecycle = pack_validator(app)
    await anext(lifecycle)
    child = await app[PACK_VALIDATOR].run(os.getpid)
    print(child, flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
'''


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_the_child_exits_when_the_web_process_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())  # type: ignore[union-attr]
        assert child != parent.pid and _running(child)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 15
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _running(child):
        os.kill(child, signal.SIGKILL)
        raise AssertionError(f"the validation child {child} outlived the killed web process")


async def test_a_burst_of_validations_beyond_the_uploads_per_child_is_answered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """CPython 3.11's ``max_tasks_per_child`` hangs for good when a retired worker has tasks queued
    behind it; every validation of a burst longer than a child's share must still be answered."""
    monkeypatch.setattr(validator_module, "UPLOADS_PER_CHILD", 3)
    app = web.Application()
    lifecycle = validator_module.pack_validator(app)
    await anext(lifecycle)
    try:
        burst = [validate_packs(app, [], [], {}, PackLimits()) for _ in range(8)]
        await asyncio.wait_for(asyncio.gather(*burst), 120)
        await asyncio.wait_for(validate_packs(app, [], [], {}, PackLimits()), 60)
    finally:
        await lifecycle.aclose()


async def test_a_hung_child_is_killed_and_a_dead_one_replaced() -> None:
    validator = PackValidator(timeout=5)
    try:
        first = await validator.run(os.getpid)
        os.kill(first, signal.SIGSTOP)  # the child hangs
        try:
            with pytest.raises(ValidatorUnavailable, match="ran over"):
                await asyncio.wait_for(validator.run(os.getpid), 60)
        finally:
            if _running(first):
                os.kill(first, signal.SIGCONT)
        second = await asyncio.wait_for(validator.run(os.getpid), 60)
        assert second != first and not _running(first)
        os.kill(second, signal.SIGKILL)  # the child dies while idle
        while _running(second):
            await asyncio.sleep(0.05)
        third = await asyncio.wait_for(validator.run(os.getpid), 60)
        assert third not in (first, second)
    finally:
        validator.close()
