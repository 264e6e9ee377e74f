"""The tables that are versioned projections of the event log: exceptions, approvals, tool executions.

An event carries the state of its subject *after* the change (``payload["exception"]``,
``payload["approval"]``, ``payload["tool_execution"]``) with a version number. A row is replaced
only by a strictly newer version, so replayed or reordered events never move it backwards and the
final state depends on which events were written, not in which order. Two kinds of column are
merged instead of replaced, and for the same reason:

* *fill* columns (the exception's raw payload and normalized context, sent once, on
  ExceptionNormalized) keep the newest non-null value and are filled by an older event when still
  empty: later snapshots that omit them never erase them;
* *earliest* columns (``created_at``) keep the earliest value seen.

Each projection writes a whole batch with one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO
UPDATE … WHERE`` statement; rows are reduced per key in Python first (PostgreSQL refuses to
update one row twice in a statement) and sorted by key so that concurrent writers lock rows in the
same order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sentinai.sinks.pool import dumps
from sentinai.streams.envelope import EventEnvelope

Row = tuple[Any, ...]


class SnapshotError(ValueError):
    """A snapshot in an event payload is missing a field or has one of the wrong type."""


class InvalidSnapshots(ValueError):
    """Some events of a batch carry malformed snapshots: ``errors`` maps event id → reason."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        first = next(iter(errors.items()))
        super().__init__(f"{len(errors)} event(s) with a malformed snapshot, e.g. {first[0]}: {first[1]}")
        self.errors = dict(errors)


