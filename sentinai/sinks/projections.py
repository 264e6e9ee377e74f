"""The tables that are versioned projections of the event log: exceptions, approvals, tool executions.

A transition carries the exception's state *after* it (its ``exception`` snapshot), and an event
the state of its own subject after it (``payload["approval"]``, ``payload["tool_execution"]``),
each with a version number; the writer hands both over as :class:`Fact` objects. A row is replaced
only by a strictly newer version, so replayed or reordered events never move it backwards and the
final state depends on which events were written, not in which order. Some columns are merged
instead of replaced, for the same reason:

* *fill* columns (the exception's raw payload and normalized context, sent on ExceptionIngested /
  ExceptionNormalized; a tool execution's ``started_at``, which only the tools agent's
  ToolExecutionStarted knows) keep the newest non-null value and are filled by an older event
  while still empty: later snapshots that omit them never erase them;
* ``created_at`` keeps the earliest event time seen; ``updated_at`` is the time of the event that
  wrote the current version. Both are event times, so rebuilding from the log gives the same rows.

The exceptions row also belongs to one *occurrence* of its exception id (an id sent again after the
dedup window is a new one, ``sentinai.core.occurrence``): its ``first_seen_at`` orders occurrences
before versions do (a row without one, from a release before occurrences, is the earliest), so a
newer occurrence replaces the row whatever its version, its ``created_at`` starts again, and an
older occurrence's late events never move it.

A batch is reduced in Python to one row per key first (PostgreSQL refuses to update a row twice in
one statement, and only the winner needs decoding), then written with one ``INSERT … SELECT FROM
unnest(…) ON CONFLICT DO UPDATE … WHERE`` per table, in key order so that concurrent writers lock
rows in the same order and cannot deadlock. Equal versions are a producer bug; the row already held
(in the database, or earlier in the batch) wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

Row = tuple[Any, ...]
Snapshot = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Fact:
    """A snapshot to project and where it comes from: an event (its id), or a transition (its id)
    whose ``payload`` is ``{"exception": snapshot}``."""

    event_id: str
    tenant_id: str
    exception_id: str
    occurred_at: datetime
    payload: Mapping[str, Any]


class SnapshotError(ValueError):
    """A snapshot in an event payload is missing a field or has one of the wrong type."""


class InvalidSnapshots(ValueError):
    """Some events of a batch carry malformed snapshots: ``errors`` maps event id → reason."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        event_id, reason = next(iter(errors.items()))
        super().__init__(f"{len(errors)} event(s) with a malformed snapshot, e.g. {event_id}: {reason}")
        self.errors = dict(errors)


