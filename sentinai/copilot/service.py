"""One copilot question end to end: intent, read-only retrieval, answer, audit record.

Read-only by construction: the service holds a database pool, the pack cache and, optionally, a
model client — no producer, no command topic, no tool client — and does all its reading inside
one read-only transaction. The one write is the audit record. The model is consulted only when the deployment
configured one (``SENTINAI_LLM_BASE_URL``) and the tenant's policy pack enables it
(``llm.enabled``), only with items retrieved for this tenant, and only while the tenant's copilot
questions of the last minute leave room in its ``quotas.llmTokensPerMinute`` (:mod:`.quota`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from sentinai.caches.packs import PackCache
from sentinai.copilot import intents, quota, retrieval
from sentinai.copilot.audit import record_question
from sentinai.copilot.grounded import grounded_answer
from sentinai.copilot.templates import Answer, Context, answer
from sentinai.core.packs import TenantPacks
from sentinai.llm.client import LLMClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    tenant_id: str
    key_id: str
    text: str
    exception_id: str | None = None
    session_id: str | None = None


class Copilot:
    def __init__(self, pool: asyncpg.Pool, packs: PackCache, *, llm: LLMClient | None = None) -> None:
        self.pool = pool
        self.packs = packs
        self.llm = llm

    async def _tenant_packs(self, tenant_id: str) -> TenantPacks | None:
        try:
            await self.packs.refresh(self.pool)
        except (OSError, asyncpg.PostgresError) as err:
            log.warning("copilot: pack refresh failed, using the packs loaded before: %s", err)
        return self.packs.for_tenant(tenant_id)

    async def _retrieve(self, q: Question, intent: str, packs: TenantPacks | None) -> Context:
        ctx = Context(intent=intent, question=q.text, exception_id=q.exception_id)
        tenant = q.tenant_id
        async with self.pool.acquire() as conn, conn.transaction(readonly=True):
            if q.exception_id is not None:
                ctx.exception = await retrieval.exception_item(conn, tenant, q.exception_id)
                if ctx.exception is None:
                    return ctx
            if intent in (intents.SUMMARIZE, intents.EXPLAIN, intents.DRAFT) and ctx.exception:
                ctx.decisions = await retrieval.decision_items(conn, tenant, ctx.exception.id)
            if intent in (intents.SIMILAR, intents.PLAYBOOK):
                ctx.similar = await retrieval.similar_items(conn, tenant, exception_id=q.exception_id,
                                                            text=q.text)
            if intent == intents.PLAYBOOK:
                ctx.playbooks = retrieval.playbook_items(packs, ctx.exception, ctx.similar)
            if intent == intents.COUNTS:
                known = await retrieval.known_types(conn, tenant, packs)
                filters = intents.count_filters(q.text, now=datetime.now(UTC), known_types=known)
                ctx.counts = await retrieval.count_item(conn, tenant, filters)
        return ctx

    async def ask(self, q: Question) -> dict[str, Any]:
        intent = intents.classify(q.text, has_exception=q.exception_id is not None)
        packs = await self._tenant_packs(q.tenant_id)
        ctx = await self._retrieve(q, intent, packs)
        result: Answer = answer(ctx)
        source, fallback, detail = "deterministic", None, {}
        if (self.llm is not None and packs is not None and packs.tenant.llm.enabled
                and ctx.items and not ctx.missing_exception):
            llm_settings, per_minute = packs.tenant.llm, packs.tenant.quotas.llm_tokens_per_minute
            spent = await quota.tokens_spent(self.pool, q.tenant_id) if per_minute > 0 else 0
            grounded = await grounded_answer(self.llm, ctx, model=llm_settings.model,
                                             tokens_spent=spent, tokens_per_minute=per_minute,
                                             redact_fields=llm_settings.redact_fields)
            detail = {"model": grounded.model, "tokens": grounded.tokens}
            if grounded.answer is not None:
                result, source = grounded.answer, "llm"
            else:
                fallback = grounded.reason
                detail["fallback"] = fallback
        citations = [item.citation() for item in result.cited]
        await record_question(self.pool, tenant_id=q.tenant_id, key_id=q.key_id,
                              session_id=q.session_id, question=q.text, exception_id=q.exception_id,
                              intent=intent, source=source,
                              cited_ids=[item.key for item in result.cited], detail=detail)
        body: dict[str, Any] = {"answer": result.text, "citations": citations, "intent": intent,
                                "confidence": round(result.confidence, 4), "source": source}
        if fallback is not None:
            body["fallback_reason"] = fallback
        return body
