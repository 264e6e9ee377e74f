"""Repeated large pack uploads keep the web process's memory flat (issue 16).

Ten PUTs of a distinct ~1 MB tenant pack each (hundreds of distinct conditions) through a real
`sentinai web`: the validation runs in the web view's child process, so what the web process
holds afterwards is what it held before, within 20 %.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
import pytest

from sentinai.bench.packs import TENANT, large_pack, rss_bytes
from sentinai.settings import Settings
from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.pool import open_pool
from tests.support.pipeline import PACKS, Pipeline

pytestmark = pytest.mark.integration


async def _upload(url: str, key: str, uploads: range) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
        for i in uploads:
            async with session.put(f"{url}/api/v1/tenants/{TENANT}/packs", json=large_pack(i)) as resp:
                assert resp.status == 200, await resp.text()


def test_ten_large_uploads_leave_the_web_process_memory_flat(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))

    async def admin_key() -> str:
        async with open_pool(pipeline.database_url, min_size=1, max_size=1) as pool:
            return await create_api_key(pool, "*", "admin")

    key = asyncio.run(admin_key())
    web = pipeline.start_web()
    assert len(json.dumps(large_pack(0))) > 900_000
    asyncio.run(_upload(web.url, key, range(1)))  # the first upload starts the validator child process
    assert web.process is not None
    before = rss_bytes(web.process.pid)
    asyncio.run(_upload(web.url, key, range(1, 11)))
    after = rss_bytes(web.process.pid)
    assert after <= 1.2 * before, (before, after)
