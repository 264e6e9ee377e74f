"""The console in headless chromium over the web view alone (records produced and rows inserted by
the test): decision records of both shapes — with `stages`, and one record per stage — update the
open list and the overview; the timeline shows evidence, confidence and the explanation; a comment
being typed survives a live update; the tenant chosen by an admin key for every tenant is in the
links, also to another tenant's exception on the overview; the page keeps its strict CSP; a row that
no longer fits the list's filter leaves it; a stream that cannot resume draws the open list again."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from sentinai.api.app import create_app
from tests.api.conftest import Web, decision, produce_json
from tests.support.browser import open_page

pytestmark = pytest.mark.browser


async def _seed(web_env: Web) -> None:
    await web_env.pool.execute(
        "INSERT INTO exceptions (tenant_id, exception_id, exception_type, severity, status, version, raw_payload) "
        "VALUES ('acme', 'E-1', 'SETTLEMENT_FAIL', 'HIGH', 'TRIAGED', 2, '{\"orderId\": \"ORD-9\"}'), "
        "('globex', 'G-1', 'CASH_BREAK', 'LOW', 'TRIAGED', 1, '{}')")
    await web_env.pool.execute(
        "INSERT INTO exception_events (event_id, tenant_id, exception_id, event_type, actor_type, actor_id, "
        "payload, occurred_at) VALUES "
        "('t1', 'acme', 'E-1', 'TriageCompleted', 'agent', 'decide', $1, now() - interval '2 s'), "
        "('x1', 'acme', 'E-1', 'DecisionExplained', 'agent', 'llm', $2, now() - interval '1 s'), "
        "('a1', 'acme', 'E-1', 'ApprovalRequested', 'agent', 'decide', $3, now())",
        json.dumps({"decision": {"stage": "triage", "decision": "classified", "confidence": 0.83,
                                 "evidence": ["failReason SSI_MISMATCH"], "next_step": "policy"}}),
        json.dumps({"explanation": "The settlement failed on mismatched instructions.", "model": "m-1"}),
        json.dumps({"approval": {"approval_id": "ap-1", "status": "PENDING", "reason": "policy requires human approval",
                                 "expires_at": "2099-01-01T00:00:00+00:00"}}))


async def _asked_for_the_answer(tools: Any, *, since: int) -> None:
    """Until the page, after its command's POST (requests from ``tools.events[since]`` on), has
    fetched the exception again: it is then in its wait for the stream's answer."""
    deadline = asyncio.get_running_loop().time() + 20

    def requests() -> list[tuple[str, str]]:
        return [(e["params"]["request"]["method"], e["params"]["request"]["url"]) for e in tools.events[since:]
                if e["method"] == "Network.requestWillBeSent"]

    while True:
        sent = requests()
        posted = next((i for i, (method, _) in enumerate(sent) if method == "POST"), None)
        if posted is not None and any(method == "GET" and url.split("?")[0].endswith("/exceptions/E-1")
                                      for method, url in sent[posted + 1:]):
            return
        assert asyncio.get_running_loop().time() < deadline, f"the page never asked for the answer: {sent}"
        await tools.evaluate("0")  # the page's network events arrive with the answers
        await asyncio.sleep(0.1)


