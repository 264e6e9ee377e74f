"""Builds the search documents of the exceptions the sink queued (migration 0004_i20).

The sink's transaction only queues keys; this turns them into documents off the hot path, a
batch per statement. Workers may drain at the same time (``SKIP LOCKED``): each batch is taken by
one of them. A row that changes again while its document is being built is queued again by the
trigger, so the document converges on the row.
"""

from __future__ import annotations

import asyncpg

BATCH = 2000

_DRAIN = """
WITH batch AS (
    DELETE FROM exception_search_queue q
     WHERE (q.tenant_id, q.exception_id) IN (
           SELECT tenant_id, exception_id FROM exception_search_queue
            LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING q.tenant_id, q.exception_id
), built AS (
    INSERT INTO exception_search AS s (tenant_id, exception_id, exception_type, document)
    SELECT e.tenant_id, e.exception_id, e.exception_type,
           exception_search_document(e.exception_type, e.severity, e.source_system,
                                     e.normalized_context, e.raw_payload)
      FROM batch b JOIN exceptions e USING (tenant_id, exception_id)
    ON CONFLICT (tenant_id, exception_id) DO UPDATE
       SET exception_type = EXCLUDED.exception_type, document = EXCLUDED.document
     WHERE s.document IS DISTINCT FROM EXCLUDED.document
)
SELECT count(*) FROM batch
"""


async def index_queued(pool: asyncpg.Pool, *, batch: int = BATCH, max_batches: int = 50) -> int:
    """Build the documents of queued exceptions, ``batch`` at a time; returns how many were taken."""
    taken = 0
    for _ in range(max_batches):
        n = int(await pool.fetchval(_DRAIN, batch))
        taken += n
        if n < batch:
            break
    return taken
