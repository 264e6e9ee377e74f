"""One tenant's slowness does not hold up another's tool calls and notifications (the tools agent
runs each tenant's requests in its own lane): tenant A, its tool-call quota spent, has one more
tool call waiting for its quota; tenant B's webhook, requested after it on the same partition,
goes out while A's call still waits, and A's call is made afterwards all the same.
Nor can A fill the agent: beyond ``SENTINAI_TOOLS_TENANT_CAPACITY`` its requests are
dead-lettered with the reason, while B's go on."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from sentinai.settings import Settings
from tests.support.db import fetch, wait_for
from tests.support.kafka import produce
from tests.support.packs import activate, cloned_tenants
from tests.support.pipeline import PACKS, Pipeline
from tests.support.processes import WorkerProcess
from tests.support.tool_server import ToolServer, running_tool_server
from tests.support.webhook_server import WebhookServer, running_webhook_server

pytestmark = pytest.mark.integration

SECRET = "lanes-test-secret-7c1d"
PER_MINUTE = 6  # tenant A's tool-call quota in the first test
WAITING = f"A-{PER_MINUTE + 1}"  # A's call beyond it


def _tenants(tool_url: str, hook_url: str, per_minute: int) -> list[dict[str, Any]]:
    slow, other = cloned_tenants(2, prefix="lanes")
    for doc in (slow, other):
        doc.update({"domainName": "CapitalMarketsTrading", "humanApprovalRules": [],
                    "toolPolicy": {"allowedHosts": ["127.0.0.1"], "httpsOnly": False, "allowPrivate": True}})
        doc.pop("customGuardrails", None)
        doc.pop("notificationPolicies", None)
    slow.update({
        "approvedTools": ["recon_rerun"],
        "toolOverrides": {"recon_rerun": {"endpoint": tool_url, "timeoutSeconds": 10, "maxRetries": 0}},
        "quotas": {**slow.get("quotas", {}), "toolCallsPerMinute": per_minute},
        "customPlaybooks": [{
            "id": "lanes-rerun", "name": "Re-run the reconciliation", "priority": 99, "approved": True,
            "conditions": {"exceptionTypes": ["CASH_BREAK"]},
            "steps": [{"name": "rerun", "action": "call_tool",
                       "params": {"tool": "recon_rerun", "args": {"account": "{payload.account}", "scope": "CASH"}}}]}],
    })
    other.update({"customPlaybooks": [{
        "id": "lanes-hook", "name": "Tell the desk", "priority": 99, "approved": True,
        "conditions": {"exceptionTypes": ["SEC_MASTER_MISMATCH"]},
        "steps": [{"name": "tell", "action": "notify", "params": {"target": hook_url, "message": "fixed"}}]}]})
    return [slow, other]


def _until(condition: Callable[[], bool], timeout: float, why: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, why()
        time.sleep(0.05)


def _cash_break(tenant: str, exception_id: str) -> tuple[bytes, dict[str, Any]]:
    return tenant.encode(), {"tenant_id": tenant, "exception_id": exception_id, "exception_type": "CASH_BREAK",
                             "payload": {"breakType": "CASH", "account": exception_id}}


def _sec_master(tenant: str, exception_id: str) -> tuple[bytes, dict[str, Any]]:
    return tenant.encode(), {"tenant_id": tenant, "exception_id": exception_id,
                             "exception_type": "SEC_MASTER_MISMATCH",
                             "payload": {"securityId": "S-1", "attribute": "coupon", "vendorValue": "4.25"}}


def _started(pipeline: Pipeline, tool: ToolServer, hooks: WebhookServer,
             per_minute: int = 1) -> tuple[str, str, WorkerProcess]:
    """Both tenants active, a worker running, and A's ``per_minute`` tool calls a minute spent (its
    burst: calls A-1 .. A-<per_minute>). A's next call is due 60 / ``per_minute`` s after A-1's."""
    slow_doc, other_doc = _tenants(tool.url, hooks.url("/hook"), per_minute)
    slow, other = slow_doc["tenantId"], other_doc["tenantId"]
    activate(pipeline.database_url, [slow_doc, other_doc])
    worker = pipeline.start_worker(env={
        "RECON_API_TOKEN": SECRET,
        "SENTINAI_TENANT_SECRETS": json.dumps({slow: {"RECON_API_TOKEN": "RECON_API_TOKEN"}})})
    produce(pipeline.bootstrap, pipeline.topics.exceptions,
            [_cash_break(slow, f"A-{i}") for i in range(1, per_minute + 1)])
    _until(lambda: len(tool.calls) == per_minute, 60, worker.log_tail)
    return slow, other, worker


def test_a_tenant_waiting_for_its_tool_quota_does_not_hold_another_tenants_webhook(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    # one partition: every request of both tenants is on it, B's after A's waiting one
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=1))
    url = pipeline.database_url
    with running_tool_server() as tool, running_webhook_server() as hooks:
        # six calls a minute, all six spent at once: A's next token is due 10 s after A-1's call
        # (one a minute would make the test wait out a whole minute for A's last call)
        slow, other, worker = _started(pipeline, tool, hooks, per_minute=PER_MINUTE)
        produce(pipeline.bootstrap, pipeline.topics.exceptions, [
            _cash_break(slow, WAITING),  # its tool call waits for A's quota, up to 10 s
            _sec_master(other, "B-1"),
        ])
        _until(lambda: bool(hooks.received("/hook")), 50, lambda: f"B's webhook never went out\n{worker.log_tail()}")
        calls_when_b_was_told = len(tool.calls)
        wait_for(url, "SELECT status FROM exceptions WHERE tenant_id=$1 AND exception_id='B-1'", other,
                 until=lambda s: s == "RESOLVED")
        # A's waiting call is not lost: it is made when A's quota allows
        wait_for(url, "SELECT count(*) FROM exceptions WHERE tenant_id=$1 AND status='RESOLVED'", slow,
                 until=lambda n: n == PER_MINUTE + 1, timeout=120)
        keys = tool.distinct_keys

    assert calls_when_b_was_told == PER_MINUTE, "B's webhook waited for A's tool call that waited for A's quota"
    assert len(keys) == PER_MINUTE + 1
    [hook] = hooks.received("/hook")
    assert hook["body"]["tenant_id"] == other and hook["body"]["exception_id"] == "B-1"


def test_a_tenant_beyond_its_share_of_the_tools_agent_is_dead_lettered_and_another_tenant_goes_on(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=1, tools_tenant_capacity=2))
    url = pipeline.database_url
    with running_tool_server() as tool, running_webhook_server() as hooks:
        slow, other, worker = _started(pipeline, tool, hooks)
        # A-2 waits for A's quota and A-3 behind it: A's lane holds two; A-4..A-6 find it full
        produce(pipeline.bootstrap, pipeline.topics.exceptions,
                [_cash_break(slow, f"A-{i}") for i in range(2, 7)] + [_sec_master(other, "B-1")])
        letters = wait_for(url, "SELECT count(*) FROM dead_letters WHERE tenant_id=$1", slow,
                           until=lambda n: n == 3, timeout=60)
        _until(lambda: bool(hooks.received("/hook")), 30, lambda: f"B's webhook never went out\n{worker.log_tail()}")
        rows = fetch(url, "SELECT stage, error_message, source_topic FROM dead_letters WHERE tenant_id=$1", slow)
        # nothing more to still waits out its quota's minute, which a SIGTERM would wait
        # for up to the worker's stop limit (sentinai.worker.STOP_SECONDS, 9 s) before cutting it short
        worker.kill()

    assert letters == 3 and len(tool.calls) == 1
    assert {(r["stage"], r["source_topic"]) for r in rows} == {("tools", pipeline.topics.tool_requests)}
    assert all(f"tenant {slow} already has 2 tools requests waiting on this worker "
               "(SENTINAI_TOOLS_TENANT_CAPACITY)" in r["error_message"] for r in rows), rows
