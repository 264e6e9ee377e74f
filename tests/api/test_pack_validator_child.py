"""The web view's pack-validation child leaves with the web process, even a killed one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

PARENT = r'''
import asyncio, os
from aiohttp import web
from sentinai.api.pack_validator import PACK_VALIDATOR, pack_validator

async def main() -> None:
    app = web.Application()
    lifecycle = pack_validator(app)
    await anext(lifecycle)
    child = await asyncio.get_running_loop().run_in_executor(app[PACK_VALIDATOR], os.getpid)
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
