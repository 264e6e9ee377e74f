"""The LLMDecisionProposed event: what the model proposed and what became of it.

Published for every assessment, fallbacks included, so the log shows each time the model was
asked (or skipped) and why; the final decision itself is published as the usual stage events
of `assessment.outcome`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sentinai.llm.triage import LLMAssessment
from sentinai.streams.envelope import Actor, EventEnvelope

LLM_AGENT = Actor(type="agent", id="llm")
EVENT_TYPE = "LLMDecisionProposed"


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


def proposal_event(assessment: LLMAssessment, *, now: datetime) -> EventEnvelope:
    """The event, with a deterministic id (one per exception: a replay yields the same id)."""
    exception = assessment.outcome.exception
    return EventEnvelope.create(event_type=EVENT_TYPE, tenant_id=exception.tenant_id,
                                exception_id=exception.exception_id, occurred_at=now,
                                actor=LLM_AGENT, payload=proposal_payload(assessment), step="llm")
