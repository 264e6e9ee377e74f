"""Carrying out what a playbook run's input asks for (``sentinai.core.execution`` effects).

Tool calls and network notices go to the tools agent on the input's partition; notices on channels
without a connector are written to the log; a refused command is returned for the caller to
dead-letter. The events among the effects are the transition's (``sentinai.streams.records``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict

from sentinai.agents.outbox import Draft
from sentinai.core.effects import (
    NETWORK_CHANNELS,
    Effect,
    Notify,
    RejectCommand,
    RequestNotify,
    RequestTool,
)
from sentinai.metrics import NOTIFICATIONS
from sentinai.streams import codec
from sentinai.streams.direct_topic import DirectTopic

notifications = logging.getLogger("sentinai.notifications")


class Effects:
    def __init__(self, tool_requests: DirectTopic) -> None:
        self.tool_requests = tool_requests

    async def carry_out(self, effects: Sequence[Effect], draft: Draft, *, partition: int) -> list[str]:
        """Send the requests among ``effects`` and log the log notices; return the reasons of refused
        commands. The events among them are already in ``draft`` (:func:`sentinai.streams.records.run_events`)."""
        tenant, exception_id, occurrence = draft.tenant_id, draft.exception_id, draft.occurrence
        refused = []
        for effect in effects:
            if isinstance(effect, RequestTool):
                await self._request(tenant, partition, {
                    "tenant_id": tenant, "exception_id": exception_id, "occurrence": occurrence, "step": effect.step,
                    "tool_name": effect.tool_name, "arguments": effect.arguments,
                    "idempotency_key": effect.idempotency_key})
            elif isinstance(effect, Notify) and effect.channel in NETWORK_CHANNELS:
                await self.request_notices(tenant, exception_id, occurrence, partition, notices=(effect,))
            elif isinstance(effect, Notify):
                NOTIFICATIONS.labels(tenant, effect.channel).inc()
                notifications.debug("%s:%s (tenant %s): %s", effect.channel, effect.target, tenant, effect.message)
            elif isinstance(effect, RequestNotify):
                await self.request_notices(tenant, exception_id, occurrence, partition, notices=effect.notices,
                                           step=effect.step, attempt=effect.attempt,
                                           idempotency_key=effect.idempotency_key)
            elif isinstance(effect, RejectCommand):
                refused.append(effect.reason)
        return refused

    async def request_notices(self, tenant: str, exception_id: str, occurrence: str, partition: int, *,
                              notices: tuple[Notify, ...], step: int | None = None, attempt: int = 1,
                              idempotency_key: str | None = None) -> None:
        """Network notices go to the tools agent, which posts them; a step's come back as a result.

        The notices' keys derive from ``occurrence`` too (the key of the exception id's occurrence):
        a new occurrence's notice is delivered again, with an Idempotency-Key of its own."""
        await self._request(tenant, partition, {
            "kind": "notify", "tenant_id": tenant, "exception_id": exception_id, "occurrence": occurrence,
            "step": step, "attempt": attempt, "idempotency_key": idempotency_key,
            "notices": [asdict(n) for n in notices]})

    async def _request(self, tenant: str, partition: int, request: dict[str, object]) -> None:
        await self.tool_requests.send(key=tenant.encode(), value=codec.dumps(request), partition=partition)
