"""The copilot's audit trail: who asked what, when, about which exception, and what was cited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


async def record_question(pool: asyncpg.Pool, *, tenant_id: str, key_id: str, session_id: str | None,
                          question: str, exception_id: str | None, intent: str, source: str,
                          cited_ids: list[str], detail: dict[str, Any]) -> int:
    return int(await pool.fetchval(
        "INSERT INTO copilot_questions (tenant_id, key_id, session_id, question, exception_id, "
        "intent, source, cited_ids, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        tenant_id, key_id, session_id, question, exception_id, intent, source, cited_ids, detail))


async def list_questions(pool: asyncpg.Pool, tenant_id: str, *, since: datetime | None = None,
                         limit: int = 100) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT id, key_id, session_id, asked_at, question, exception_id, intent, source, cited_ids, "
        "detail FROM copilot_questions WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR "
        "asked_at >= $2) ORDER BY asked_at DESC, id DESC LIMIT $3", tenant_id, since, limit)
    return [dict(r) for r in rows]
