"""The console's packs view: a proposal with its what-if report, approved there by another admin,
and the packs' timeline. Headless chromium over the DevTools protocol."""

from __future__ import annotations

import pytest

from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.pack_store import store_packs
from sentinai.sinks.pool import open_pool
from tests.api.conftest import Web
from tests.api.test_pack_governance import wait_for_report
from tests.api.test_whatif_routes import critical_settlements, seed
from tests.support.browser import open_page

pytestmark = pytest.mark.browser


async def test_a_second_admin_reads_the_report_and_approves_in_the_console(
        web_env: Web, database_url: str, chromium: int) -> None:
    tenant, _, _ = await seed(database_url, count=40)
    status, body = await web_env.send("POST", "/api/v1/tenants/acme/packs/proposals", key="acme-admin",
                                      json={"tenants": [critical_settlements(tenant)], "comment": "settlements are critical"})
    assert status == 202, body
    proposal_id = body["proposal"]["id"]
    report = (await wait_for_report(web_env, proposal_id))["report"]
    second_admin = await create_api_key(web_env.pool, "acme", "admin")
    card = f"document.querySelector('article.proposal[data-proposal=\"{proposal_id}\"]')"
    base = f"http://127.0.0.1:{web_env.settings.web_port}"
    async with open_page(chromium) as tools:
        await tools.call("Page.navigate", url=f"{base}/?key={second_admin}#/packs?tenant=acme")
        text = await tools.wait_for(f"{card}?.textContent.includes('would change') ? {card}.textContent : null")
        assert f"{report['compared']} exceptions: {report['changed']} would change" in text
        assert f"severity {report['changed_by_field']['severity']}" in text and "settlements are critical" in text
        await tools.evaluate(f"document.getElementById('comment-{proposal_id}').value = 'checked the report'")
        await tools.evaluate(f"[...{card}.querySelectorAll('button')].find(b => b.textContent === 'Approve').click()")
        await tools.wait_for("[...document.querySelectorAll('tr.pack-event')].some(r => r.textContent.includes("
                             "'PackChangeApproved'))")
    status, body = await web_env.get(f"/api/v1/tenants/acme/packs/proposals/{proposal_id}", key="acme-viewer")
    assert (body["status"], body["decision_comment"]) == ("approved", "checked the report")
    assert body["decided_by"] == f"api-key:{second_admin.split('_')[1]}"


async def test_the_packs_view_pages_older_versions_in_and_shows_the_active_ones_from_the_first_page(
        web_env: Web, database_url: str, chromium: int) -> None:
    tenant, _, _ = await seed(database_url, count=1)
    async with open_pool(database_url) as pool:
        for i in range(55):  # the domain's version and the first tenant version are on the second page
            await store_packs(pool, [], [{**tenant, "version": f"9.{i}"}], created_by="test")
    section = "document.querySelector('section.pack[data-kind=\"domain\"]')"
    rows = "document.querySelectorAll('section.pack tr[data-version-id]').length"
    base = f"http://127.0.0.1:{web_env.settings.web_port}"
    async with open_page(chromium) as tools:
        await tools.call("Page.navigate", url=f"{base}/?key={await create_api_key(web_env.pool, 'acme', 'viewer')}"
                                              "#/packs?tenant=acme")
        await tools.wait_for("!!document.querySelector('button.load-more')")
        assert await tools.evaluate(rows) == 51  # a page of 50, and the active domain version with it
        assert "active v" in await tools.evaluate(f"{section}.querySelector('h3').textContent")
        assert "active v9.54" in await tools.evaluate(
            "document.querySelector('section.pack[data-kind=\"tenant\"] h3').textContent")
        await tools.evaluate("document.querySelector('button.load-more').click()")
        await tools.wait_for(f"{rows} === 57")  # 56 tenant versions and the domain's
        assert await tools.evaluate("document.querySelector('button.load-more') === null")
        assert await tools.evaluate("document.activeElement.tagName") == "SUMMARY"
