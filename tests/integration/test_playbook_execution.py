"""Acting on a decision, end to end with real processes: a CRITICAL exception waits for approval;
an operator approves it through the API; safe steps run by themselves; the risky tool step waits
for a person, is completed through the API, and calls the tool once even though the worker is
killed during the call and restarted; the exception ends RESOLVED with every step in its timeline."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest

from sentinai.settings import Settings
from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.pool import open_pool
from sentinai.sinks.views import TIMELINE_ORDER
from tests.support.db import fetch, fetchval, wait_for
from tests.support.http import call
from tests.support.kafka import produce
from tests.support.packs import activate, cloned_tenants
from tests.support.pipeline import PACKS, Pipeline
from tests.support.processes import QUICK_GROUP
from tests.support.tool_server import running_tool_server

pytestmark = pytest.mark.integration

SECRET = "recon-test-secret-3f9a"


def tenant_with_tool(tool_url: str) -> dict:
    doc = cloned_tenants(1, prefix="act")[0]
    doc.update({
        "domainName": "CapitalMarketsTrading",
        "approvedTools": ["recon_rerun"],
        "toolOverrides": {"recon_rerun": {"endpoint": tool_url, "timeoutSeconds": 10, "maxRetries": 0}},
        "toolPolicy": {"allowedHosts": ["127.0.0.1"], "httpsOnly": False, "allowPrivate": True},
        "humanApprovalRules": [{"severity": "CRITICAL", "requireApproval": True}],
        "customPlaybooks": [{
            "id": "act-position-break", "name": "Position break with a reconciliation re-run",
            "conditions": {"exceptionTypes": ["POSITION_BREAK"]}, "priority": 90, "approved": True,
            "steps": [
                {"name": "note", "action": "add_comment", "params": {"text": "break under investigation"}},
                {"name": "assign", "action": "assign_owner", "params": {"team": "reconciliations"}},
                {"name": "rerun", "action": "call_tool", "risky": True,
                 "params": {"tool": "recon_rerun", "args": {"account": "{payload.account}", "scope": "POSITION"}}},
                {"name": "tell-ops", "action": "notify", "params": {"channel": "ops"}},
            ]}],
    })
    doc.pop("customGuardrails", None)
    return doc


def _granted(tenant: str) -> dict[str, str]:
    """The worker's environment: the token, granted to the tenant as the domain's secretRef; and
    shorter group timings (the restarted worker waits for the killed one's session to time out)."""
    return {**QUICK_GROUP, "RECON_API_TOKEN": SECRET,
            "SENTINAI_TENANT_SECRETS": json.dumps({tenant: {"RECON_API_TOKEN": "RECON_API_TOKEN"}})}


def _key(database_url: str, tenant: str) -> str:
    async def create() -> str:
        async with open_pool(database_url, min_size=1, max_size=1) as pool:
            return await create_api_key(pool, tenant, "operator")
    return asyncio.run(create())


def _events(url: str, tenant: str, exception_id: str) -> list[str]:
    return [r["event_type"] for r in fetch(url, "SELECT event_type FROM exception_events WHERE tenant_id=$1 "
                                                "AND exception_id=$2 " + TIMELINE_ORDER, tenant, exception_id)]


def test_critical_exception_approved_then_run_to_resolution(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    url = pipeline.database_url
    with running_tool_server(delay=2.0) as tool:
        tenant_doc = tenant_with_tool(tool.url)
        tenant = tenant_doc["tenantId"]
        activate(url, [tenant_doc])
        worker = pipeline.start_worker(env=_granted(tenant))
        web = pipeline.start_web()
        headers = {"Authorization": f"Bearer {_key(url, tenant)}"}
        api = f"{web.url}/api/v1/tenants/{tenant}"

        produce(pipeline.bootstrap, pipeline.topics.exceptions, [(tenant.encode(), {
            "tenant_id": tenant, "exception_id": "PB-1", "exception_type": "POSITION_BREAK",
            "source_system": "recon", "payload": {"account": "ACC-77", "breakQuantity": 1200}})])
        wait_for(url, "SELECT status FROM exceptions WHERE tenant_id=$1 AND exception_id='PB-1'", tenant,
                 until=lambda s: s == "PENDING_APPROVAL")
        # the status arrives with the first event; the approval row with a later one
        wait_for(url, "SELECT count(*) FROM approvals WHERE tenant_id=$1 AND status='PENDING'", tenant,
                 until=lambda n: n == 1)

        pending = call("GET", f"{api}/approvals", params={"status": "pending"}, headers=headers)
        [approval] = pending.body["items"]
        answer = call("POST", f"{api}/approvals/{approval['approval_id']}/approve", headers=headers,
                      json_body={"by": "olivia.operator", "comment": "checked the custodian file"})
        assert answer.status == 202, answer.body

        # the two safe steps run by themselves; the risky tool step waits for a person
        wait_for(url, "SELECT count(*) FROM exception_events WHERE tenant_id=$1 AND exception_id='PB-1' "
                      "AND event_type='PlaybookStepWaiting'", tenant, until=lambda n: n == 1)
        row = fetch(url, "SELECT status, owner, current_step FROM exceptions WHERE tenant_id=$1", tenant)[0]
        assert (row["status"], row["owner"], row["current_step"]) == ("IN_PROGRESS", "reconciliations", 2)
        assert tool.calls == []

        done = call("POST", f"{api}/exceptions/PB-1/playbook/steps/2/complete", headers=headers,
                    json_body={"by": "olivia.operator"})
        assert done.status == 202, done.body
        deadline = time.monotonic() + 30
        while not tool.calls and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tool.calls, worker.log_tail()
        worker.kill()  # mid-call: the tool is still answering
        pipeline.start_worker(env=_granted(tenant))

        status = wait_for(url, "SELECT status FROM exceptions WHERE tenant_id=$1 AND exception_id='PB-1'", tenant,
                          until=lambda s: s == "RESOLVED", timeout=90)
    print(f"tool calls received {len(tool.calls)}, distinct idempotency keys {len(tool.distinct_keys)}")
    assert status == "RESOLVED"
    assert len(tool.distinct_keys) == 1
    assert {c["authorization"] for c in tool.calls} == {f"Bearer {SECRET}"}
    assert tool.calls[0]["body"] == {"account": "ACC-77", "scope": "POSITION"}

    timeline = _events(url, tenant, "PB-1")
    for expected in ("ApprovalRequested", "ApprovalGranted", "PlaybookStepStarted", "PlaybookStepCompleted",
                     "PlaybookStepWaiting", "ToolExecutionStarted", "ToolExecutionSucceeded", "PlaybookCompleted",
                     "ExceptionResolved"):
        assert expected in timeline, (expected, timeline)
    assert timeline.count("PlaybookStepCompleted") == 4
    assert fetchval(url, "SELECT count(*) FROM exception_events WHERE payload::text LIKE $1", f"%{SECRET}%") == 0
    approval_row = fetch(url, "SELECT status, decided_by FROM approvals WHERE tenant_id=$1", tenant)[0]
    assert (approval_row["status"], approval_row["decided_by"]) == ("GRANTED", "olivia.operator")
    execution = fetch(url, "SELECT status, tool_name FROM tool_executions WHERE tenant_id=$1", tenant)[0]
    assert (execution["status"], execution["tool_name"]) == ("SUCCEEDED", "recon_rerun")
    detail = call("GET", f"{api}/exceptions/PB-1", headers=headers)
    assert detail.status == 200
    assert detail.body["status"] == "RESOLVED"
    assert [e["event_type"] for e in detail.body["timeline"]] == timeline
