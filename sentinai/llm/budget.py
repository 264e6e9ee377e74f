"""The tenant's LLM token quota (`quotas.llmTokensPerMinute`) as a token bucket.

The bucket has the `{"tokens", "at"}` shape of `sentinai.tables.tenant_state.take_token`'s, so it
can live in the same tenant state, but it spends a call's real token count rather than one
token per message. It refills at `per_minute / 60` tokens a second up to one minute's worth, and
may go below zero when a call used more than was estimated: the debt delays the next calls.
"""

from __future__ import annotations

import math

TokenBucket = dict[str, float]

CHARS_PER_TOKEN = 4
"""Rough size of a token in characters for English and JSON (used when usage is absent)."""


def estimate_tokens(text: str) -> int:
    """A conservative token count of `text`, for budgeting before a call and when a reply has no usage."""
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def tokens_available(bucket: TokenBucket | None, *, per_minute: int, now_epoch: float) -> float:
    """Tokens the tenant may spend now (a new tenant starts with a full minute's worth)."""
    if bucket is None:
        return float(per_minute)
    refill = max(0.0, now_epoch - bucket["at"]) * per_minute / 60.0
    return min(float(per_minute), bucket["tokens"] + refill)


def spend_tokens(bucket: TokenBucket | None, tokens: int, *, per_minute: int,
                 now_epoch: float) -> TokenBucket:
    """The bucket after spending `tokens` now; a pure function for an idempotent table update."""
    available = tokens_available(bucket, per_minute=per_minute, now_epoch=now_epoch)
    return {"tokens": available - tokens, "at": now_epoch}
