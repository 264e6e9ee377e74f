"""The model's answer, accepted only when it is grounded in what was retrieved.

The model sees the question and the retrieved items of the caller's tenant, redacted, and answers
in the copilot JSON Schema: claims, each citing item keys. The answer is refused — and the caller
falls back to the template answer — when the call fails in any way (see `sentinai.llm.errors`),
when a claim cites a key that was not retrieved, or when it cites nothing. So whatever a payload
makes the model say, the answer can only point at records the code chose to retrieve. The model is
not asked at all when the call could exceed the tenant's LLM tokens per minute (`quota`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sentinai.copilot import quota
from sentinai.copilot.retrieval import Item
from sentinai.copilot.templates import Answer, Context
from sentinai.llm.budget import estimate_tokens
from sentinai.llm.client import LLMClient
from sentinai.llm.errors import LLMError
from sentinai.llm.prompts import copilot_prompt
from sentinai.llm.schemas import COPILOT, load_schema

MAX_ANSWER_CHARS = 6_000


@dataclass(frozen=True)
class Grounded:
    """The model's answer (``answer``), or why there is none (``reason``)."""

    answer: Answer | None
    reason: str | None
    model: str
    tokens: int


def _record(item: Item) -> dict[str, object]:
    return {"key": item.key, "type": item.type, "title": item.title, "snippet": item.snippet,
            "data": item.data}


async def grounded_answer(client: LLMClient, ctx: Context, *, model: str | None, tokens_spent: int,
                          tokens_per_minute: int, redact_fields: Iterable[str] = ()) -> Grounded:
    """The model's grounded answer to `ctx`, asked only if its worst case fits in the tenant's quota.

    `tokens_spent` is what the tenant's copilot spent in the last minute (`quota.tokens_spent`),
    `tokens_per_minute` the tenant's `quotas.llmTokensPerMinute`.
    """
    chosen = model or client.default_model
    items = {item.key: item for item in ctx.items}
    prompt = copilot_prompt(ctx.question, ctx.intent, [_record(i) for i in items.values()],
                            redact_fields=redact_fields)
    needed = estimate_tokens(prompt.system) + estimate_tokens(prompt.user) + client.max_output_tokens
    refused = quota.refusal(spent=tokens_spent, needed=needed, per_minute=tokens_per_minute)
    if refused is not None:
        return Grounded(None, refused, chosen, 0)
    try:
        reply = await client.complete_json(model=chosen, system=prompt.system, user=prompt.user,
                                           schema=load_schema(COPILOT), schema_name=COPILOT)
    except LLMError as err:
        return Grounded(None, f"{err.kind}: {err}", chosen, err.tokens)
    cited: dict[str, Item] = {}
    texts = []
    for claim in reply.data["claims"]:
        unknown = [key for key in claim["citations"] if key not in items]
        if unknown:
            return Grounded(None, f"ungrounded: cites {unknown[0][:80]!r}, which was not retrieved",
                            reply.model, reply.tokens)
        cited.update((key, items[key]) for key in claim["citations"])
        texts.append(" ".join(claim["text"].split()))
    text = " ".join(texts)[:MAX_ANSWER_CHARS]
    return Grounded(Answer(text, list(cited.values()), float(reply.data["confidence"])), None,
                    reply.model, reply.tokens)
