"""Notifications that leave the process: webhooks, posted by the tools agent through the tool client.

A webhook is sent by the same governed path as a tool call (``ToolInvoker``: https only unless
the tenant's ``toolPolicy`` says otherwise, the host allow-list, SSRF checks after DNS and on
every redirect, a timeout, retries, a circuit breaker per hook origin), with a JSON body and an
``Idempotency-Key`` per occurrence of the exception, notice and target. Every outcome is an event
(NotificationSent / NotificationFailed). A notice that was delivered is remembered under its key
in the ``tool-calls`` table, so a replayed request, or a step's retry after another of its targets
failed, never posts it twice. A request for a playbook step gets one result command back, which
the act agent applies with the playbook's onFailure rule. Notifications do not count against the
tenant's tool-call quota.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from yarl import URL

from sentinai.agents.outbox import Draft, Outbox
from sentinai.caches.packs import PackCache
from sentinai.core.actor import TOOLS_AGENT
from sentinai.core.effects import Notify
from sentinai.core.ids import event_id_for
from sentinai.core.packs import StepAction, TenantPacks, Tool
from sentinai.metrics import NOTIFICATION_FAILURES, NOTIFICATIONS
from sentinai.streams import codec
from sentinai.streams.direct_topic import DirectTopic
from sentinai.streams.envelope import EventEnvelope
from sentinai.tables import tool_calls
from sentinai.tools.invoker import ToolInvoker
from sentinai.tools.policy import ToolPolicy
from sentinai.tools.result import ToolResult

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 5.0
WEBHOOK_RETRIES = 1
"""A webhook is a courtesy, not the work itself: it may hold up the tools agent for at most
(1 + retries) × timeout plus backoff, and a host that keeps failing opens its breaker."""


def _host(url: str) -> str | None:
    try:
        return URL(url).host
    except ValueError:
        return None


def notification_policy(packs: TenantPacks) -> ToolPolicy:
    """The tenant's tool policy, with the hosts that its packs name as webhook targets allowed.

    Targets written in the packs were reviewed with them, as tool endpoints are. A target filled
    in from the exception (a `{payload...}` template in a notify step) is not trusted that way:
    its host must be on `toolPolicy.allowedHosts`.
    """
    targets = [r.target for r in packs.tenant.notification_policies if r.channel == "webhook"]
    for compiled in packs.playbooks:
        for step in compiled.playbook.steps:
            target = step.params.get("target")
            if (step.action is StepAction.NOTIFY and isinstance(target, str) and "{" not in target
                    and (step.params.get("channel") or "webhook") == "webhook"):
                targets.append(target)
    settings = packs.tenant.tool_policy
    hosts = [h for h in map(_host, targets) if h]
    return ToolPolicy(allowed_hosts=tuple(dict.fromkeys([*hosts, *settings.allowed_hosts])),
                      https_only=settings.https_only, allow_private=settings.allow_private,
                      max_response_bytes=settings.max_response_bytes)


def _failed(error: str) -> ToolResult:
    return ToolResult(status="failed", http_status=None, response=None, error=error, attempts=0,
                      duration_ms=0.0)


class Notifications:
    """Delivers notification requests (``{"kind": "notify", ...}`` on the tool-requests topic)."""

    def __init__(self, *, outbox: Outbox, results: DirectTopic, delivered_table: Any, packs: PackCache,
                 invoker: ToolInvoker) -> None:
        self.outbox = outbox
        self.results = results
        self.delivered = delivered_table
        self.packs = packs
        self.invoker = invoker

    async def handle(self, request: dict[str, Any], source: tuple[str, int, int]) -> None:
        """Deliver the request's notices; what happened to them is one transition."""
        tenant, exception_id = str(request["tenant_id"]), str(request["exception_id"])
        attempt = int(request.get("attempt") or 1)
        partition = source[1]
        draft = Draft(tenant, exception_id, source, occurrence=str(request.get("occurrence") or ""))
        outcomes = [await self._deliver(draft, Notify(**notice), attempt, partition)
                    for notice in request["notices"]]
        await self.outbox.publish(draft, partition=partition, snapshot=None, now=datetime.now(UTC))
        if request.get("step") is None:
            return
        errors = [f"{o['target']}: {o['error']}" for o in outcomes if o["status"] == "failed"]
        result = {"command": "notification_result", "tenant_id": tenant, "exception_id": exception_id,
                  "occurrence": draft.occurrence, "step": request["step"], "idempotency_key": request["idempotency_key"],
                  "succeeded": not errors, "detail": {"notified": outcomes, "error": "; ".join(errors) or None}}
        await self.results.send(key=tenant.encode(), value=codec.dumps(result), partition=partition)

    async def _deliver(self, draft: Draft, notice: Notify, attempt: int, partition: int) -> dict[str, Any]:
        """Post one notice unless it was delivered before; add what happened to ``draft``."""
        tenant, exception_id = draft.tenant_id, draft.exception_id
        key = event_id_for(tenant, exception_id, "notification", notice.key, draft.occurrence)
        done = tool_calls.outcome(self.delivered.get(key))
        if done is not None:
            return dict(done)
        result = await self._post(tenant, exception_id, notice, key)
        outcome = {"channel": notice.channel, "target": notice.shown_target, "kind": notice.kind,
                   "status": result.status, "http_status": result.http_status, "error": result.error,
                   "attempts": result.attempts}
        event = EventEnvelope.create(
            event_type="NotificationSent" if result.succeeded else "NotificationFailed", tenant_id=tenant,
            exception_id=exception_id, occurred_at=datetime.now(UTC), actor=TOOLS_AGENT, step=f"{notice.key}:{attempt}",
            occurrence=draft.occurrence,
            payload={"notification": {**outcome, "key": notice.key, "attempt": attempt}})
        draft.events.append(event)
        NOTIFICATIONS.labels(tenant, notice.channel).inc()
        if result.succeeded:
            self.delivered[key] = tool_calls.record(outcome, tenant_id=tenant, partition=partition,
                                                    now_epoch=time.time())
        else:
            NOTIFICATION_FAILURES.labels(tenant, notice.channel).inc()
            log.info("notification %s for %s/%s to %s failed: %s", notice.kind, tenant, exception_id,
                     notice.shown_target, result.error)
        return outcome

    async def _post(self, tenant: str, exception_id: str, notice: Notify, key: str) -> ToolResult:
        packs = self.packs.for_tenant(tenant)
        if packs is None:
            return _failed(f"tenant {tenant!r} has no active pack")
        try:
            webhook = Tool.model_validate({"endpoint": notice.target, "method": "POST",
                                           "timeoutSeconds": WEBHOOK_TIMEOUT_SECONDS,
                                           "maxRetries": WEBHOOK_RETRIES})
        except ValidationError:
            return _failed("the webhook target is not an http(s) URL")
        body = {"tenant_id": tenant, "exception_id": exception_id, "kind": notice.kind,
                "message": notice.message}
        return await self.invoker.invoke(tenant_id=tenant, tool_name=f"webhook {notice.shown_target}",
                                         tool=webhook, arguments=body, idempotency_key=key,
                                         policy=notification_policy(packs))
