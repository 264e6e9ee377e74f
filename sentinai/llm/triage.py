"""LLM-assisted triage: one call for a triage proposal and policy advice, bounded by the packs.

`assess` never raises for anything the model or the provider does: every failure is the
rules' outcome marked `llm_fallback`, with the reason in the evidence. One call rather than two
(triage, then policy advice) halves the latency and the tokens, and the model judges severity
and the need for a human from the same reading of the exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sentinai.core.models import DecisionOutcome, NormalizedException
from sentinai.core.packs import TenantPacks
from sentinai.llm.budget import estimate_tokens
from sentinai.llm.client import LLMClient
from sentinai.llm.errors import LLMError
from sentinai.llm.prompts import assessment_prompt
from sentinai.llm.reconcile import LLM, LLM_FALLBACK, Proposal, apply_proposal, fallback_outcome
from sentinai.llm.schemas import ASSESSMENT, load_schema


@dataclass(frozen=True, slots=True)
class LLMAssessment:
    """The final outcome of an LLM-assisted decision and what to record about it."""

    outcome: DecisionOutcome
    """The rules' outcome strengthened by the model, never weakened; every decision's `source` is `source`."""
    proposal: dict[str, Any] | None
    """The model's schema-valid answer, as given (None when there was none), for LLMDecisionProposed."""
    source: str
    """`llm` or `llm_fallback`."""
    reason: str | None
    """Why it fell back, or what of the proposal was changed or clamped (None: taken as proposed)."""
    tokens: int
    """Tokens to charge to the tenant's LLM quota for this assessment."""
    model: str
    """The model asked (or that answered)."""


def _fallback(rules: DecisionOutcome, reason: str, *, tokens: int, model: str) -> LLMAssessment:
    return LLMAssessment(fallback_outcome(rules, reason), None, LLM_FALLBACK, reason, tokens, model)


async def assess(client: LLMClient, exception: NormalizedException, rules: DecisionOutcome,
                 packs: TenantPacks, *, now: datetime, tokens_available: float,
                 redact_fields: Iterable[str] = ()) -> LLMAssessment:
    """Ask the tenant's model about `exception` and fold its answer into `rules` (see `reconcile`).

    `rules` is `engine.decide(exception, packs, now=now)`. `tokens_available` is what the tenant's
    LLM quota allows now (`budget.tokens_available`); a call that could need more is not made.
    `redact_fields` are the tenant's extra fields to keep out of the prompt.
    """
    settings = packs.tenant.llm
    model = settings.model or client.default_model
    if not settings.enabled:
        return _fallback(rules, "LLM assistance is not enabled for this tenant", tokens=0, model=model)
    prompt = assessment_prompt(exception, rules, packs, redact_fields=redact_fields)
    needed = estimate_tokens(prompt.system) + estimate_tokens(prompt.user) + client.max_output_tokens
    if tokens_available < needed:
        return _fallback(rules, f"token quota: the call needs up to {needed} tokens, "
                                f"{max(0, int(tokens_available))} available", tokens=0, model=model)
    try:
        reply = await client.complete_json(model=model, system=prompt.system, user=prompt.user,
                                           schema=load_schema(ASSESSMENT), schema_name=ASSESSMENT)
    except LLMError as err:
        return _fallback(rules, f"{err.kind}: {err}", tokens=err.tokens, model=model)
    outcome, notes = apply_proposal(rules, packs, Proposal.from_json(reply.data), now=now)
    return LLMAssessment(outcome, reply.data, LLM, "; ".join(notes) or None, reply.tokens, reply.model)
