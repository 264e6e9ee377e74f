"""A plain-language explanation of a final decision, for the web view.

Best effort by design: the explanation decides nothing, so any failure is simply no text
(`Explanation.text is None`), never an error. The tokens are reported either way, so the
caller can charge the tenant's quota for the attempt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sentinai.core.models import DecisionOutcome
from sentinai.llm.budget import estimate_tokens
from sentinai.llm.client import LLMClient
from sentinai.llm.errors import LLMError
from sentinai.llm.prompts import explanation_prompt
from sentinai.llm.schemas import EXPLANATION, load_schema

MAX_EXPLANATION_CHARS = 2_000


@dataclass(frozen=True, slots=True)
class Explanation:
    text: str | None
    """The explanation; None when there is none (quota, provider or answer failure: see `reason`)."""
    tokens: int
    """Tokens to charge to the tenant's LLM quota."""
    model: str
    reason: str | None = None


async def explain(client: LLMClient, outcome: DecisionOutcome, *, model: str | None,
                  tokens_available: float = float("inf"),
                  redact_fields: Iterable[str] = ()) -> Explanation:
    """Explain `outcome` in a few sentences with `model` (None: the client's default)."""
    chosen = model or client.default_model
    prompt = explanation_prompt(outcome, redact_fields=redact_fields)
    needed = estimate_tokens(prompt.system) + estimate_tokens(prompt.user) + client.max_output_tokens
    if tokens_available < needed:
        return Explanation(None, 0, chosen, f"token quota: the call needs up to {needed} tokens")
    try:
        reply = await client.complete_json(model=chosen, system=prompt.system, user=prompt.user,
                                           schema=load_schema(EXPLANATION), schema_name=EXPLANATION)
    except LLMError as err:
        return Explanation(None, err.tokens, chosen, f"{err.kind}: {err}")
    text = " ".join(str(reply.data["explanation"]).split())[:MAX_EXPLANATION_CHARS]
    return Explanation(text or None, reply.tokens, reply.model, None if text else "empty explanation")
