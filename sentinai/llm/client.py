"""The one door to the model: structured JSON out, typed errors, a hard timeout and a breaker.

Any OpenAI-compatible server works (`base_url`). The client asks for structured output against
a JSON Schema, then trusts nothing: it parses the answer itself and validates it with
jsonschema. The SDK's own retries are off (`max_retries=0`): a retry would spend the tenant's
tokens and the decision's time budget, and the rules' result is always there to fall back to.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import jsonschema
import openai
from jsonschema.exceptions import best_match

from sentinai.llm.breaker import CircuitBreaker
from sentinai.llm.budget import estimate_tokens
from sentinai.llm.errors import (
    LLMCircuitOpen,
    LLMInvalidJSON,
    LLMModelRefused,
    LLMProviderError,
    LLMSchemaViolation,
    LLMTimeout,
)

if TYPE_CHECKING:
    from sentinai.settings import Settings

NO_KEY = "not-set"
"""Sent when no key is configured: local servers ignore it, a real provider answers 401."""

_DETAIL_CHARS = 200


@dataclass(frozen=True, slots=True)
class LLMReply:
    """A validated answer: the JSON object, the model that answered and the tokens it cost."""

    data: dict[str, Any]
    model: str
    tokens: int
    tokens_estimated: bool


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


class LLMClient:
    """Wraps `openai.AsyncOpenAI`; one instance per process, shared by every tenant.

    `timeout` bounds each call end to end (`asyncio.wait_for` on top of the SDK's own timeout,
    which does not cover every phase). `max_output_tokens` caps each answer, so a call's cost is
    known before it is made.
    """

    def __init__(self, *, base_url: str | None, api_key: str | None, default_model: str,
                 timeout: float, max_output_tokens: int = 600, temperature: float = 0.0,
                 breaker: CircuitBreaker | None = None, models: Iterable[str] = ()) -> None:
        self.default_model = default_model
        self.models = frozenset(models) | {default_model}
        self.timeout = timeout
        self.max_output_tokens = max_output_tokens
        self.temperature = temperature
        self.breaker = breaker or CircuitBreaker()
        self._openai = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or NO_KEY,
                                          timeout=timeout, max_retries=0)

    @classmethod
    def for_deployment(cls, settings: Settings) -> LLMClient:
        """The client of the deployment's LLM settings (`SENTINAI_LLM_*`)."""
        return cls(base_url=settings.llm_base_url, api_key=settings.llm_api_key, default_model=settings.llm_model,
                   timeout=settings.llm_timeout_seconds, models=settings.llm_models)

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        await self._openai.close()

    async def complete_json(self, *, model: str | None, system: str, user: str,
                            schema: dict[str, Any], schema_name: str) -> LLMReply:
        """Ask `model` (or the default) for a JSON object satisfying `schema`.

        Raises an `LLMError` subclass for every way the call can fail; `error.tokens` is what the
        attempt should be charged.
        """
        if not self.breaker.allow():
            raise LLMCircuitOpen(
                f"circuit open after repeated failures; next probe in {self.breaker.retry_after():.0f}s")
        chosen = model or self.default_model
        if chosen not in self.models:
            raise LLMModelRefused(f"model {chosen[:100]!r} is not offered by this deployment "
                                  f"(offered: {', '.join(sorted(self.models))})")
        prompt_tokens = estimate_tokens(system) + estimate_tokens(user)
        try:
            completion = await asyncio.wait_for(self._request(chosen, system, user, schema, schema_name),
                                                self.timeout)
        except asyncio.CancelledError:
            self.breaker.release()
            raise
        except (TimeoutError, openai.APITimeoutError) as err:
            self.breaker.record_failure()
            raise LLMTimeout(f"no answer from {chosen} within {self.timeout:g}s",
                             tokens=prompt_tokens) from err
        except openai.APIStatusError as err:
            self.breaker.record_failure()
            raise LLMProviderError(f"{chosen} answered HTTP {err.status_code}: {_short(err.message)}") from err
        except openai.OpenAIError as err:
            self.breaker.record_failure()
            raise LLMProviderError(f"{chosen} could not be reached: {_short(str(err))}") from err
        self.breaker.record_success()
        return self._reply(completion, chosen, prompt_tokens, schema)

    async def _request(self, model: str, system: str, user: str, schema: dict[str, Any],
                       schema_name: str) -> Any:
        return await self._openai.chat.completions.create(
            model=model,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            response_format={"type": "json_schema",
                             "json_schema": {"name": schema_name, "schema": schema, "strict": True}},
            max_tokens=self.max_output_tokens,
            temperature=self.temperature,
        )

    def _reply(self, completion: Any, model: str, prompt_tokens: int,
               schema: dict[str, Any]) -> LLMReply:
        choices = completion.choices or []
        message = choices[0].message if choices else None
        content = message.content if message is not None else None
        usage = getattr(completion, "usage", None)
        total = getattr(usage, "total_tokens", None)
        estimated = not (isinstance(total, int) and total > 0)
        tokens = total if isinstance(total, int) and total > 0 else (
            prompt_tokens + estimate_tokens(content or ""))
        if message is not None and getattr(message, "refusal", None):
            raise LLMProviderError(f"{model} refused: {_short(message.refusal)}", tokens=tokens)
        if not content:
            raise LLMProviderError(f"{model} returned no content", tokens=tokens)
        try:
            data = json.loads(content)
        except ValueError as err:
            raise LLMInvalidJSON(f"answer is not JSON: {_short(content)}", tokens=tokens) from err
        error = best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            raise LLMSchemaViolation(f"answer violates the schema at {where}: {_short(error.message)}",
                                     tokens=tokens)
        return LLMReply(data=data, model=getattr(completion, "model", None) or model, tokens=tokens,
                        tokens_estimated=estimated)
