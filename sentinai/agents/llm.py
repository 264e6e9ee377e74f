"""LLM-assisted decisions for tenants that enable them, off the rules path.

Intake sends such an exception here (on its own partition of ``<prefix>.llm``) instead of
publishing the rules' decision. This agent takes requests in small batches, asks the model about
the batch concurrently (bounded), then publishes each final outcome — never weaker than the
rules' one, marked ``llm`` or ``llm_fallback`` — in order, and only then acknowledges the batch.
A slow model holds up only the tenants that chose it: the rules path of every other tenant never
waits on this agent.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from faust.types import EventT, StreamT

from sentinai.agents.dead_letters import dead_letter
from sentinai.agents.intake import request_occurrence
from sentinai.agents.outcomes import Outcomes
from sentinai.caches.packs import PackCache
from sentinai.core.engine import decide
from sentinai.core.models import NormalizedException
from sentinai.framework.current_event import set_current_event
from sentinai.llm.budget import spend_tokens, tokens_available
from sentinai.llm.client import LLMClient
from sentinai.llm.events import explanation_event, proposal_event
from sentinai.llm.explanation import explain
from sentinai.llm.reconcile import fallback_outcome
from sentinai.llm.triage import assess
from sentinai.streams import codec
from sentinai.streams.direct_topic import DirectTopic
from sentinai.streams.envelope import EventEnvelope
from sentinai.tables import tenant_state

log = logging.getLogger(__name__)

BATCH = 16
CONCURRENCY = 8


class LLMStage:
    def __init__(self, *, packs: PackCache, tenants_table: Any, dlq: DirectTopic, outcomes: Outcomes,
                 client: LLMClient, concurrency: int = CONCURRENCY) -> None:
        self.packs = packs
        self.tenants = tenants_table
        self.dlq = dlq
        self.outcomes = outcomes
        self.client = client
        self.limit = asyncio.Semaphore(concurrency)

    async def _assess(self, request: dict[str, Any]) -> tuple[Any, list[EventEnvelope], int] | None:
        """The model's assessment (and explanation); no table is touched here (not in stream order)."""
        exception = NormalizedException.model_validate(request["exception"])
        packs = self.packs.for_tenant(exception.tenant_id)
        if packs is None:
            return None
        now = datetime.now(UTC)
        rules = decide(exception, packs, now=now)
        tenant = exception.tenant_id
        per_minute = packs.tenant.quotas.llm_tokens_per_minute
        available = tokens_available(tenant_state.bucket(self.tenants.get(tenant), "llm_quota"),
                                     per_minute=per_minute, now_epoch=now.timestamp())
        redact = packs.tenant.llm.redact_fields
        async with self.limit:
            assessment = await assess(self.client, exception, rules, packs, now=now, tokens_available=available,
                                      redact_fields=redact)
            spent = assessment.tokens
            occurrence = request_occurrence(request).key
            prelude = [proposal_event(assessment, now=now, occurrence=occurrence)]
            if assessment.source == "llm":
                explanation = await explain(self.client, assessment.outcome, model=packs.tenant.llm.model,
                                            tokens_available=available - spent, redact_fields=redact)
                spent += explanation.tokens
                event = explanation_event(assessment.outcome, explanation, now=now, occurrence=occurrence)
                if event is not None:
                    prelude.append(event)
        return assessment, prelude, spent

    async def run(self, stream: StreamT) -> Any:
        async for batch in stream.noack_take(BATCH, within=0.05):
            requests: list[tuple[EventT, dict[str, Any]]] = []
            for event in batch:
                try:
                    requests.append((event, codec.loads(event.value)))
                except codec.UndecodableMessage as err:
                    await dead_letter(self.dlq, event.message, err, stage="llm")
            results = await asyncio.gather(*(self._assess(r) for _, r in requests), return_exceptions=True)
            for (event, request), result in zip(requests, results, strict=True):
                if isinstance(result, BaseException) or result is None:
                    log.error("LLM stage failed for %s: %r; deciding by the rules", event.message, result)
                    result = None
                # table writes go to the changelog partition of the "current event": make it this one
                set_current_event(event)
                try:
                    await self._publish(event, request, result)
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # never let it escape: faust would restart the agent past the batch
                    log.exception("publishing an LLM-assisted decision failed")
                    await dead_letter(self.dlq, event.message, err, stage="llm")
            for event in batch:
                await stream.ack(event)
            yield len(batch)

    async def _publish(self, event: EventT, request: dict[str, Any],
                       result: tuple[Any, list[EventEnvelope], int] | None) -> None:
        exception = NormalizedException.model_validate(request["exception"])
        packs = self.packs.for_tenant(exception.tenant_id)
        if packs is None:
            return
        now = datetime.now(UTC)
        if result is None:
            outcome, prelude = fallback_outcome(decide(exception, packs, now=now), "LLM stage error"), []
        else:
            outcome, prelude, spent = result[0].outcome, result[1], result[2]
            tenant = exception.tenant_id
            state = self.tenants.get(tenant)
            self.tenants[tenant] = tenant_state.with_bucket(state, "llm_quota", spend_tokens(
                tenant_state.bucket(state, "llm_quota"), spent,
                per_minute=packs.tenant.quotas.llm_tokens_per_minute, now_epoch=now.timestamp()))
        source = tuple(request["source"])
        await self.outcomes.publish(exception, outcome, packs, source=source,  # type: ignore[arg-type]
                                    partition=event.message.partition, occurrence=request_occurrence(request),
                                    now=now, prelude=prelude)
