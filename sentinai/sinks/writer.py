"""The sink's database half: write a batch of events and their projections in one transaction.

The sink feed (a faust agent) hands over batches of decoded envelopes and acknowledges their
offsets only after :meth:`EventWriter.write_batch` returns, so Kafka delivers every event at least
once and the writer must make the second delivery a no-op:

* events go in with ``INSERT … ON CONFLICT (event_id) DO NOTHING`` — the deterministic event id
  turns a redelivery into a dropped duplicate;
* only the events that were actually inserted are projected. An event that is already stored had
  its projection committed in the same transaction as itself, so replays cost one index probe per
  event and nothing else;
* the projections (:mod:`sentinai.sinks.projections`) are versioned upserts, so even a replay of a
  *deleted* history or events in a different order converge on the same rows.

The rows travel as one array per column and are expanded server-side with ``unnest``: a single
round trip per table, binary parameters, no staging table to create, fill and drop. (It gives the
same guarantee as COPY into a staging table followed by ``INSERT … SELECT … ON CONFLICT DO
NOTHING``, and measured faster at the sink's batch sizes; see docs/persistence.md.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from sentinai.sinks.errors import BatchRejected, SinkError, classify
from sentinai.sinks.pool import dumps
from sentinai.sinks.projections import (
    APPROVALS,
    EXCEPTIONS,
    PROJECTIONS,
    TOOL_EXECUTIONS,
    InvalidSnapshots,
    Row,
    timestamp,
)
from sentinai.streams.envelope import EventEnvelope

_INSERT_EVENTS = """
INSERT INTO exception_events
    (event_id, tenant_id, exception_id, event_type, actor_type, actor_id, payload, occurred_at)
SELECT u.event_id, u.tenant_id, u.exception_id, u.event_type, u.actor_type, u.actor_id,
       u.payload::jsonb, u.occurred_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::timestamptz[])
     AS u(event_id, tenant_id, exception_id, event_type, actor_type, actor_id, payload, occurred_at)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

# PostgreSQL text and JSONB cannot hold the NUL character; find it before the database does, so
# the feed learns which events to dead-letter. In JSON it is the escape \u0000 preceded by an even
# number of backslashes (an odd number is an escaped backslash followed by the text "u0000").
_NUL_IN_JSON = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


@dataclass(frozen=True)
class WriteResult:
    """What one batch did: events new to the database, events it already had, rows projected."""

    inserted: int
    duplicates: int
    exceptions_upserted: int
    approvals_upserted: int = 0
    tool_executions_upserted: int = 0


class EventWriter:
    """Writes batches of events to Postgres; safe to call again with the same batch."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def write_batch(self, events: Sequence[EventEnvelope]) -> WriteResult:
        """Store ``events`` and update the projections, all in one transaction.

        Raises :class:`~sentinai.sinks.errors.SinkUnavailable` when the database cannot take the
        batch now (retry the same batch), :class:`~sentinai.sinks.errors.BatchRejected` when some
        events can never be stored as they are (``event_ids`` names them), and
        :class:`~sentinai.sinks.errors.SinkError` for anything else. Nothing is committed then.
        """
        first: dict[str, EventEnvelope] = {}
        for event in events:
            first.setdefault(event.event_id, event)
        unique = list(first.values())
        columns = _event_columns(unique)
        try:
            parsed = [p.parse(unique) for p in PROJECTIONS]
        except InvalidSnapshots as err:
            raise BatchRejected(f"{err}; batch of {len(events)} events not written",
                                event_ids=list(err.errors)) from err
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                inserted = {r[0] for r in await conn.fetch(_INSERT_EVENTS, *columns)}
                counts = []
                for projection, rows in zip(PROJECTIONS, parsed, strict=True):
                    fresh = projection.reduce(row for event_id, row in rows if event_id in inserted)
                    counts.append(await _upsert(conn, projection.sql, fresh))
        except SinkError:
            raise
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as err:
            raise classify(err, len(events)) from err
        by_table = dict(zip((p.table for p in PROJECTIONS), counts, strict=True))
        return WriteResult(
            inserted=len(inserted),
            duplicates=len(events) - len(inserted),
            exceptions_upserted=by_table[EXCEPTIONS.table],
            approvals_upserted=by_table[APPROVALS.table],
            tool_executions_upserted=by_table[TOOL_EXECUTIONS.table],
        )


def _event_columns(events: Sequence[EventEnvelope]) -> list[list[object]]:
    """The eight column arrays of the events INSERT, in event-id order (a stable lock order)."""
    columns: list[list[object]] = [[], [], [], [], [], [], [], []]
    ids, tenants, exceptions, types, actor_types, actor_ids, payloads, times = columns
    rejected = []
    for e in sorted(events, key=lambda e: e.event_id):
        payload = dumps(e.payload)
        if ("\\u0000" in payload and _NUL_IN_JSON.search(payload)) or "\x00" in (
                e.event_id + e.tenant_id + e.exception_id + e.event_type + e.actor.id):
            rejected.append(e.event_id)
        ids.append(e.event_id)
        tenants.append(e.tenant_id)
        exceptions.append(e.exception_id)
        types.append(e.event_type)
        actor_types.append(e.actor.type)
        actor_ids.append(e.actor.id)
        payloads.append(payload)
        times.append(timestamp(e.occurred_at, "occurred_at"))
    if rejected:
        raise BatchRejected(f"{len(rejected)} event(s) carry a NUL character, which PostgreSQL "
                            f"cannot store; batch of {len(events)} events not written",
                            event_ids=rejected)
    return columns


async def _upsert(conn: asyncpg.Connection, sql: str, rows: list[Row]) -> int:
    if not rows:
        return 0
    status = await conn.execute(sql, *(list(column) for column in zip(*rows, strict=True)))
    return int(status.rsplit(" ", 1)[1])