def event_time(event: Fact) -> datetime:
    """The event's ``occurred_at``, made aware (naive times are UTC) so that times compare."""
    at = event.occurred_at
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def timestamp(value: object, name: str) -> datetime | None:
    """An ISO-8601 string (or a datetime) as an aware datetime; naive values are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise SnapshotError(f"{name}: not an ISO-8601 timestamp: {value!r}") from None
    if not isinstance(value, datetime):
        raise SnapshotError(f"{name}: expected an ISO-8601 string, got {type(value).__name__}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _int(value: object, name: str) -> int | None:
    if value is not None and type(value) is not int:
        raise SnapshotError(f"{name}: expected an integer, got {value!r}")
    return value


def _text(value: object, name: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if type(value) is not str:
        raise SnapshotError(f"{name}: expected a string, got {value!r}")
    return value


_EARLIEST = datetime.min.replace(tzinfo=UTC)


class _Held:
    """The winning snapshot of one key so far, with what is merged in from the others."""

    __slots__ = ("event", "snapshot", "order", "fills", "first_at", "since")

    def __init__(self, event: Fact, snapshot: Snapshot, order: Any, fills: dict[str, Any] | None,
                 first_at: datetime, since: datetime | None) -> None:
        self.event = event
        self.snapshot = snapshot
        self.order = order  # the version, or (occurrence's first_seen_at, version)
        self.fills = fills  # None when the projection has no fill columns
        self.first_at = first_at
        self.since = since  # the occurrence's first_seen_at (None: the projection has no occurrences)


@dataclass(frozen=True)
class Projection:
    """One projected table: which payload key feeds it and how a snapshot becomes a row."""

    table: str
    payload_key: str
    id_field: str | None  # the snapshot field that, with the tenant, keys the row (None: exception id)
    columns: tuple[tuple[str, str], ...]  # (column, PostgreSQL type), in row order
    to_row: Callable[[Fact, Snapshot, datetime], Row]
    fill: tuple[str, ...] = ()
    occurrence: str | None = None  # the column (and snapshot field) ordering occurrences before versions

    @property
    def key(self) -> tuple[str, str]:
        return ("tenant_id", self.id_field or "exception_id")

    @cached_property
    def sql(self) -> str:
        return _upsert_sql(self)

    def rows(self, events: Iterable[Fact]) -> list[Row]:
        """One row per key from the snapshots in ``events``, merged as the upsert merges, in key order.

        Raises :class:`InvalidSnapshots` naming every event whose snapshot cannot be projected.
        """
        held: dict[tuple[str, str], _Held] = {}
        invalid: dict[str, str] = {}
        payload_key, id_field, fill, occurrence = self.payload_key, self.id_field, self.fill, self.occurrence
        for event in events:
            snapshot = event.payload.get(payload_key)
            if snapshot is None:
                continue
            # the common case in three type checks; the reason is worked out only when one fails
            if (type(snapshot) is not dict or type(version := snapshot.get("version")) is not int
                    or type(subject := snapshot.get(id_field) if id_field else event.exception_id) is not str):
                invalid[event.event_id] = self._malformed(event, snapshot)
                continue
            since = order = None
            if occurrence is not None:
                try:
                    since = timestamp(snapshot.get(occurrence), f"payload.{payload_key}.{occurrence}") or _EARLIEST
                except SnapshotError as err:
                    invalid[event.event_id] = str(err)
                    continue
                order = (since, version)
            at = event.occurred_at
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            key = (event.tenant_id, subject)
            old = held.get(key)
            if old is None:
                held[key] = _Held(event, snapshot, order or version,
                                  {f: snapshot.get(f) for f in fill} if fill else None, at, since)
            elif (order or version) > old.order:
                fills = old.fills
                if fills is not None:
                    newer = {f: snapshot.get(f) for f in fill}
                    for name, value in fills.items():
                        if newer[name] is None:
                            newer[name] = value
                    fills = newer
                first_at = at if at < old.first_at or since != old.since else old.first_at
                held[key] = _Held(event, snapshot, order or version, fills, first_at, since)
            else:
                if old.fills is not None:
                    for name, value in old.fills.items():
                        if value is None:
                            old.fills[name] = snapshot.get(name)
                if at < old.first_at and since == old.since:
                    old.first_at = at
        rows = []
        for key in sorted(held):
            h = held[key]
            try:
                snapshot = {**h.snapshot, **h.fills} if h.fills else h.snapshot
                rows.append(self.to_row(h.event, snapshot, h.first_at))
            except SnapshotError as err:
                invalid[h.event.event_id] = str(err)
        if invalid:
            raise InvalidSnapshots(invalid)
        return rows

    def _malformed(self, event: Fact, snapshot: object) -> str:
        """Why ``snapshot`` cannot be projected (it failed one of the checks in :meth:`rows`)."""
        prefix = f"payload.{self.payload_key}."
        if type(snapshot) is not dict:
            return f"payload.{self.payload_key}: expected an object"
        version = snapshot.get("version")
        if type(version) is not int:
            return f"{prefix}version: expected an integer, got {version!r}"
        subject = snapshot.get(self.id_field) if self.id_field else event.exception_id
        return f"{prefix}{self.id_field}: expected a string, got {subject!r}"


def _upsert_sql(p: Projection) -> str:
    names = [name for name, _ in p.columns]
    params = ", ".join(f"${i}::{t}[]" for i, (_, t) in enumerate(p.columns, 1))
    newer, same = "t.version < EXCLUDED.version", "TRUE"
    if p.occurrence:
        ours, theirs = f"COALESCE(t.{p.occurrence}, '-infinity')", f"COALESCE(EXCLUDED.{p.occurrence}, '-infinity')"
        newer = f"({ours}, t.version) < ({theirs}, EXCLUDED.version)"
        same = f"t.{p.occurrence} IS NOT DISTINCT FROM EXCLUDED.{p.occurrence}"
    sets, wheres = [], [newer]
    for name in names:
        if name in p.key:
            continue
        if name in p.fill:
            sets.append(f"{name} = CASE WHEN {newer} THEN COALESCE(EXCLUDED.{name}, t.{name}) "
                        f"ELSE COALESCE(t.{name}, EXCLUDED.{name}) END")
            wheres.append(f"(t.{name} IS NULL AND EXCLUDED.{name} IS NOT NULL)")
        elif name == "created_at":
            sets.append(f"created_at = CASE WHEN {same} THEN LEAST(t.created_at, EXCLUDED.created_at) "
                        f"WHEN {newer} THEN EXCLUDED.created_at ELSE t.created_at END")
            wheres.append(f"(EXCLUDED.created_at < t.created_at AND {same})")
        else:
            sets.append(f"{name} = CASE WHEN {newer} THEN EXCLUDED.{name} ELSE t.{name} END")
    return (
        f"INSERT INTO {p.table} AS t ({', '.join(names)}) "
        f"SELECT * FROM unnest({params}) "
        f"ON CONFLICT ({', '.join(p.key)}) DO UPDATE SET {', '.join(sets)} "
        f"WHERE {' OR '.join(wheres)}"
    )


def _exception_row(event: Fact, s: Snapshot, first_at: datetime) -> Row:
    f = "payload.exception."
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
        s.get("raw_payload"),
        s.get("normalized_context"),
        s["version"],
        first_at,
        event_time(event),
        timestamp(s.get("first_seen_at"), f + "first_seen_at"),
    )


def _approval_row(event: Fact, s: Snapshot, first_at: datetime) -> Row:
    f = "payload.approval."
    return (
        event.tenant_id, s["approval_id"], event.exception_id,
        _text(s.get("status"), f + "status", required=True),
        _text(s.get("reason"), f + "reason"),
        timestamp(s.get("requested_at"), f + "requested_at") or first_at,
        timestamp(s.get("expires_at"), f + "expires_at"),
        _text(s.get("decided_by"), f + "decided_by"),
        timestamp(s.get("decided_at"), f + "decided_at"),
        _text(s.get("comment"), f + "comment"),
        s["version"],
    )


def _tool_execution_row(event: Fact, s: Snapshot, first_at: datetime) -> Row:
    f = "payload.tool_execution."
    return (
        event.tenant_id, s["execution_id"], event.exception_id,
        _text(s.get("tool_name"), f + "tool_name", required=True),
        _text(s.get("status"), f + "status", required=True),
        s.get("request"),
        s.get("response"),
        _text(s.get("error"), f + "error"),
        _int(s.get("attempts"), f + "attempts") or 0,
        timestamp(s.get("started_at"), f + "started_at"),
        timestamp(s.get("finished_at"), f + "finished_at"),
        s["version"],
    )


EXCEPTIONS = Projection(
    table="exceptions", payload_key="exception", id_field=None,
    columns=(("tenant_id", "text"), ("exception_id", "text"), ("source_system", "text"),
             ("exception_type", "text"), ("severity", "text"), ("status", "text"), ("owner", "text"),
             ("playbook_id", "text"), ("current_step", "int4"), ("sla_deadline", "timestamptz"),
             ("raw_payload", "jsonb"), ("normalized_context", "jsonb"), ("version", "int8"),
             ("created_at", "timestamptz"), ("updated_at", "timestamptz"), ("first_seen_at", "timestamptz")),
    to_row=_exception_row, fill=("raw_payload", "normalized_context"), occurrence="first_seen_at",
)

APPROVALS = Projection(
    table="approvals", payload_key="approval", id_field="approval_id",
    columns=(("tenant_id", "text"), ("approval_id", "text"), ("exception_id", "text"),
             ("status", "text"), ("reason", "text"), ("requested_at", "timestamptz"),
             ("expires_at", "timestamptz"), ("decided_by", "text"), ("decided_at", "timestamptz"),
             ("comment", "text"), ("version", "int8")),
    to_row=_approval_row,
)

TOOL_EXECUTIONS = Projection(
    table="tool_executions", payload_key="tool_execution", id_field="execution_id",
    columns=(("tenant_id", "text"), ("execution_id", "text"), ("exception_id", "text"),
             ("tool_name", "text"), ("status", "text"), ("request", "jsonb"), ("response", "jsonb"),
             ("error", "text"), ("attempts", "int4"), ("started_at", "timestamptz"),
             ("finished_at", "timestamptz"), ("version", "int8")),
    to_row=_tool_execution_row, fill=("started_at",),
)

PROJECTIONS = (EXCEPTIONS, APPROVALS, TOOL_EXECUTIONS)
