"""Forget the rows derived from a log that is gone: what ``sentinai dev`` does at start.

``sentinai dev`` runs the embedded broker with memory storage, so every start begins a new log at
offset 0, while the embedded PostgreSQL keeps its data in the data dir. The ids the pipeline
derives (transitions, events, decisions, approvals; dead letters are unique by topic, partition
and offset) come from the input's place in the log, so the new log's input would collide with the
previous log's rows, and the sink's ``ON CONFLICT`` would drop it. The worker's own state (faust's
changelog topics) went with the old log too, so those rows are orphaned anyway.

:func:`clear_log_derived_rows` deletes, in one transaction, the rows of :data:`LOG_DERIVED_TABLES`:
the projections of the log (exceptions, their events, approvals, tool executions), dead letters,
the search index built from the exceptions, and the heartbeats of workers of the earlier run.
It keeps configuration and the records of what people and jobs did, which no log holds:
tenants, pack versions, proposals and their events, API keys, the copilot's questions (an audit
trail of what was asked, by which key; the LLM quota reads it) and the retention job's runs.

``exception_events`` is append-only; like retention (:mod:`sentinai.sinks.retention`) the delete
sets ``sentinai.retention`` for its own transaction, and uses DELETE, not TRUNCATE, which the
append-only trigger would not see.
"""

from __future__ import annotations

import asyncpg

LOG_DERIVED_TABLES = (
    "exception_search", "exception_search_queue", "search_terms", "search_stats",
    "exception_events", "approvals", "tool_executions", "exceptions", "dead_letters", "worker_heartbeats",
)
"""In the order they are deleted: the search index first (deleting ``exceptions`` prunes
``exception_search`` by trigger, which would leave its count here at 0)."""


async def clear_log_derived_rows(pool: asyncpg.Pool) -> dict[str, int]:
    """Delete every row of :data:`LOG_DERIVED_TABLES`, in one transaction; rows deleted per table."""
    deleted: dict[str, int] = {}
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL sentinai.retention = 'on'")
        for table in LOG_DERIVED_TABLES:
            status = await conn.execute(f"DELETE FROM {table}")  # "DELETE <count>"
            deleted[table] = int(status.rsplit(" ", 1)[1])
    return deleted


def describe(deleted: dict[str, int]) -> str:
    """One line for the console: what was cleared (tables with rows only) and why."""
    counts = ", ".join(f"{n} {table}" for table, n in deleted.items() if n)
    return (f"cleared     the previous run's rows ({counts or 'none'}): they came from the embedded "
            "broker's log, which it keeps in memory and lost when it stopped; new input starts again at "
            "offset 0 and would collide with them (tenants, packs, proposals, API keys and copilot "
            "questions are kept)")
