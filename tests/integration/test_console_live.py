"""The operator console in headless chromium against the real stack (broker, worker, web, PostgreSQL).

An operator opens a CRITICAL exception waiting for approval, approves it from the page and sees its
status and playbook move on; completes the waiting manual step; replays a dead letter; compares two
pack versions. A viewer key sees the same exceptions with no action buttons; an action the server
refuses shows its error text; a deep link opens the right exception after a reload.

With ``SENTINAI_CONSOLE_SCREENSHOTS=<dir>`` (``make screenshots``: docs/console) the screenshots of
the main views are written there; otherwise to the test's temporary directory.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sentinai.settings import Settings
from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.pool import open_pool
from tests.support.browser import DevTools, open_page
from tests.support.db import fetch, wait_for
from tests.support.http import call
from tests.support.kafka import produce
from tests.support.packs import activate, cloned_tenants
from tests.support.pipeline import PACKS, Pipeline
from tests.support.processes import QUICK_GROUP

pytestmark = [pytest.mark.integration, pytest.mark.browser]

WIDE, NARROW = 1280, 390
PLAYBOOK = {
    "id": "console-position-break", "name": "Position break: confirm with the desk",
    "conditions": {"exceptionTypes": ["POSITION_BREAK"]}, "priority": 90, "approved": True,
    "steps": [
        {"name": "note", "action": "add_comment", "params": {"text": "break under investigation"}},
        {"name": "confirm-with-desk", "action": "add_comment", "risky": True,
         "params": {"text": "the desk confirmed the position"}},
        {"name": "assign", "action": "assign_owner", "params": {"team": "reconciliations"}},
    ]}
OTHERS = [
    {"exception_id": "SF-101", "exception_type": "SETTLEMENT_FAIL", "source_system": "settlements",
     "payload": {"failReason": "SSI_MISMATCH", "amount": 125000.0}},
    {"exception_id": "CB-102", "exception_type": "CASH_BREAK", "source_system": "ledger",
     "payload": {"account": "ACC-9", "difference": 420.5}},
    {"exception_id": "SM-103", "exception_type": "SEC_MASTER_MISMATCH", "source_system": "refdata",
     "payload": {"isin": "US5949181045", "impact": "COSMETIC"}},
]


def _tenant_doc() -> dict[str, Any]:
    doc = cloned_tenants(1, prefix="console")[0]
    doc.update({"domainName": "CapitalMarketsTrading", "customPlaybooks": [PLAYBOOK],
                "humanApprovalRules": [{"severity": "CRITICAL", "requireApproval": True}]})
    doc.pop("customGuardrails", None)
    return doc


def _keys(database_url: str, tenant: str) -> dict[str, str]:
    async def create() -> dict[str, str]:
        async with open_pool(database_url, min_size=1, max_size=1) as pool:
            return {role: await create_api_key(pool, tenant, role) for role in ("viewer", "operator", "admin")}
    return asyncio.run(create())


def _shots() -> Path | None:
    target = os.environ.get("SENTINAI_CONSOLE_SCREENSHOTS")
    return Path(target) if target else None


class Console:
    """The console page in one chromium tab."""

    def __init__(self, tools: DevTools, base: str, shots: Path) -> None:
        self.tools, self.base, self.shots = tools, base, shots

    async def open(self, key: str, route: str) -> None:
        await self.tools.evaluate("window.leaving = true")
        await self.tools.call("Page.navigate", url=f"{self.base}/?key={key}#{route}")
        await self.tools.wait_for("!window.leaving && document.getElementById('who')?.textContent.includes('tenant')")

    async def go(self, route: str) -> None:
        await self.tools.evaluate(f"location.hash = {route!r}")

    async def text(self, selector: str) -> str:
        return str(await self.tools.evaluate(
            f"document.querySelector({selector!r})?.textContent || ''"))

    async def wait_text(self, selector: str, needle: str, timeout: float = 45.0) -> str:
        return str(await self.tools.wait_for(
            f"(() => {{ const e = document.querySelector({selector!r});"
            f" return e && e.textContent.includes({needle!r}) ? e.textContent : null; }})()", timeout=timeout))

    async def wait(self, selector: str, timeout: float = 45.0) -> None:
        await self.tools.wait_for(f"!!document.querySelector({selector!r})", timeout=timeout)

    async def fill(self, selector: str, value: str) -> None:
        await self.tools.evaluate(f"(() => {{ const e = document.querySelector({selector!r}); e.value = {value!r};"
                                  " e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); })()")

    async def count(self, selector: str) -> int:
        return int(await self.tools.evaluate(f"document.querySelectorAll({selector!r}).length"))

    async def shot(self, name: str) -> None:
        for width in (WIDE, NARROW):
            await self.tools.screenshot(self.shots / f"{name}-{width}.png", width=width)


def test_operator_and_viewer_work_in_the_console(make_settings: Callable[..., Settings],
                                                  pipeline_factory: Callable[[Settings], Pipeline],
                                                  chromium: int, tmp_path: Path) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    url = pipeline.database_url
    doc = _tenant_doc()
    tenant = doc["tenantId"]
    activate(url, [doc])
    # each join (this worker's, and its restart's below) waits the rebalance timeout: QUICK_GROUP shortens it
    worker = pipeline.start_worker(env=QUICK_GROUP)
    web = pipeline.start_web()
    keys = _keys(url, tenant)
    api = f"{web.url}/api/v1/tenants/{tenant}"
    auth = {"Authorization": f"Bearer {keys['operator']}"}

    for exception_id in ("PB-1", "PB-2"):
        posted = call("POST", f"{api}/exceptions", headers=auth, json_body={
            "exception_id": exception_id, "exception_type": "POSITION_BREAK", "source_system": "recon",
            "payload": {"account": "ACC-77", "breakQuantity": 1200}})
        assert posted.status == 202, posted.body
    assert call("POST", f"{api}/exceptions", headers=auth, json_body=OTHERS).status == 202
    produce(pipeline.bootstrap, pipeline.topics.exceptions,
            [(tenant.encode(), {"tenant_id": tenant, "exception_id": "BAD-1", "payload": "not an object"})])
    wait_for(url, "SELECT count(*) FROM approvals WHERE tenant_id=$1 AND status='PENDING' "
                  "AND exception_id IN ('PB-1', 'PB-2')", tenant, until=lambda n: n == 2)
    wait_for(url, "SELECT count(*) FROM exceptions WHERE tenant_id=$1", tenant, until=lambda n: n == 5)
    wait_for(url, "SELECT count(*) FROM dead_letters WHERE tenant_id=$1", tenant, until=lambda n: n == 1)
    shots = _shots() or tmp_path / "console"

    async def drive() -> None:
        async with open_page(chromium) as tools:
            page = Console(tools, web.url, shots)
            await operator_approves_and_completes(page, keys["operator"], api, auth)
            await viewer_sees_no_buttons_and_deep_link_survives_reload(page, keys["viewer"])
            await refused_action_shows_the_server_error(page, keys["operator"], api, auth)
            await an_answer_overtaken_by_another_is_told_as_refused(
                page, keys["operator"], api, auth, database_url=url, tenant=tenant, stop_worker=worker.stop,
                start_worker=lambda: pipeline.start_worker(env=QUICK_GROUP))
            await operator_replays_a_dead_letter(page, keys["operator"], pipeline.topics.exceptions)
            await packs_show_the_differences(page, keys["viewer"], api, doc, keys["admin"])

    asyncio.run(drive())
    approval = fetch(url, "SELECT status, decided_by, comment FROM approvals WHERE tenant_id=$1 "
                          "AND exception_id='PB-1'", tenant)[0]
    assert (approval["status"], approval["decided_by"], approval["comment"]) == (
        "GRANTED", "olivia.operator", "custodian file checked")
    steps = fetch(url, "SELECT actor_id, payload FROM exception_events WHERE tenant_id=$1 "
                       "AND exception_id='PB-1' AND event_type='PlaybookStepCompleted'", tenant)
    by_step = {json.loads(r["payload"])["step"] if isinstance(r["payload"], str) else r["payload"]["step"]:
               r["actor_id"] for r in steps}
    assert by_step[1] == "olivia.operator", by_step
    replayed = fetch(url, "SELECT status FROM dead_letters WHERE tenant_id=$1 ORDER BY id LIMIT 1", tenant)[0]
    assert replayed["status"] == "replayed"


async def operator_approves_and_completes(page: Console, key: str, api: str, auth: dict[str, str]) -> None:
    await page.open(key, "/status")
    await page.wait(".card .k-total")
    await page.go("#/exceptions")
    await page.wait_text("#exception-rows", "SF-101")
    await page.wait_text("#exception-rows", "PB-2")
    rows = await page.tools.evaluate(
        "[...document.querySelectorAll('#exception-rows tr')].map(r => r.dataset.exceptionId)")
    assert set(rows) >= {"PB-1", "PB-2", "SF-101", "CB-102", "SM-103"}, rows
    live = call("POST", f"{api}/exceptions", headers=auth, json_body={**OTHERS[0], "exception_id": "SF-104"})
    assert live.status == 202, live.body
    await page.wait_text("#exception-rows tr:first-child", "SF-104")  # from the decision stream, no reload
    await page.shot("exceptions")
    await page.fill("#f-severity", "CRITICAL")
    await page.tools.press_enter("form.filters button[type=submit]")
    await page.tools.wait_for("location.hash.includes('severity=CRITICAL')")
    await page.tools.wait_for("document.querySelectorAll('#exception-rows tr').length === 2")
    assert await page.count("#exception-rows .c-severity") == await page.count("#exception-rows .b-critical")
    await page.go("#/approvals")
    await page.wait(".approval[data-exception-id='PB-2'] button.approve")
    queue = await page.tools.evaluate("[...document.querySelectorAll('.approval')].map(a => a.dataset.exceptionId)")
    assert queue[:2] == ["PB-1", "PB-2"], queue  # oldest first
    assert "min" in await page.text(".approval .c-left")
    await page.shot("approvals")

    await page.go("#/exceptions")
    await page.wait("#exception-rows a[href*='PB-1']")
    await page.tools.press_enter("#exception-rows a[href*='PB-1']")
    await page.wait("#fields[data-status='PENDING_APPROVAL']")
    assert await page.tools.evaluate("location.hash.startsWith('#/exceptions/PB-1')")
    await page.wait_text("#timeline", "TriageCompleted")
    assert "confidence" in await page.text("#timeline")
    assert "CRITICAL" in await page.text("#fields")
    await page.shot("exception-pending")
    await page.fill("#actor", "olivia.operator")
    await page.fill("#approval textarea", "custodian file checked")
    await page.tools.press_enter("#approval button.approve")
    await page.wait_text(".notice", "The stream answered")
    await page.wait("#fields[data-status='IN_PROGRESS']")
    assert "ApprovalGranted" in await page.text(".notice")
    assert (await page.text(".notice")).startswith("PB-1 · Approve: ")  # which exception the answer is about
    # the view was drawn again without the form: the keyboard's place is the answer, not the page's top
    # (after the answer is shown, once the view has been drawn again)
    await page.tools.wait_for("document.activeElement === document.querySelector('.notice')")
    assert await page.count("#playbook li[data-step='0'][data-state='completed']") == 1
    assert await page.count("#playbook li[data-step='1'][data-state='waiting']") == 1, await page.tools.evaluate(
        "document.getElementById('playbook').outerHTML")
    assert await page.count("#playbook li[data-step='2'][data-state='pending']") == 1
    assert "GRANTED" in await page.text("#approval")
    assert await page.count("#approval button") == 0

    await page.fill("#playbook li[data-step='1'] textarea", "called the desk")
    await page.tools.press_enter("#playbook li[data-step='1'] button")
    await page.wait_text(".notice", "The stream answered: status RESOLVED")
    await page.wait("#fields[data-status='RESOLVED']")
    assert await page.count("#playbook li[data-state='completed']") == 3
    assert await page.count("#playbook button") == 0
    await page.shot("exception-resolved")
    await page.go("#/status")  # the decisions of this page's session arrived live
    await page.wait_text("#decision-rows", "PB-1")
    await page.shot("overview")


async def viewer_sees_no_buttons_and_deep_link_survives_reload(page: Console, key: str) -> None:
    await page.open(key, "/exceptions/PB-2")
    await page.wait("#fields[data-status='PENDING_APPROVAL']")
    assert "PENDING" in await page.text("#approval")
    assert await page.count("#console button, #console textarea") == 0
    await page.go("#/approvals")
    await page.wait(".approval[data-exception-id='PB-2']")
    assert await page.count("#console button, #console textarea") == 0
    assert await page.tools.evaluate("document.getElementById('actor-field').hidden")
    await page.go("#/dlq")
    await page.wait(".dead-letter button.secondary")  # the payload on demand, but no Replay
    assert await page.count(".dead-letter button") == 1

    await page.go("#/exceptions/PB-1")
    await page.wait("#fields[data-status='RESOLVED']")
    await page.tools.call("Page.reload")
    await page.tools.wait_for("document.readyState === 'complete'")
    await page.wait("#fields[data-status='RESOLVED']")
    assert await page.text("#console .view-title") == "Exception PB-1"
    assert await page.count("#console button") == 0


async def refused_action_shows_the_server_error(page: Console, key: str, api: str,
                                                auth: dict[str, str]) -> None:
    # the page does not hear the stream (as after a network hiccup), so it still shows the approval
    await page.tools.call("Network.enable")
    await page.tools.call("Network.setBlockedURLs", urls=["*decisions/stream*"])
    await page.open(key, "/exceptions/PB-2")
    await page.wait("#approval button.reject")
    pending = call("GET", f"{api}/approvals", headers=auth, params={"status": "pending"}).body["items"]
    [approval] = [a for a in pending if a["exception_id"] == "PB-2"]
    answer = call("POST", f"{api}/approvals/{approval['approval_id']}/reject", headers=auth,
                  json_body={"by": "someone.else", "comment": "answered elsewhere"})
    assert answer.status == 202
    deadline = asyncio.get_running_loop().time() + 45
    while any(a["exception_id"] == "PB-2" for a in call(
            "GET", f"{api}/approvals", headers=auth, params={"status": "pending"}).body["items"]):
        assert asyncio.get_running_loop().time() < deadline, "the rejection never reached the approvals table"
        await asyncio.sleep(0.2)
    await page.tools.press_enter("#approval button.approve")  # the page still shows it pending
    text = await page.wait_text(".notice", "The server refused")
    assert "not pending" in text and "REJECTED" in text, text
    await page.tools.call("Network.setBlockedURLs", urls=[])


async def an_answer_overtaken_by_another_is_told_as_refused(page: Console, key: str, api: str, auth: dict[str, str], *,
                                                            database_url: str, tenant: str,
                                                            stop_worker: Callable[[], None],
                                                            start_worker: Callable[[], Any]) -> None:
    """Someone approves over the API, and before the stream has heard it this person rejects on the
    page: the server takes both (the approval is still pending in its table), the stream grants the
    first and refuses the second. The page tells the person their command was refused, not the
    other person's approval as its answer. The worker is stopped in between so that the order is
    certain."""
    posted = call("POST", f"{api}/exceptions", headers=auth, json_body={
        "exception_id": "PB-3", "exception_type": "POSITION_BREAK", "source_system": "recon",
        "payload": {"account": "ACC-78", "breakQuantity": 5}})
    assert posted.status == 202, posted.body
    await asyncio.to_thread(wait_for, database_url, "SELECT count(*) FROM approvals WHERE tenant_id=$1 "
                            "AND exception_id='PB-3' AND status='PENDING'", tenant, until=lambda n: n == 1)
    await page.open(key, "/exceptions/PB-3")
    await page.wait("#approval button.reject")
    pending = call("GET", f"{api}/approvals", headers=auth, params={"status": "pending"}).body["items"]
    [approval] = [a for a in pending if a["exception_id"] == "PB-3"]
    await asyncio.to_thread(stop_worker)
    first = call("POST", f"{api}/approvals/{approval['approval_id']}/approve", headers=auth,
                 json_body={"by": "someone.else", "comment": "approved elsewhere"})
    assert first.status == 202, first.body
    await page.fill("#actor", "olivia.operator")
    await page.tools.press_enter("#approval button.reject")
    await page.wait_text(".notice", "waiting for the stream")
    await asyncio.to_thread(start_worker)
    text = await page.wait_text(".notice", "The stream refused")
    assert "already GRANTED" in text, text
    letters = call("GET", f"{api}/dlq", headers=auth).body["items"]
    assert any("already GRANTED" in d["error_message"] for d in letters), letters


async def operator_replays_a_dead_letter(page: Console, key: str, topic: str) -> None:
    """The malformed input's letter, among the refused command's (the step before), from ``topic``."""
    await page.open(key, "/dlq")
    await page.wait(".dead-letter")
    first = await page.tools.wait_for(
        "[...document.querySelectorAll('.dead-letter')]"
        f".find(e => e.textContent.includes({(topic + ' [')!r}))?.dataset.id")
    card = f".dead-letter[data-id='{first}']"
    assert "__connect.errors.exception.message" in await page.text(f"{card} details")
    await page.tools.press_enter(f"{card} summary")
    assert await page.tools.evaluate(f"document.querySelector({(card + ' details')!r}).open")
    await page.tools.press_enter(f"{card} button.secondary")
    await page.wait_text(f"{card} .payload", "not an object")
    # the button is gone: the keyboard goes on from the payload it showed
    assert await page.tools.evaluate(f"document.activeElement === document.querySelector({(card + ' pre')!r})")
    await page.shot("dead-letters")
    await page.tools.press_enter(f"{card} button.approve")
    await page.wait_text(".notice", f"Dead letter #{first} replayed")
    assert "lists it as replayed" in await page.text(".notice")
    await page.wait(f".dead-letter[data-id='{first}'][data-status='replayed']")
    # the input is still malformed: the stream parks it again, and the page says which letter it is
    text = await page.wait_text(".notice", "The stream dead-lettered it again as #")
    again = text.split("again as #")[1].split(":")[0]
    assert int(again) > int(first) and "payload must be a JSON object" in text, text
    await page.wait(f".dead-letter[data-id='{again}']")  # the new letter is listed, not only named
    assert await page.text(f".dead-letter[data-id='{first}'] button.approve") == "Replay again"
    await page.tools.wait_for("document.activeElement === document.querySelector('.notice')")


async def packs_show_the_differences(page: Console, key: str, api: str, doc: dict[str, Any],
                                     admin_key: str) -> None:
    changed = {**doc, "humanApprovalRules": [{"severity": "CRITICAL", "requireApproval": True},
                                             {"severity": "HIGH", "requireApproval": True}]}
    put = call("PUT", f"{api}/packs", headers={"Authorization": f"Bearer {admin_key}"}, json_body=changed)
    assert put.status == 200 and put.body["activated"], put.body
    await page.open(key, "/packs")
    await page.wait(".pack[data-kind='tenant'] select")
    await page.tools.press_enter(".pack[data-kind='tenant'] .filters button")
    await page.wait_text(".pack[data-kind='tenant'] .diff", "humanApprovalRules[1]")
    assert "added" in await page.text(".pack[data-kind='tenant'] .diff-table")
    await page.shot("packs")