async def test_console_reads_both_record_shapes_and_the_timeline(web_env: Web, chromium: int) -> None:
    await _seed(web_env)
    base = f"http://127.0.0.1:{web_env.settings.web_port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/") as resp:
            csp = resp.headers["Content-Security-Policy"]
            html = await resp.text()
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert '<script type="module" src="/static/app.js"></script>' in html and "<script>" not in html
    async with open_page(chromium) as tools:
        await tools.call("Network.enable")
        await tools.call("Page.navigate", url=f"{base}/?key={web_env.keys['root']}#/exceptions?tenant=acme")
        await tools.wait_for("document.getElementById('stream-state')?.textContent === 'live'")
        await tools.wait_for("!!document.querySelector('#exception-rows tr[data-exception-id=\"E-1\"]')")
        assert await tools.evaluate("document.getElementById('tenant').value") == "acme"
        # no worker runs beside this web view: the header says so, so a command left unanswered is explained
        assert await tools.wait_for("document.getElementById('health').textContent.includes('no worker running')"
                                    " && document.getElementById('health').className === 'pill warn'")
        # the stream's key is an HttpOnly cookie, not in its URL (which a failed connection prints)
        streams = tools.requested("/decisions/stream")
        assert streams and not [url for url in streams if "access_token" in url or web_env.keys["root"] in url]
        cookies = (await tools.call("Network.getCookies", urls=[f"{base}/api/v1/decisions/stream"]))["cookies"]
        assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [("sentinai_stream", True, "Strict")]
        assert "sentinai_stream" not in await tools.evaluate("document.cookie")
        assert "tenant=acme" in await tools.evaluate(
            "document.querySelector('#exception-rows a').getAttribute('href')")
        assert await tools.evaluate("document.querySelectorAll('#exception-rows tr').length") == 1

        combined = decision("acme", "E-1", status="PENDING_APPROVAL", severity="CRITICAL", stages=[
            {"stage": "triage", "decision": "classified", "confidence": 0.9, "evidence": [], "next_step": "policy"},
            {"stage": "policy", "decision": "require_approval", "confidence": 1.0, "evidence": [],
             "next_step": "playbook"}])
        single = decision("acme", "E-2", status="TRIAGED", severity="LOW")  # the earlier release's shape:
        single.update(single.pop("stages")[0])  # one stage per record, at the top level
        other = decision("globex", "G-2", status="TRIAGED")
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme", [combined, single])
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "globex", [other])
        await tools.wait_for("!!document.querySelector('#exception-rows tr[data-exception-id=\"E-2\"]')")
        row = await tools.wait_for(
            "(() => { const r = document.querySelector('#exception-rows tr[data-exception-id=\"E-1\"]');"
            " return r.textContent.includes('PENDING_APPROVAL') ? r.textContent : null; })()")
        assert "CRITICAL" in row
        await tools.wait_for(f"!!document.querySelector('#decision-rows tr[data-event-id=\"{other['event_id']}\"]')")
        assert not await tools.evaluate("!!document.querySelector('#exception-rows tr[data-exception-id=\"G-2\"]')")
        assert "tenant=globex" in await tools.evaluate(  # the overview shows every tenant's decisions
            f"document.querySelector('#decision-rows tr[data-event-id=\"{other['event_id']}\"] a').getAttribute('href')")
        stages = await tools.evaluate(
            f"document.querySelector('#decision-rows tr[data-event-id=\"{combined['event_id']}\"]').textContent")
        assert "triage: classified → policy: require_approval" in stages
        assert "triage: classified" in await tools.evaluate(
            f"document.querySelector('#decision-rows tr[data-event-id=\"{single['event_id']}\"]').textContent")

        await tools.evaluate("location.hash = '#/exceptions/E-1?tenant=acme'")
        timeline = await tools.wait_for("document.getElementById('timeline')?.textContent")
        assert "failReason SSI_MISMATCH" in timeline and "confidence 0.83" in timeline
        assert "The settlement failed on mismatched instructions." in timeline and "m-1" in timeline
        assert "ORD-9" in await tools.evaluate("document.querySelector('#raw pre.json').textContent")

        await tools.evaluate("(() => { const t = document.querySelector('#approval textarea'); t.focus();"
                             " t.value = 'checking the file'; t.dispatchEvent(new Event('input')); })()")
        await web_env.pool.execute("UPDATE exceptions SET version = 3 WHERE tenant_id = 'acme' AND exception_id = 'E-1'")
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme",
                           [decision("acme", "E-1", status="PENDING_APPROVAL")])
        await tools.wait_for("!!document.querySelector('#fields[data-version=\"3\"]')")
        assert await tools.evaluate("document.querySelector('#approval textarea').value") == "checking the file"
        await tools.wait_for("document.activeElement === document.querySelector('#approval textarea')")

        # no worker runs here to answer: the page says the command is queued, and tells the answer
        # when the stream gives it later
        await web_env.pool.execute("INSERT INTO approvals (tenant_id, approval_id, exception_id, status, requested_at) "
                                   "VALUES ('acme', 'ap-1', 'E-1', 'PENDING', now())")
        # The page waits 30 s by its clock (Date.now) for the stream's answer. Once it has sent the
        # command and asked for the answer (a GET of the exception after the POST), its clock is
        # moved on by those 30 s, so the test does not wait them out; the page decides all the same.
        await tools.evaluate("(() => { const now = Date.now.bind(Date); window.testClockSkew = 0;"
                             " Date.now = () => now() + window.testClockSkew; })()")
        clicked = len(tools.events)
        await tools.evaluate("document.querySelector('#approval button.approve').click()")
        await _asked_for_the_answer(tools, since=clicked)
        await tools.evaluate("window.testClockSkew = 30000")
        await tools.wait_for("document.querySelector('main .notice')?.textContent.includes('the command is queued')",
                             timeout=45)
        # and does not offer the approval again meanwhile
        assert await tools.wait_for("[...document.querySelectorAll('#approval button')].every(b => b.disabled)"
                                    " && document.querySelector('#approval .queued')?.textContent")
        await web_env.pool.execute("UPDATE exceptions SET version = 4, status = 'IN_PROGRESS' "
                                   "WHERE tenant_id = 'acme' AND exception_id = 'E-1'")
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme",
                           [decision("acme", "E-1", status="IN_PROGRESS")])
        told = await tools.wait_for("(t => t.includes('has answered since') && t)"
                                    "(document.querySelector('main .notice').textContent)")
        assert "E-1: the stream has answered since: status IN_PROGRESS" in told, told

        # an exception without an approval: its page shows sections only (no stray "null")
        await tools.evaluate("location.hash = '#/exceptions/G-1?tenant=globex'")
        await tools.wait_for("!!document.querySelector('#fields')")
        assert await tools.evaluate("[...document.querySelector('.detail').childNodes].map(n => n.nodeName)") == [
            "SECTION", "SECTION", "SECTION", "SECTION", "SECTION"]

        # forgetting the key clears the stream's cookie too
        await tools.evaluate("document.getElementById('forget').click()")
        await tools.wait_for("fetch('/api/v1/decisions/stream?history=0').then(r => r.status === 401)")
        assert not (await tools.call("Network.getCookies", urls=[f"{base}/api/v1/decisions/stream"]))["cookies"]

        # the next key sees what it may see, nothing the previous key left on the page
        await tools.evaluate(f"document.getElementById('key').value = {web_env.keys['acme-viewer']!r};"
                             " document.getElementById('login').requestSubmit()")
        await tools.wait_for("document.getElementById('who').textContent.includes('viewer')")
        await tools.evaluate("location.hash = '#/status'")
        await tools.wait_for("!!document.getElementById('tenant-acme')")
        assert await tools.evaluate("[...document.querySelectorAll('#tenants > *')].map(c => c.id)") == ["tenant-acme"]
        assert await tools.evaluate("[...document.querySelectorAll('#decision-rows tr')]"
                                    ".every(r => r.children[1].textContent === 'acme')")
        assert await tools.evaluate("document.querySelectorAll('#decision-rows tr').length") >= 1


