"""Headless chromium opens the status page; a decision produced to the decisions topic appears on it.

Driven over the DevTools protocol (aiohttp websocket), no extra packages. Skips with the reason
when chromium is not installed (Debian: ``apt-get install -y chromium``)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sentinai.api.state import FEED
from tests.api.conftest import Web, decision, produce_json
from tests.support.browser import opened_page
from tests.support.seed import NEEDS_APPROVAL, RESOLVED_AT_ONCE, decided, store

pytestmark = pytest.mark.browser

async def test_decision_appears_on_status_page(web_env: Web, chromium: int, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    await store(web_env.settings.database_url, decided("acme", "E-1", NEEDS_APPROVAL, at=now),
                decided("globex", "G-1", RESOLVED_AT_ONCE, at=now))
    url = f"http://127.0.0.1:{web_env.settings.web_port}/?key={web_env.keys['root']}"
    async with opened_page(chromium, url) as tools:
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


async def test_status_page_opens_on_recent_history_then_goes_on_live(web_env: Web, chromium: int) -> None:
    await store(web_env.settings.database_url, decided("acme", "E-OLD", NEEDS_APPROVAL, at=datetime.now(UTC)))
    earlier = [decision("acme", f"E-{n}", decision=f"earlier-{n}") for n in range(3)]
    other = decision("globex", "G-1", decision="not-for-acme")
    await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme", earlier)
    await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "globex", [other])
    feed = web_env.app[FEED]
    await _until(lambda: other["event_id"] in {r.event_id for r in feed.ring})
    url = f"http://127.0.0.1:{web_env.settings.web_port}/?key={web_env.keys['acme-viewer']}"
    rows_by_id = ("(() => { const n = {}; for (const r of document.querySelectorAll('#decision-rows tr'))"
                  " n[r.dataset.eventId] = (n[r.dataset.eventId] || 0) + 1; return n; })()")
    async with opened_page(chromium, url) as tools:
        await tools.wait_for(f"document.querySelectorAll('#decision-rows tr').length >= {len(earlier)}")
        await tools.wait_for("document.querySelector('#tenant-acme .recent-exceptions')?.textContent"
                             ".includes('E-OLD')")
        live = decision("acme", "E-LIVE", decision="live-one")
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme", [live])
        await tools.wait_for(f"document.querySelector('#decision-rows tr[data-event-id=\"{live['event_id']}\"]')"
                             " !== null")
        shown = await tools.evaluate(rows_by_id)
    assert shown == {d["event_id"]: 1 for d in [*earlier, live]}  # no gap, no repeat, no other tenant


async def _until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)
