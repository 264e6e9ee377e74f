"""The dead-letter store: every message the pipeline could not process, kept for operators.

A dead letter is identified by where it came from (topic, partition, offset): the DLQ consumer can
see the same Kafka message again after a restart, and recording it again is a no-op. Reads are
tenant-scoped; letters whose tenant could not be determined (``tenant_id`` NULL) are visible to no
tenant's view.
"""

from __future__ import annotations

from typing import Any

import asyncpg

_SUMMARY = """id, tenant_id, source_topic, source_partition, source_offset, stage, error_class,
              error_message, headers, status, created_at, replayed_at,
              octet_length(value) AS value_size"""


async def record_dead_letter(pool: asyncpg.Pool, *, tenant_id: str | None, source_topic: str,
                             source_partition: int, source_offset: int, stage: str, error_class: str,
                             error_message: str, headers: dict[str, str], key: bytes | None,
                             value: bytes | None, original_headers: list[list[str]] | None = None) -> None:
    """Store one dead letter; a second call for the same (topic, partition, offset) changes nothing.

    ``original_headers`` are the original message's headers as a replay sends them again:
    ``[[name, base64 value], …]`` in order (``headers`` is text for reading: one value per name).
    """
    await pool.execute(
        """INSERT INTO dead_letters (tenant_id, source_topic, source_partition, source_offset, stage,
                                     error_class, error_message, headers, key, value, original_headers)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT ON CONSTRAINT dead_letters_source DO NOTHING""",
        tenant_id, source_topic, source_partition, source_offset, stage, error_class,
        error_message, headers, key, value, original_headers,
    )


async def list_dead_letters(pool: asyncpg.Pool, tenant_id: str, *, limit: int = 50,
                            before_id: int | None = None) -> list[dict[str, Any]]:
    """The tenant's dead letters, newest first, ``limit`` at a time; page with the last ``id``.

    Rows carry ``value_size`` instead of the key and value bytes (a page of letters can hold
    megabytes); :func:`get_dead_letter` returns one with its bytes.
    """
    rows = await pool.fetch(
        f"""SELECT {_SUMMARY} FROM dead_letters
            WHERE tenant_id = $1 AND ($2::bigint IS NULL OR id < $2)
            ORDER BY id DESC LIMIT $3""",
        tenant_id, before_id, limit,
    )
    return [dict(r) for r in rows]


async def get_dead_letter(pool: asyncpg.Pool, tenant_id: str, dead_letter_id: int) -> dict[str, Any] | None:
    """One of the tenant's dead letters with its key and value bytes, or None."""
    row = await pool.fetchrow(
        f"SELECT {_SUMMARY}, key, value, original_headers FROM dead_letters WHERE tenant_id = $1 AND id = $2",
        tenant_id, dead_letter_id,
    )
    return dict(row) if row else None


async def claim_replay(pool: asyncpg.Pool, tenant_id: str, dead_letter_id: int, *,
                       force: bool = False) -> dict[str, Any] | None:
    """Mark the letter replayed (now) unless it already was; with ``force``, in any case.

    Returns its status and ``replayed_at`` from before (for :func:`undo_replay`), or None when it
    was already replayed and ``force`` is not set. One statement with the row locked, so two
    concurrent replays of one letter cannot both claim it.
    """
    row = await pool.fetchrow(
        """WITH before AS (SELECT id, status, replayed_at FROM dead_letters
                           WHERE tenant_id = $1 AND id = $2 FOR UPDATE)
           UPDATE dead_letters d SET status = 'replayed', replayed_at = now() FROM before
           WHERE d.id = before.id AND ($3 OR before.status <> 'replayed')
           RETURNING before.status, before.replayed_at""",
        tenant_id, dead_letter_id, force,
    )
    return dict(row) if row else None


async def undo_replay(pool: asyncpg.Pool, tenant_id: str, dead_letter_id: int, before: dict[str, Any]) -> None:
    """Put back the status a claim replaced (the replay could not be sent)."""
    await pool.execute("UPDATE dead_letters SET status = $3, replayed_at = $4 WHERE tenant_id = $1 AND id = $2",
                       tenant_id, dead_letter_id, before["status"], before["replayed_at"])
