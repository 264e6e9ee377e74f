"""Headless chromium opens the status page; a decision produced to the decisions topic appears on it.

Driven over the DevTools protocol (aiohttp websocket), no extra packages. Skips with the reason
when chromium is not installed (Debian: ``apt-get install -y chromium``)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.api.conftest import Web, decision, produce_json
from tests.support.browser import DevTools, page_socket

pytestmark = pytest.mark.browser


@asynccontextmanager
async def status_page(web_env: Web, chromium: int) -> AsyncIterator[DevTools]:
    """The status page opened with the root key in a fresh chromium page."""
    url = f"http://127.0.0.1:{web_env.settings.web_port}/?key={web_env.keys['root']}"
    async with aiohttp.ClientSession() as session:
        ws_url = await page_socket(session, chromium)
        async with session.ws_connect(ws_url, max_msg_size=64 * 1024 * 1024) as ws:
            tools = DevTools(ws)
            await tools.call("Page.enable")
            await tools.call("Page.navigate", url=url)
            yield tools

async def test_decision_appears_on_status_page(web_env: Web, chromium: int, tmp_path: Path) -> None:
    await web_env.pool.execute(
        "INSERT INTO exceptions (tenant_id, exception_id, severity, status, version) "
        "VALUES ('acme', 'E-1', 'HIGH', 'TRIAGED', 1), ('globex', 'G-1', 'LOW', 'RESOLVED', 1)")
    async with status_page(web_env, chromium) as tools:
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
        assert "TRIAGED" in text and "HIGH" in text
        shot = await tools.call("Page.captureScreenshot", format="png")
        path = tmp_path / "status-page.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        assert path.stat().st_size > 1000
        print(f"screenshot: {path}")  # noqa: T201


async def test_a_pack_proposal_and_its_report_show_on_the_status_page(
        web_env: Web, database_url: str, chromium: int) -> None:
    from tests.api.test_pack_governance import wait_for_report
    from tests.api.test_whatif_routes import critical_settlements, seed

    tenant, _, _ = await seed(database_url, count=40)
    status, body = await web_env.send("POST", "/api/v1/tenants/acme/packs/proposals", key="acme-admin",
                                      json={"tenants": [critical_settlements(tenant)], "comment": "raise"})
    assert status == 202, body
    proposal_id = body["proposal"]["id"]
    report = (await wait_for_report(web_env, proposal_id))["report"]
    async with status_page(web_env, chromium) as tools:
        line = await tools.wait_for(
            f"document.querySelector('#tenant-acme li.proposal[data-proposal=\"{proposal_id}\"]')"
            "?.textContent.includes('would change') ? "
            f"document.querySelector('#tenant-acme li.proposal[data-proposal=\"{proposal_id}\"]').textContent : null")
        assert f"{report['changed']} of {report['compared']} would change" in line
        assert f"severity {report['changed_by_field']['severity']}" in line
        events = await tools.evaluate(
            "[...document.querySelectorAll('#tenant-acme li.pack-event')].map(e => e.textContent).join('|')")
        assert "PackChangeProposed" in events and "PackVersionActivated by migrate" in events
