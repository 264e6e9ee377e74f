"""Why an LLM call gave no usable answer: one typed error per cause.

Callers never inspect messages: the class says what happened (and the decision falls back to
the rules' result), `tokens` says what the attempt cost against the tenant's quota.
"""

from __future__ import annotations


class LLMError(Exception):
    """Base class: the call produced nothing the decision may use."""

    kind = "llm_error"

    def __init__(self, message: str, *, tokens: int = 0) -> None:
        super().__init__(message)
        self.tokens = tokens


class LLMTimeout(LLMError):
    """No answer within the client's timeout; charged the prompt (the provider may bill it)."""

    kind = "timeout"


class LLMProviderError(LLMError):
    """HTTP error, connection failure, refusal or an empty answer from the provider."""

    kind = "provider_error"


class LLMInvalidJSON(LLMError):
    """The answer was not a JSON document (prose, truncated output, ...)."""

    kind = "invalid_json"


class LLMSchemaViolation(LLMError):
    """The answer was JSON but did not satisfy the use's JSON Schema."""

    kind = "schema_violation"


class LLMModelRefused(LLMError):
    """The tenant's pack names a model the deployment does not offer (`SENTINAI_LLM_MODELS`):
    the platform's account pays for every call, so a tenant cannot pick a dearer model."""

    kind = "model_refused"


class LLMCircuitOpen(LLMError):
    """The circuit breaker is open: recent calls failed, so this one was not attempted."""

    kind = "circuit_open"
