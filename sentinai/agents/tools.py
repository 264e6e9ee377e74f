"""The tools agent: governed outbound calls for playbook steps, each made at most once per key.

A request names an Idempotency-Key (per exception, step and attempt). The result of a finished
call is kept in the ``tool-calls`` table under that key, so a request seen again — a replay after
a crash, a duplicate — re-sends the stored result instead of calling again. A crash *during* a
call re-calls with the same key, which the callee uses to recognise the retry. Calls respect the
tenant's ``toolCallsPerMinute`` quota (waiting for a reserved slot, never dropping the request).
Notification requests on the same topic (``"kind": "notify"``) are handed to ``notifications``
(see ``sentinai.agents.notifications``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faust.types import EventT

from sentinai.agents.notifications import Notifications
from sentinai.agents.outbox import Draft, Outbox
from sentinai.caches.packs import PackCache
from sentinai.core import rows
from sentinai.core.actor import TOOLS_AGENT
from sentinai.core.redaction import redact_secrets
from sentinai.metrics import TOOL_CALLS
from sentinai.streams import codec
from sentinai.streams.direct_topic import DirectTopic
from sentinai.streams.envelope import EventEnvelope
from sentinai.tables import tenant_state, tool_calls
from sentinai.tools.invoker import ToolInvoker
from sentinai.tools.policy import ToolPolicy
from sentinai.tools.result import ToolResult

log = logging.getLogger(__name__)

MAX_QUOTA_WAIT = 60.0


@dataclass
class ToolsTopics:
    outbox: Outbox
    results: DirectTopic


def policy_for(packs: Any) -> ToolPolicy:
    settings = packs.tenant.tool_policy
    endpoints = [str(tool.endpoint) for tool in packs.tools.values() if tool.endpoint]
    base = ToolPolicy.for_endpoints(endpoints)
    return ToolPolicy(allowed_hosts=tuple(dict.fromkeys([*base.allowed_hosts, *settings.allowed_hosts])),
                      https_only=settings.https_only, allow_private=settings.allow_private,
                      max_response_bytes=settings.max_response_bytes)


class Tools:
    def __init__(self, *, topics: ToolsTopics, calls_table: Any, tenants_table: Any, packs: PackCache,
                 invoker: ToolInvoker, notifications: Notifications) -> None:
        self.notifications = notifications
        self.topics = topics
        self.calls = calls_table
        self.tenants = tenants_table
        self.packs = packs
        self.invoker = invoker

    async def handle(self, event: EventT) -> None:
        request = codec.loads(event.value)
        message = event.message
        partition = message.partition
        source = (message.topic, message.partition, message.offset)
        if request.get("kind") == "notify":
            await self.notifications.handle(request, source)
            return
        tenant, key = str(request["tenant_id"]), str(request["idempotency_key"])
        done = tool_calls.outcome(self.calls.get(key))
        if done is None:
            done = (await self._call(request, source)).as_dict()
            self.calls[key] = tool_calls.record(done, tenant_id=tenant, partition=partition,
                                                now_epoch=time.time())
            TOOL_CALLS.labels(tenant, str(request["tool_name"]), done["status"]).inc()
        # the tool and its (masked) request too: the act agent finishes the call's row with them when
        # the call's occurrence was replaced meanwhile (an id sent again after its dedup window)
        result = {"command": "tool_result", "tenant_id": tenant, "exception_id": request["exception_id"],
                  "occurrence": request.get("occurrence"), "step": request["step"], "idempotency_key": key,
                  "tool_name": request["tool_name"], "request": redact_secrets(request["arguments"]),
                  "succeeded": done["status"] == "succeeded", "detail": done}
        await self.topics.results.send(key=tenant.encode(), value=codec.dumps(result), partition=partition)

    async def _call(self, request: dict[str, Any], source: tuple[str, int, int]) -> ToolResult:
        tenant, name = str(request["tenant_id"]), str(request["tool_name"])
        packs = self.packs.for_tenant(tenant)
        tool = packs.tools.get(name) if packs is not None else None
        if packs is None or tool is None:
            return ToolResult(status="failed", http_status=None, response=None, attempts=0, duration_ms=0.0,
                              error=f"tool {name!r} is not a tool of tenant {tenant!r}")
        await self._wait_for_quota(tenant, packs.tenant.quotas.tool_calls_per_minute)
        now = datetime.now(UTC)
        key = str(request["idempotency_key"])
        started = EventEnvelope.create(
            event_type="ToolExecutionStarted", tenant_id=tenant, exception_id=str(request["exception_id"]),
            occurred_at=now, actor=TOOLS_AGENT, step=key,
            payload={"step": request["step"], "tool_execution": rows.tool_started_snapshot(
                execution_id=key, tool_name=name, arguments=request["arguments"], now=now)})
        await self.topics.outbox.publish(Draft(tenant, str(request["exception_id"]), source, events=[started]),
                                         partition=source[1], snapshot=None, now=now)
        return await self.invoker.invoke(tenant_id=tenant, tool_name=name, tool=tool,
                                         arguments=dict(request["arguments"] or {}),
                                         idempotency_key=str(request["idempotency_key"]), policy=policy_for(packs))

    async def _wait_for_quota(self, tenant: str, per_minute: int) -> None:
        if per_minute <= 0:
            return
        now = datetime.now(UTC).timestamp()
        state = self.tenants.get(tenant)
        allowed, bucket, wait = tenant_state.take_token(tenant_state.bucket(state, "tool_quota"),
                                                        rate=per_minute / 60, burst=float(per_minute), now_epoch=now)
        self.tenants[tenant] = tenant_state.with_bucket(state, "tool_quota", bucket)
        if not allowed:
            log.debug("tenant %s over its tool-call quota; waiting %.1fs", tenant, wait)
            await asyncio.sleep(min(wait, MAX_QUOTA_WAIT))
