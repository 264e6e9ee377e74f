"""The copilot's model calls charged to the tenant's ``quotas.llmTokensPerMinute``.

The web view cannot read the workers' faust tables, so the copilot's spend is what its own audit
trail recorded: the ``tokens`` of the tenant's ``copilot_questions`` rows of the last minute, read
from PostgreSQL, so the bound holds across web-view processes and restarts. Before a call, that
spend plus the call's worst case (the prompt's estimate plus the client's ``max_output_tokens``, as
the stream's LLM stage budgets its calls) must fit in the minute's tokens; otherwise the model is
not asked and the template answer stands, with ``fallback_reason`` ``llm_quota: …``. A zero quota
means the copilot never asks the model.

No lock is held across the model call: questions asked at the same moment each read the spend
before the first is recorded, so the minute's tokens can be exceeded by at most one call's tokens
per question in flight. The stream's LLM stage keeps its own bucket (a faust table) for the same
quota: the copilot and the workers are each bounded by ``llmTokensPerMinute``, not by their sum.
"""

from __future__ import annotations

import asyncpg

REASON = "llm_quota"
"""The ``fallback_reason`` of an answer the quota kept from the model starts with ``llm_quota:``."""

WINDOW_SECONDS = 60


async def tokens_spent(pool: asyncpg.Pool, tenant_id: str) -> int:
    """Model tokens recorded for the tenant's copilot questions in the last ``WINDOW_SECONDS``."""
    return int(await pool.fetchval(
        "SELECT coalesce(sum((detail->>'tokens')::bigint), 0) FROM copilot_questions "
        "WHERE tenant_id = $1 AND asked_at > now() - make_interval(secs => $2)",
        tenant_id, WINDOW_SECONDS))


def refusal(*, spent: int, needed: int, per_minute: int) -> str | None:
    """Why the model may not be asked now, or None when ``spent + needed`` fits in ``per_minute``."""
    if per_minute <= 0:
        return f"{REASON}: the tenant's llmTokensPerMinute is 0; answered from templates"
    if spent + needed > per_minute:
        return (f"{REASON}: {spent} of {per_minute} tokens per minute spent, this question needs up "
                f"to {needed}; answered from templates")
    return None
