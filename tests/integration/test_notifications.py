"""Webhook notifications end to end with real processes and a real local receiver: a notify step
posts once and its playbook goes on to RESOLVED; a notify step whose webhook keeps failing follows
its playbook's onFailure (retry, then escalate), with every failed delivery an event, and the
escalation reaches the tenant's webhook route."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sentinai.core.ids import event_id_for
from sentinai.settings import Settings
from tests.support.db import fetch, wait_for
from tests.support.kafka import produce, read_all
from tests.support.packs import activate, cloned_tenants
from tests.support.pipeline import PACKS, Pipeline
from tests.support.webhook_server import WebhookServer, running_webhook_server

pytestmark = pytest.mark.integration


def hooks_tenant(server: WebhookServer) -> dict[str, Any]:
    """Plain HTTP to loopback allowed; the webhook hosts are allowed because the packs name them."""
    doc = cloned_tenants(1, prefix="hooks")[0]
    doc.update({
        "domainName": "CapitalMarketsTrading", "humanApprovalRules": [],
        "toolPolicy": {"httpsOnly": False, "allowPrivate": True},
        "notificationPolicies": [{"channel": "webhook", "target": server.url("/escalations"),
                                  "events": ["ExceptionEscalated"]}],
        "customPlaybooks": [
            {"id": "hook-ok", "name": "Tell the desk", "priority": 99, "approved": True,
             "conditions": {"exceptionTypes": ["SEC_MASTER_MISMATCH"]},
             "steps": [{"name": "tell", "action": "notify",
                        "params": {"target": server.url("/hook"), "message": "security {payload.securityId} fixed"}},
                       {"name": "note", "action": "add_comment", "params": {"text": "desk told"}}]},
            {"id": "hook-broken", "name": "Tell a broken desk", "priority": 99, "approved": True,
             "onFailure": "retry", "conditions": {"exceptionTypes": ["CASH_BREAK"]},
             "steps": [{"name": "tell", "action": "notify", "params": {"target": server.url("/broken")}},
                       {"name": "note", "action": "add_comment", "params": {"text": "never reached"}}]},
        ],
    })
    doc.pop("customGuardrails", None)
    return doc


def events(url: str, tenant: str, exception_id: str) -> list[Any]:
    return fetch(url, "SELECT event_type, payload FROM exception_events WHERE tenant_id=$1 AND exception_id=$2 "
                      "ORDER BY occurred_at, recorded_at", tenant, exception_id)


def test_notify_steps_post_webhooks_and_failures_follow_on_failure(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS))
    url = pipeline.database_url
    with running_webhook_server() as server:
        tenant_doc = hooks_tenant(server)
        tenant = tenant_doc["tenantId"]
        activate(url, [tenant_doc])
        worker = pipeline.start_worker()
        produce(pipeline.bootstrap, pipeline.topics.exceptions, [
            (tenant.encode(), {"tenant_id": tenant, "exception_id": "OK-1", "exception_type": "SEC_MASTER_MISMATCH",
                               "payload": {"securityId": "S-1", "attribute": "coupon", "vendorValue": "4.25"}}),
            (tenant.encode(), {"tenant_id": tenant, "exception_id": "BROKEN-1", "exception_type": "CASH_BREAK",
                               "payload": {"breakType": "CASH", "account": "ACC-9"}}),
        ])
        rows = ("SELECT string_agg(exception_id || '=' || status, ',' ORDER BY exception_id) FROM exceptions "
                "WHERE tenant_id=$1")
        wait_for(url, rows, tenant, until=lambda s: s == "BROKEN-1=ESCALATED,OK-1=RESOLVED", timeout=60)
        wait_for(url, "SELECT count(*) FROM exception_events WHERE tenant_id=$1 AND event_type='NotificationSent'",
                 tenant, until=lambda n: n == 2)  # the step's webhook and the escalation's
        calls = list(server.calls)

    [hook] = [c for c in calls if c["path"] == "/hook"]
    assert hook["body"] == {"tenant_id": tenant, "exception_id": "OK-1", "kind": "notify",
                            "message": "security S-1 fixed"}
    [decided] = [t for t in map(json.loads, (m.value() for m in read_all(pipeline.bootstrap, pipeline.topics.events)))
                 if t["exception_id"] == "OK-1" and t["events"][0]["event_type"] == "ExceptionNormalized"]
    occurrence = ":".join(str(decided["source"][k]) for k in ("topic", "partition", "offset"))  # the input's
    assert hook["idempotency_key"] == event_id_for(tenant, "OK-1", "notification", "hook-ok:0:notify:0", occurrence)
    ok = [e["event_type"] for e in events(url, tenant, "OK-1")]
    assert ok.count("NotificationSent") == 1 and "NotificationFailed" not in ok
    assert ok.count("PlaybookStepCompleted") == 2 and "ExceptionResolved" in ok

    broken = [c for c in calls if c["path"] == "/broken"]
    assert len(broken) == 3 * 2, "three step attempts (onFailure: retry), each with one webhook retry"
    assert len({c["idempotency_key"] for c in broken}) == 1, "the same notice, the same key"
    timeline = events(url, tenant, "BROKEN-1")
    kinds = [e["event_type"] for e in timeline]
    assert kinds.count("NotificationFailed") == 3, worker.log_tail()
    assert kinds.count("PlaybookStepFailed") == 1 and "ExceptionEscalated" in kinds
    assert "PlaybookStepCompleted" not in kinds
    failed = [json.loads(e["payload"])["notification"] for e in timeline if e["event_type"] == "NotificationFailed"]
    assert [(f["attempt"], f["error"]) for f in failed] == [(1, "HTTP 500"), (2, "HTTP 500"), (3, "HTTP 500")]
    assert all("/broken" not in f["target"] for f in failed), "a webhook's path is never shown"

    [escalation] = [c for c in calls if c["path"] == "/escalations"]
    assert escalation["body"]["kind"] == "ExceptionEscalated" and escalation["body"]["exception_id"] == "BROKEN-1"