def timestamp(value: object, field: str) -> datetime | None:
    """An ISO-8601 string (or a datetime) as an aware datetime; naive values are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise SnapshotError(f"{field}: not an ISO-8601 timestamp: {value!r}") from None
    if not isinstance(value, datetime):
        raise SnapshotError(f"{field}: expected an ISO-8601 string, got {type(value).__name__}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _int(value: object, field: str, *, required: bool = False) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SnapshotError(f"{field}: expected an integer, got {value!r}")
    return value


def _text(value: object, field: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise SnapshotError(f"{field}: expected a string, got {value!r}")
    return value


def _json(value: object) -> str | None:
    return None if value is None else dumps(value)


@dataclass(frozen=True)
class Projection:
    """One projected table: which payload key feeds it and how a snapshot becomes a row."""

    table: str
    payload_key: str
    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (column, PostgreSQL type), in row order
    to_row: Callable[[EventEnvelope, Mapping[str, Any]], Row]
    fill: tuple[str, ...] = ()
    earliest: tuple[str, ...] = ()

    @cached_property
    def sql(self) -> str:
        return _upsert_sql(self)

    def parse(self, events: Iterable[EventEnvelope]) -> list[tuple[str, Row]]:
        """``(event_id, row)`` for every event that carries this projection's snapshot.

        Raises :class:`InvalidSnapshots` naming every event whose snapshot is malformed, so the
        caller can dead-letter exactly those.
        """
        parsed: list[tuple[str, Row]] = []
        invalid: dict[str, str] = {}
        for event in events:
            snapshot = event.payload.get(self.payload_key)
            if snapshot is None:
                continue
            try:
                if not isinstance(snapshot, Mapping):
                    raise SnapshotError(f"payload.{self.payload_key}: expected an object")
                parsed.append((event.event_id, self.to_row(event, snapshot)))
            except SnapshotError as err:
                invalid[event.event_id] = str(err)
        if invalid:
            raise InvalidSnapshots(invalid)
        return parsed

    def reduce(self, rows: Iterable[Row]) -> list[Row]:
        """One row per key, merged as the upsert would merge them, sorted by key."""
        names = [name for name, _ in self.columns]
        key_at = [names.index(k) for k in self.key]
        version_at = names.index("version")
        fill_at = [names.index(c) for c in self.fill]
        earliest_at = [names.index(c) for c in self.earliest]
        reduced: dict[tuple[Any, ...], Row] = {}
        for row in rows:
            key = tuple(row[i] for i in key_at)
            held = reduced.get(key)
            if held is None:
                reduced[key] = row
                continue
            newer, older = (row, held) if row[version_at] > held[version_at] else (held, row)
            merged = list(newer)
            for i in fill_at:
                merged[i] = newer[i] if newer[i] is not None else older[i]
            for i in earliest_at:
                merged[i] = min(newer[i], older[i])
            reduced[key] = tuple(merged)
        return [reduced[k] for k in sorted(reduced)]


def _upsert_sql(p: Projection) -> str:
    names = [name for name, _ in p.columns]
    params = ", ".join(f"${i}::{'text' if t == 'jsonb' else t}[]" for i, (_, t) in enumerate(p.columns, 1))
    select = ", ".join(f"u.{n}::jsonb" if t == "jsonb" else f"u.{n}" for n, t in p.columns)
    newer = "t.version < EXCLUDED.version"
    sets, wheres = [], [newer]
    for name in names:
        if name in p.key:
            continue
        if name in p.fill:
            sets.append(f"{name} = CASE WHEN {newer} THEN COALESCE(EXCLUDED.{name}, t.{name}) "
                        f"ELSE COALESCE(t.{name}, EXCLUDED.{name}) END")
            wheres.append(f"(t.{name} IS NULL AND EXCLUDED.{name} IS NOT NULL)")
        elif name in p.earliest:
            sets.append(f"{name} = LEAST(t.{name}, EXCLUDED.{name})")
            wheres.append(f"EXCLUDED.{name} < t.{name}")
        else:
            sets.append(f"{name} = CASE WHEN {newer} THEN EXCLUDED.{name} ELSE t.{name} END")
    return (
        f"INSERT INTO {p.table} AS t ({', '.join(names)}) "
        f"SELECT {select} FROM unnest({params}) AS u({', '.join(names)}) "
        f"ON CONFLICT ({', '.join(p.key)}) DO UPDATE SET {', '.join(sets)} "
        f"WHERE {' OR '.join(wheres)}"
    )


def _exception_row(event: EventEnvelope, s: Mapping[str, Any]) -> Row:
    f = "payload.exception."
    occurred = timestamp(event.occurred_at, "occurred_at")
    return (
        event.tenant_id, event.exception_id,
        _text(s.get("source_system"), f + "source_system"),
        _text(s.get("exception_type"), f + "exception_type"),
        _text(s.get("severity"), f + "severity"),
        _text(s.get("status"), f + "status", required=True),
        _text(s.get("owner"), f + "owner"),
        _text(s.get("playbook_id"), f + "playbook_id"),
        _int(s.get("current_step"), f + "current_step"),
        timestamp(s.get("sla_deadline"), f + "sla_deadline"),
        _json(s.get("raw_payload")),
        _json(s.get("normalized_context")),
        _int(s.get("version"), f + "version", required=True),
        occurred, occurred,
    )


def _approval_row(event: EventEnvelope, s: Mapping[str, Any]) -> Row:
    f = "payload.approval."
    return (
        event.tenant_id,
        _text(s.get("approval_id"), f + "approval_id", required=True),
        event.exception_id,
        _text(s.get("status"), f + "status", required=True),
        _text(s.get("reason"), f + "reason"),
        timestamp(s.get("requested_at"), f + "requested_at") or event.occurred_at,
        timestamp(s.get("expires_at"), f + "expires_at"),
        _text(s.get("decided_by"), f + "decided_by"),
        timestamp(s.get("decided_at"), f + "decided_at"),
        _text(s.get("comment"), f + "comment"),
        _int(s.get("version"), f + "version", required=True),
    )


def _tool_execution_row(event: EventEnvelope, s: Mapping[str, Any]) -> Row:
    f = "payload.tool_execution."
    return (
        event.tenant_id,
        _text(s.get("execution_id"), f + "execution_id", required=True),
        event.exception_id,
        _text(s.get("tool_name"), f + "tool_name", required=True),
        _text(s.get("status"), f + "status", required=True),
        _json(s.get("request")),
        _json(s.get("response")),
        _text(s.get("error"), f + "error"),
        _int(s.get("attempts"), f + "attempts") or 0,
        timestamp(s.get("started_at"), f + "started_at"),
        timestamp(s.get("finished_at"), f + "finished_at"),
        _int(s.get("version"), f + "version", required=True),
    )


EXCEPTIONS = Projection(
    table="exceptions", payload_key="exception", key=("tenant_id", "exception_id"),
    columns=(("tenant_id", "text"), ("exception_id", "text"), ("source_system", "text"),
             ("exception_type", "text"), ("severity", "text"), ("status", "text"), ("owner", "text"),
             ("playbook_id", "text"), ("current_step", "int4"), ("sla_deadline", "timestamptz"),
             ("raw_payload", "jsonb"), ("normalized_context", "jsonb"), ("version", "int8"),
             ("created_at", "timestamptz"), ("updated_at", "timestamptz")),
    to_row=_exception_row, fill=("raw_payload", "normalized_context"), earliest=("created_at",),
)

APPROVALS = Projection(
    table="approvals", payload_key="approval", key=("tenant_id", "approval_id"),
    columns=(("tenant_id", "text"), ("approval_id", "text"), ("exception_id", "text"),
             ("status", "text"), ("reason", "text"), ("requested_at", "timestamptz"),
             ("expires_at", "timestamptz"), ("decided_by", "text"), ("decided_at", "timestamptz"),
             ("comment", "text"), ("version", "int8")),
    to_row=_approval_row,
)

TOOL_EXECUTIONS = Projection(
    table="tool_executions", payload_key="tool_execution", key=("tenant_id", "execution_id"),
    columns=(("tenant_id", "text"), ("execution_id", "text"), ("exception_id", "text"),
             ("tool_name", "text"), ("status", "text"), ("request", "jsonb"), ("response", "jsonb"),
             ("error", "text"), ("attempts", "int4"), ("started_at", "timestamptz"),
             ("finished_at", "timestamptz"), ("version", "int8")),
    to_row=_tool_execution_row,
)

PROJECTIONS = (EXCEPTIONS, APPROVALS, TOOL_EXECUTIONS)
