"""The sink's database half: write a batch of transitions — their events and projections — in one
transaction.

The sink feed hands over batches of decoded transitions and acknowledges their offsets only after
:meth:`EventWriter.write_batch` returns, so Kafka delivers every transition at least once and the
writer must turn a second delivery into a no-op:

* the deterministic ``event_id`` is the primary key of ``exception_events``, and the writer COPYs
  the batch straight into the table — PostgreSQL's bulk-insert path, several times cheaper per row
  than ``INSERT … ON CONFLICT``. While no duplicates are seen it does so without looking first: a
  COPY that hits an event already stored fails on the key, the transaction rolls back, and the
  writer writes the batch again after looking its ids up (one index probe each), COPYing only the
  new events. It keeps probing first for as long as batches bring duplicates (a replay after a
  rewind pays one failed COPY, not one per batch). The guarantee is the same one ``ON CONFLICT DO
  NOTHING`` gives: the primary key decides. If a concurrent writer (two workers overlapping during
  a rebalance) commits one of the same events between probe and COPY, the COPY fails on the key,
  the transaction rolls back and the writer tries again; the probe then sees that event. Nothing is
  stored twice, nothing is skipped.
* only the events that were new are projected (:mod:`sentinai.sinks.projections`), and the
  exception snapshot of a transition only when some of its events were new. An event already
  stored had its projection committed in the same transaction as itself, so a replay costs one
  probe per event and nothing else;
* the projections are versioned upserts, so reordered events and replays of a history that
  retention deleted converge on the same rows.

A malformed snapshot is found in Python before anything is sent, with its event id; what only the
database can refuse (say, a NUL character, which PostgreSQL text cannot hold) is traced to its
events by writing them one by one in a transaction that is rolled back. Either way the caller gets
:class:`~sentinai.sinks.errors.BatchRejected` naming the transitions to dead-letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

import asyncpg

from sentinai.sinks.errors import BatchRejected, SinkUnavailable, classify
from sentinai.sinks.projections import (
    APPROVALS,
    EXCEPTIONS,
    PROJECTIONS,
    TOOL_EXECUTIONS,
    Fact,
    InvalidSnapshots,
    Row,
)
from sentinai.streams.transition import Transition

_EVENT_COLUMNS = ("event_id", "tenant_id", "exception_id", "event_type", "actor_type", "actor_id",
                  "payload", "occurred_at", "seq")
_PROBE = "SELECT event_id FROM exception_events WHERE event_id = ANY($1::text[])"
_ATTEMPTS_AGAINST_CONCURRENT_WRITERS = 3

# What the database says when the data itself is at fault (SQLSTATE classes 22 and 23): retrying
# cannot help, but writing the events one by one can tell which of them it refuses.
_REJECTIONS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)
_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


@dataclass(frozen=True)
class WriteResult:
    """What one batch did: events new to the database, events it already had, rows projected."""

    inserted: int
    duplicates: int
    exceptions_upserted: int
    approvals_upserted: int = 0
    tool_executions_upserted: int = 0


class EventWriter:
    """Writes batches of events to Postgres; safe to call again with the same batch.

    The pool must come from :func:`sentinai.sinks.pool.open_pool` (its JSONB codec is what lets
    COPY take the payload dicts).
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # Probe before the COPY? Yes at first (a restarted consumer replays its last batches), then
        # only while batches bring duplicates: a fresh batch then costs no probe at all.
        self._probe_first = True

    async def write_batch(self, transitions: Sequence[Transition]) -> WriteResult:
        """Store the transitions' events and update the projections, all in one transaction.

        Raises :class:`~sentinai.sinks.errors.SinkUnavailable` when the database cannot take the
        batch now (retry the same batch), :class:`~sentinai.sinks.errors.BatchRejected` when some
        transitions can never be stored as they are (``event_ids`` names their transition ids:
        dead-letter those and write the rest), and :class:`~sentinai.sinks.errors.SinkError` for
        anything else. Nothing of the batch is committed then.
        """
        first: dict[str, Transition] = {}
        for item in transitions:
            first.setdefault(item.transition_id, item)
        batch = sorted(first.values(), key=_lock_order)
        received = sum(len(t.events) for t in transitions)
        try:
            return await self._write_retrying(batch, received)
        except InvalidSnapshots as err:
            raise BatchRejected(f"{err}; batch of {len(transitions)} transitions not written",
                                event_ids=_transitions_of(batch, err.errors)) from err
        except _REJECTIONS as err:
            try:
                culprits = await self._refused_transitions(batch)
            except _FAILURES as during_search:
                raise classify(during_search, received) from err
            raise BatchRejected(
                f"PostgreSQL refused {len(culprits) or 'no single'} transition(s) of the batch "
                f"({type(err).__name__}: {err}); batch of {len(transitions)} transitions not written",
                event_ids=culprits) from err
        except _FAILURES as err:
            raise classify(err, received) from err

    async def _write_retrying(self, batch: list[Transition], received: int) -> WriteResult:
        attempts_left = _ATTEMPTS_AGAINST_CONCURRENT_WRITERS
        probe = self._probe_first
        # Worked out before a connection is taken: the transaction then holds its backend only for
        # the statements, and the other batch in flight has the Python side meanwhile.
        whole: _Prepared | None = None
        while True:
            try:
                if not probe and whole is None:
                    whole = _Prepared.of(batch)
                async with self._pool.acquire() as conn, conn.transaction():
                    result = await _write(conn, batch, received, prepared=None if probe else whole)
                self._probe_first = result.duplicates > 0
                return result
            except (asyncpg.UniqueViolationError, InvalidSnapshots) as err:
                if not probe:
                    # Some events were stored already, or some snapshots are malformed (only those
                    # of events not stored yet count, as with the probe): again, probing first.
                    self._probe_first = probe = True
                    continue
                if isinstance(err, InvalidSnapshots):
                    raise
                attempts_left -= 1
                if attempts_left == 0:
                    raise SinkUnavailable(
                        f"concurrent writers kept storing the same events ({err}); batch of "
                        f"{received} events not written, retry it") from err

    async def _refused_transitions(self, batch: list[Transition]) -> list[str]:
        """Ids of the transitions the database refuses on their own (tried one by one, rolled back)."""
        refused = []
        async with self._pool.acquire() as conn:
            outer = conn.transaction()
            await outer.start()
            try:
                for item in batch:
                    try:
                        async with conn.transaction():
                            await _write(conn, [item], len(item.events), prepared=None)
                    except (*_REJECTIONS, InvalidSnapshots):
                        refused.append(item.transition_id)
            finally:
                await outer.rollback()
        return refused