async def test_the_open_list_is_drawn_again_when_the_stream_cannot_resume(web_env: Web, chromium: int) -> None:
    """The web view restarts while the console is open, and more decisions come in meanwhile than
    a web view reads back when it starts. The browser reconnects after the last record it saw, which
    the new web view no longer has, and is told so (``reset``): the open list is drawn again from
    the database, so an exception decided while the console was away is on it."""
    base = f"http://127.0.0.1:{web_env.settings.web_port}"
    row = "!!document.querySelector('#exception-rows tr[data-exception-id=\"{}\"]')"
    async with open_page(chromium) as tools:
        await tools.call("Page.navigate", url=f"{base}/?key={web_env.keys['acme-viewer']}#/exceptions")
        await tools.wait_for("document.getElementById('stream-state')?.textContent === 'live'")
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme", [decision("acme", "E-1")])
        await tools.wait_for(row.format("E-1"))

        await web_env.client.close()
        await tools.wait_for("document.getElementById('stream-state').textContent === 'reconnecting'")
        # meanwhile the worker decided E-9 (the sink stored it) and 250 more after it: the new web
        # view's feed opens 200 records back, and a client's history is the latest 100
        await web_env.pool.execute(
            "INSERT INTO exceptions (tenant_id, exception_id, exception_type, severity, status, version, raw_payload) "
            "VALUES ('acme', 'E-9', 'SETTLEMENT_FAIL', 'HIGH', 'TRIAGED', 1, '{}')")
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme",
                           [decision("acme", "E-9")] + [decision("acme", f"N-{i}") for i in range(250)])
        restarted = TestClient(TestServer(create_app(web_env.settings, heartbeat_seconds=1.0),
                                          host="127.0.0.1", port=web_env.settings.web_port))
        await restarted.start_server()
        try:
            await tools.wait_for(row.format("E-9"))
            await tools.wait_for("document.getElementById('stream-state').textContent === 'live'")
            assert not await tools.evaluate(row.format("E-1"))  # the list is the database's now
        finally:
            await restarted.close()


