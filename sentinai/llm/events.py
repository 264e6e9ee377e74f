"""The events of the LLM path: LLMDecisionProposed and DecisionExplained.

LLMDecisionProposed is published for every assessment, fallbacks included, so the log shows
each time the model was asked (or skipped) and why; the final decision itself is published as
the usual stage events of `assessment.outcome`. DecisionExplained carries the text the web view
shows next to a decision (only when there is one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sentinai.core.actor import Actor
from sentinai.core.models import DecisionOutcome
from sentinai.llm.explanation import Explanation
from sentinai.llm.triage import LLMAssessment
from sentinai.streams.envelope import EventEnvelope

LLM_AGENT = Actor(type="agent", id="llm")
PROPOSED = "LLMDecisionProposed"
EXPLAINED = "DecisionExplained"


def proposal_payload(assessment: LLMAssessment) -> dict[str, Any]:
    outcome = assessment.outcome
    return {
        "source": assessment.source,
        "model": assessment.model,
        "proposal": assessment.proposal,
        "reason": assessment.reason,
        "tokens": assessment.tokens,
        "final": {
            "exception_type": outcome.exception_type,
            "severity": outcome.severity.value,
            "status": outcome.status.value,
            "approval_required": outcome.approval_required,
            "escalated": outcome.escalated,
            "playbook_id": outcome.playbook_id,
        },
    }


def proposal_event(assessment: LLMAssessment, *, now: datetime, occurrence: str) -> EventEnvelope:
    """The event, with a deterministic id (one per occurrence of the exception id, ``occurrence``
    its key: a replay yields the same id)."""
    exception = assessment.outcome.exception
    return EventEnvelope.create(event_type=PROPOSED, tenant_id=exception.tenant_id,
                                exception_id=exception.exception_id, occurred_at=now,
                                actor=LLM_AGENT, payload=proposal_payload(assessment), step="llm",
                                occurrence=occurrence)


def explanation_event(outcome: DecisionOutcome, explanation: Explanation, *, now: datetime,
                      occurrence: str) -> EventEnvelope | None:
    """The explanation of `outcome` as an event; None when there is no text to publish."""
    if explanation.text is None:
        return None
    exception = outcome.exception
    payload = {"explanation": explanation.text, "model": explanation.model,
               "tokens": explanation.tokens, "status": outcome.status.value}
    return EventEnvelope.create(event_type=EXPLAINED, tenant_id=exception.tenant_id,
                                exception_id=exception.exception_id, occurred_at=now,
                                actor=LLM_AGENT, payload=payload, step="explanation", occurrence=occurrence)
