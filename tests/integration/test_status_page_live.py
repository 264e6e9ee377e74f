"""The whole loop as an operator sees it: an exception posted through the API is decided by a real
worker, and its decision appears live on the status page in headless chromium."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from sentinai.settings import Settings
from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.pool import open_pool
from tests.support.browser import DevTools, page_socket
from tests.support.http import call
from tests.support.pipeline import PACKS, Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.browser]


async def _admin_key(database_url: str) -> str:
    async with open_pool(database_url, min_size=1, max_size=1) as pool:
        return await create_api_key(pool, "*", "admin")


def test_posted_exception_is_decided_and_shown_live(make_settings: Callable[..., Settings],
                                                     pipeline_factory: Callable[[Settings], Pipeline],
                                                     chromium: int, tmp_path: Path) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    pipeline.start_worker()
    web = pipeline.start_web()
    key = asyncio.run(_admin_key(pipeline.database_url))

    async def drive() -> str:
        async with aiohttp.ClientSession() as session:
            ws_url = await page_socket(session, chromium)
            async with session.ws_connect(ws_url, max_msg_size=64 * 1024 * 1024) as ws:
                tools = DevTools(ws)
                await tools.call("Page.enable")
                await tools.call("Page.navigate", url=f"{web.url}/?key={key}")
                await tools.wait_for("document.getElementById('stream-state')?.textContent === 'live'")
                posted = await asyncio.to_thread(
                    call, "POST", f"{web.url}/api/v1/tenants/acme-capital/exceptions",
                    headers={"Authorization": f"Bearer {key}"},
                    json_body={"exception_id": "LIVE-1", "exception_type": "SETTLEMENT_FAIL",
                               "source_system": "settlements", "payload": {"failReason": "SSI_MISMATCH"}})
                assert posted.status in (200, 202), posted.body
                row = await tools.wait_for(
                    "(() => { const r = [...document.querySelectorAll('#decision-rows tr')]"
                    ".find(r => r.textContent.includes('LIVE-1')); return r ? r.textContent : null; })()",
                    timeout=60)
                shot = await tools.call("Page.captureScreenshot", format="png")
                (tmp_path / "status-page-live.png").write_bytes(base64.b64decode(shot["data"]))
                return str(row)

    row = asyncio.run(drive())
    assert "LIVE-1" in row and "acme-capital" in row
    print(f"screenshot: {tmp_path / 'status-page-live.png'}")
