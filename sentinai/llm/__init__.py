"""LLM assistance, bounded by schema and policy: it can strengthen a decision, never weaken it.

Entry points: `LLMClient` (one per process), `assess` (triage proposal and policy advice folded
into the rules' outcome), `explain` (text for the web view), `redact`, the quota helpers in
`budget`, and the events `proposal_event` (LLMDecisionProposed) and `explanation_event`
(DecisionExplained). See docs/llm.md.
"""

from sentinai.llm.budget import estimate_tokens, spend_tokens, tokens_available
from sentinai.llm.client import LLMClient, LLMReply
from sentinai.llm.errors import (
    LLMCircuitOpen,
    LLMError,
    LLMInvalidJSON,
    LLMProviderError,
    LLMSchemaViolation,
    LLMTimeout,
)
from sentinai.llm.events import explanation_event, proposal_event, proposal_payload
from sentinai.llm.explanation import Explanation, explain
from sentinai.llm.redaction import redact
from sentinai.llm.triage import LLMAssessment, assess

__all__ = [
    "Explanation",
    "LLMAssessment",
    "LLMCircuitOpen",
    "LLMClient",
    "LLMError",
    "LLMInvalidJSON",
    "LLMProviderError",
    "LLMReply",
    "LLMSchemaViolation",
    "LLMTimeout",
    "assess",
    "estimate_tokens",
    "explain",
    "explanation_event",
    "proposal_event",
    "proposal_payload",
    "redact",
    "spend_tokens",
    "tokens_available",
]