async def test_a_row_that_no_longer_fits_the_filter_leaves_the_list(web_env: Web, chromium: int) -> None:
    """The list of pending approvals: an exception the stream moves on (someone approved it) leaves."""
    base = f"http://127.0.0.1:{web_env.settings.web_port}"
    row = "!!document.querySelector('#exception-rows tr[data-exception-id=\"{}\"]')"
    async with open_page(chromium) as tools:
        await tools.call("Page.navigate",
                         url=f"{base}/?key={web_env.keys['acme-viewer']}#/exceptions?status=PENDING_APPROVAL")
        await tools.wait_for("document.getElementById('stream-state')?.textContent === 'live'")
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme",
                           [decision("acme", "E-5", status="PENDING_APPROVAL"),
                            decision("acme", "E-6", status="PENDING_APPROVAL")])
        await tools.wait_for(row.format("E-6"))
        assert await tools.evaluate(row.format("E-5"))
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme",
                           [decision("acme", "E-5", status="IN_PROGRESS")])
        await tools.wait_for(f"!{row.format('E-5')}")
        assert await tools.evaluate(row.format("E-6"))

        # a type written as a person would: read as stored, so the live rows of that type fit it
        await tools.evaluate("location.hash = '#/exceptions?type=settlement%20fail'")
        await tools.wait_for("document.getElementById('f-type')?.value === 'SETTLEMENT_FAIL'")
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme",
                           [decision("acme", "E-8", status="IN_PROGRESS", exception_type="CASH_BREAK"),
                            decision("acme", "E-7", status="IN_PROGRESS")])
        await tools.wait_for(row.format("E-7"))
        assert not await tools.evaluate(row.format("E-8"))  # the stream gave it first: it did not fit

        # a status edited into the address that is none: left out and said, not a list filtered by it
        await tools.evaluate("location.hash = '#/exceptions?status=BOGUS'")
        text = await tools.wait_for("document.querySelector('main .notice.bad')?.textContent")
        assert 'status "BOGUS"' in text, text
        assert await tools.wait_for("document.querySelector('main p.muted[role=status]')?.textContent.includes('shown')")

        # the web view out of reach: the page says so, not the browser's bare "Failed to fetch"
        await tools.call("Network.enable")
        await tools.call("Network.setBlockedURLs", urls=["*/api/v1/*"])
        await tools.evaluate("location.hash = '#/approvals'")
        await tools.wait_for("document.querySelector('main')?.textContent.includes('the web view cannot be reached')")