def _lock_order(item: Transition) -> tuple[str, str, str]:
    """The order a batch is written in: one total order for every writer, so writers that overlap
    (two workers during a rebalance) cannot deadlock; grouped by exception, so that consecutive
    rows land on the same pages of the timeline index."""
    return (item.tenant_id, item.exception_id or "", item.transition_id)


def _transitions_of(batch: list[Transition], ids: Sequence[str]) -> list[str]:
    """The transitions that hold these events (or are these transitions)."""
    wanted = set(ids)
    return [t.transition_id for t in batch
            if t.transition_id in wanted or any(e.event_id in wanted for e in t.events)]


@dataclass(frozen=True)
class _Prepared:
    """A batch as the statements take it: the events' COPY records and each projection's rows."""

    events: int
    records: list[Row]
    rows: list[list[Row]]

    @classmethod
    def of(cls, transitions: list[Transition], stored: set[str] | frozenset[str] = frozenset()) -> _Prepared:
        """The events of ``transitions`` not in ``stored``, and the snapshots of the transitions
        that have some. Raises :class:`InvalidSnapshots` naming every event (or transition) that
        cannot be projected."""
        records: list[Row] = []
        subjects: list[Fact] = []
        facts: list[Fact] = []
        taken = set(stored)  # an event in two transitions of the batch (a replay that differs) is written once
        for item in transitions:
            tenant, exception_id = item.tenant_id, item.exception_id or ""
            new = [e for e in item.events if e.event_id not in taken]
            if not new:
                continue
            taken.update(e.event_id for e in new)
            last = item.events[-1].occurred_at
            if item.exception is not None:
                subjects.append(Fact(item.transition_id, tenant, exception_id,
                                     last if last.tzinfo else last.replace(tzinfo=UTC), {"exception": item.exception}))
            for e in new:
                records.append((e.event_id, tenant, exception_id, e.event_type, e.actor.type, e.actor.id,
                                e.payload, e.occurred_at, e.version))
                payload = e.payload
                if "approval" in payload or "tool_execution" in payload:
                    facts.append(Fact(e.event_id, tenant, exception_id, e.occurred_at, payload))
        records.sort(key=_record_order)
        rows, invalid = [], {}
        for projection, items in ((EXCEPTIONS, subjects), (APPROVALS, facts), (TOOL_EXECUTIONS, facts)):
            try:
                rows.append(projection.rows(items))
            except InvalidSnapshots as err:
                invalid.update(err.errors)
        if invalid:
            raise InvalidSnapshots(invalid)
        return cls(len(records), records, rows)


def _record_order(record: Row) -> tuple[str, str, str]:
    return (record[1], record[2], record[0])


async def _write(conn: asyncpg.Connection, batch: list[Transition], received: int, *,
                 prepared: _Prepared | None) -> WriteResult:
    """Write ``batch`` (distinct transitions). ``prepared`` is the whole batch, written without
    looking first (an event already stored fails the COPY); without it, the stored events are
    probed for and only the new ones are prepared and written."""
    if prepared is None:
        ids = list({e.event_id for t in batch for e in t.events})
        stored = {r[0] for r in await conn.fetch(_PROBE, ids)}
        prepared = _Prepared.of(batch, stored)
        if not prepared.events:
            return WriteResult(inserted=0, duplicates=received, exceptions_upserted=0)
    await conn.copy_records_to_table("exception_events", columns=_EVENT_COLUMNS, records=prepared.records)
    counts = [await _upsert(conn, p.sql, r) for p, r in zip(PROJECTIONS, prepared.rows, strict=True)]
    by_table = dict(zip((p.table for p in PROJECTIONS), counts, strict=True))
    return WriteResult(
        inserted=prepared.events,
        duplicates=received - prepared.events,
        exceptions_upserted=by_table[EXCEPTIONS.table],
        approvals_upserted=by_table[APPROVALS.table],
        tool_executions_upserted=by_table[TOOL_EXECUTIONS.table],
    )


async def _upsert(conn: asyncpg.Connection, sql: str, rows: list[Row]) -> int:
    if not rows:
        return 0
    status = await conn.execute(sql, *(list(column) for column in zip(*rows, strict=True)))
    return int(status.rsplit(" ", 1)[1])
