"""Headless chromium driven over the DevTools protocol (aiohttp websocket), no extra packages.

Tests that use :func:`chromium` skip with the reason when chromium is not installed (Debian:
``apt-get install -y chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sentinai.embedded.process import free_port

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and os.path.exists(p)), None)


class DevTools:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []  # the events the browser sent (of the domains enabled), in order

    def requested(self, fragment: str) -> list[str]:
        """The URLs of the requests so far whose URL holds ``fragment`` (Network enabled before them)."""
        return [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent" and fragment in e["params"]["request"]["url"]]

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        await self.ws.send_json({"id": my_id, "method": method, "params": params})
        while True:
            msg = await asyncio.wait_for(self.ws.receive_json(), 30)
            if "method" in msg:
                self.events.append(msg)
            elif msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result.get("result", {}).get("value")

    async def viewport(self, width: int, height: int) -> None:
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=width < 600)

    async def press_enter(self, selector: str) -> None:
        """Focus the element and press Enter on the keyboard, as a person without a mouse does."""
        found = await self.evaluate(f"(() => {{ const e = document.querySelector({selector!r});"
                                    " if (!e) return false; e.focus(); return document.activeElement === e; })()")
        assert found, f"cannot focus {selector}"
        for kind in ("keyDown", "keyUp"):
            await self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                            windowsVirtualKeyCode=13, nativeVirtualKeyCode=13,
                            **({"text": "\r"} if kind == "keyDown" else {}))

    async def screenshot(self, path: Path, *, width: int, max_height: int = 4000) -> None:
        """The whole page (up to ``max_height`` px) at ``width`` px wide, as PNG, without motion."""
        await self.call("Emulation.setEmulatedMedia",
                        features=[{"name": "prefers-reduced-motion", "value": "reduce"}])
        await self.viewport(width, 900)
        metrics = await self.call("Page.getLayoutMetrics")
        height = min(int(metrics["cssContentSize"]["height"]) + 1, max_height)
        await self.viewport(width, height)
        shot = await self.call("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        await self.viewport(width, 900)

    async def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Poll ``expression`` (a promise is awaited) until it is truthy; its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for: {expression}")
            await asyncio.sleep(0.2)


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[int]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); the status-page browser test needs it")
    port = free_port()
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}",
         f"--remote-debugging-port={port}", "--remote-debugging-address=127.0.0.1",
         "--window-size=1400,1000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "chromium.log").open("wb"), start_new_session=True)
    try:
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@contextlib.asynccontextmanager
async def open_page(port: int) -> AsyncIterator[DevTools]:
    """The first tab of the chromium on DevTools ``port``, with page and runtime events enabled.

    A script error the page did not catch (seen while the test talked to the page) fails the test:
    a person would find that view broken."""
    async with aiohttp.ClientSession() as session:
        ws_url = await page_socket(session, port)
        async with session.ws_connect(ws_url, max_msg_size=64 * 1024 * 1024) as ws:
            tools = DevTools(ws)
            await tools.call("Page.enable")
            await tools.call("Runtime.enable")
            yield tools
            uncaught = [e["params"]["exceptionDetails"] for e in tools.events if e["method"] == "Runtime.exceptionThrown"]
            assert not uncaught, [d.get("exception", {}).get("description") or d.get("text") for d in uncaught]


async def page_socket(session: aiohttp.ClientSession, port: int) -> str:
    for _ in range(100):
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                pages = [p for p in await resp.json() if p.get("type") == "page"]
                if pages:
                    return str(pages[0]["webSocketDebuggerUrl"])
        await asyncio.sleep(0.2)
    raise AssertionError("chromium's DevTools endpoint did not come up")



@contextlib.asynccontextmanager
async def opened_page(port: int, url: str) -> AsyncIterator[DevTools]:
    """Chromium's page navigated to ``url`` with the console's stream live."""
    async with open_page(port) as tools:
        await tools.call("Page.navigate", url=url)
        await tools.wait_for("document.getElementById('stream-state')?.textContent === 'live'")
        yield tools
