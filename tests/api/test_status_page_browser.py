"""Headless chromium opens the status page; a decision produced to the decisions topic appears on it.

Driven over the DevTools protocol (aiohttp websocket), no extra packages. Skips with the reason
when chromium is not installed (Debian: ``apt-get install -y chromium``)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from tests.api.conftest import Web, decision, produce_json
from tests.support.browser import DevTools, page_socket
from tests.support.seed import NEEDS_APPROVAL, RESOLVED_AT_ONCE, decided, store

pytestmark = pytest.mark.browser

async def test_decision_appears_on_status_page(web_env: Web, chromium: int, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    await store(web_env.settings.database_url, decided("acme", "E-1", NEEDS_APPROVAL, at=now),
                decided("globex", "G-1", RESOLVED_AT_ONCE, at=now))
    url = f"http://127.0.0.1:{web_env.settings.web_port}/?key={web_env.keys['root']}"
    async with aiohttp.ClientSession() as session:
        ws_url = await page_socket(session, chromium)
        async with session.ws_connect(ws_url, max_msg_size=64 * 1024 * 1024) as ws:
            tools = DevTools(ws)
            await tools.call("Page.enable")
            await tools.call("Page.navigate", url=url)
            await tools.wait_for("document.getElementById('stream-state')?.textContent === 'live'")
            await tools.wait_for("document.querySelectorAll('#tenants .card').length === 2")
            assert await tools.evaluate("getComputedStyle(document.getElementById('login')).display") == "none"
            assert await tools.evaluate("location.search") == ""  # the key was taken out of the URL
            assert await tools.evaluate("localStorage.getItem('sentinai.apiKey') !== null")
            record = decision("acme", "E-1", decision="auto_resolve", status="RESOLVED")
            await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme", [record])
            row = await tools.wait_for(
                f"(() => {{ const r = document.querySelector('#decision-rows tr[data-event-id=\"{record['event_id']}\"]');"
                " return r ? r.textContent : null; })()")
            assert "E-1" in row and "auto_resolve" in row
            text = await tools.evaluate("document.getElementById('tenant-acme').textContent")
            assert "PENDING_APPROVAL" in text and "CRITICAL" in text
            shot = await tools.call("Page.captureScreenshot", format="png")
            path = tmp_path / "status-page.png"
            path.write_bytes(base64.b64decode(shot["data"]))
            assert path.stat().st_size > 1000
            print(f"screenshot: {path}")  # noqa: T201
