"""Tenant-scoped read queries for the web view. Every function takes the tenant; none writes.

Pagination of exceptions is keyset (``created_at DESC, exception_id DESC``) with an opaque
cursor: urlsafe base64 of ``[created_at ISO, exception_id]``.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from sentinai.core.input_limits import check_value, in_utc_range
from sentinai.streams.records import LATER_STAGES

EXCEPTION_COLUMNS = (
    "tenant_id, exception_id, source_system, exception_type, severity, status, owner, playbook_id, "
    "current_step, sla_deadline, raw_payload, normalized_context, version, created_at, updated_at, first_seen_at"
)
SUMMARY_COLUMNS = (
    "tenant_id, exception_id, source_system, exception_type, severity, status, owner, playbook_id, "
    "current_step, sla_deadline, version, created_at, updated_at, first_seen_at"
)
TIMELINE_ORDER = (
    "ORDER BY occurred_at, COALESCE(seq, CASE WHEN jsonb_typeof(payload #> '{exception,version}') = 'number' "
    "THEN (payload #>> '{exception,version}')::numeric END) NULLS FIRST, recorded_at, event_id")
"""An exception's events in the order they happened. The events of one transition share their
`occurred_at`; those that change the exception carry its version (`seq`; in the payload's
snapshot for events stored by the earlier release), which orders them, and the others (an SLA
tick, a notification) come before them."""
PLAYBOOK_EVENT_TYPES = (
    "PlaybookAssigned", "PlaybookStepStarted", "PlaybookStepWaiting", "PlaybookStepCompleted",
    "PlaybookStepSkipped", "PlaybookStepFailed", "PlaybookCompleted", "PlaybookRecalculated",
)


class InvalidCursor(ValueError):
    """The cursor was not made by :func:`encode_cursor`."""


def _json(value: Any) -> Any:
    """JSONB as Python, whether or not the pool has a JSONB codec."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _row(record: asyncpg.Record, json_columns: tuple[str, ...] = ()) -> dict[str, Any]:
    out = dict(record)
    for col in json_columns:
        if col in out:
            out[col] = _json(out[col])
    return out


def encode_cursor(created_at: datetime, exception_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), exception_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, exception_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        when = datetime.fromisoformat(created)
        if when.tzinfo is None or not in_utc_range(when) or not isinstance(exception_id, str):
            raise ValueError
        check_value(exception_id)  # no NUL or lone surrogate: PostgreSQL could not take it
        return when, exception_id
    except (ValueError, TypeError, binascii.Error, UnicodeError, json.JSONDecodeError):
        raise InvalidCursor(f"invalid cursor {cursor[:40]!r}") from None


async def tenant_exists(pool: asyncpg.Pool, tenant_id: str) -> bool:
    return bool(await pool.fetchval("SELECT EXISTS (SELECT 1 FROM tenants WHERE tenant_id = $1)", tenant_id))


async def list_tenants(pool: asyncpg.Pool, limit: int = 200) -> list[str]:
    rows = await pool.fetch("SELECT tenant_id FROM tenants ORDER BY tenant_id LIMIT $1", limit)
    return [r["tenant_id"] for r in rows]


async def list_exceptions(
    pool: asyncpg.Pool, tenant_id: str, *, status: list[str] | None = None,
    severity: list[str] | None = None, exception_type: list[str] | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the tenant's exceptions, newest first, and the cursor of the next page (or None)."""
    where = ["tenant_id = $1"]
    args: list[Any] = [tenant_id]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        where.append(sql.replace("?", f"${len(args)}"))

    if status:
        add("status = ANY(?::text[])", status)
    if severity:
        add("severity = ANY(?::text[])", severity)
    if exception_type:
        add("exception_type = ANY(?::text[])", exception_type)
    if since is not None:
        add("created_at >= ?", since)
    if until is not None:
        add("created_at < ?", until)
    if cursor:
        created, exception_id = decode_cursor(cursor)
        args.extend([created, exception_id])
        where.append(f"(created_at, exception_id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit + 1)
    rows = await pool.fetch(
        f"SELECT {SUMMARY_COLUMNS} FROM exceptions WHERE {' AND '.join(where)} "
        f"ORDER BY created_at DESC, exception_id DESC LIMIT ${len(args)}",
        *args,
    )
    items = [dict(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last["created_at"], last["exception_id"])
    return items, next_cursor


async def get_exception(pool: asyncpg.Pool, tenant_id: str, exception_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        f"SELECT {EXCEPTION_COLUMNS} FROM exceptions WHERE tenant_id = $1 AND exception_id = $2",
        tenant_id, exception_id,
    )
    return None if row is None else _row(row, ("raw_payload", "normalized_context"))


def _event(record: asyncpg.Record) -> dict[str, Any]:
    return {
        "event_id": record["event_id"], "event_type": record["event_type"],
        "occurred_at": record["occurred_at"],
        "actor": {"type": record["actor_type"], "id": record["actor_id"]},
        "payload": _json(record["payload"]),
    }


async def timeline(pool: asyncpg.Pool, tenant_id: str, exception_id: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The exception's events, oldest first."""
    rows = await pool.fetch(
        "SELECT event_id, event_type, actor_type, actor_id, payload, occurred_at FROM exception_events "
        "WHERE tenant_id = $1 AND exception_id = $2 " + TIMELINE_ORDER + " LIMIT $3",
        tenant_id, exception_id, limit,
    )
    return [_event(r) for r in rows]


def decisions_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The decisions in a timeline: events whose payload has ``decision`` (the state snapshot dropped).

    Since transitions the payload's ``decision`` is the stage's record (stage, decision, confidence,
    evidence, next_step); its fields are also given at the top, where events of the first release
    had them, so ``evidence`` is the stage's evidence either way."""
    out = []
    for ev in events:
        payload = ev["payload"]
        if isinstance(payload, dict) and "decision" in payload:
            record = {k: v for k, v in payload.items() if k != "exception"}
            stage = record["decision"]
            if isinstance(stage, dict):
                for name in ("stage", "confidence", "evidence", "next_step"):
                    if name in stage:
                        record.setdefault(name, stage[name])
            record.setdefault("evidence", [])
            out.append({"event_id": ev["event_id"], "event_type": ev["event_type"],
                        "occurred_at": ev["occurred_at"], **record})
    return out


async def decisions(pool: asyncpg.Pool, tenant_id: str, exception_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT event_id, event_type, actor_type, actor_id, payload, occurred_at FROM exception_events "
        "WHERE tenant_id = $1 AND exception_id = $2 AND payload ? 'decision' "
        + TIMELINE_ORDER,
        tenant_id, exception_id,
    )
    return decisions_of([_event(r) for r in rows])


async def playbook(pool: asyncpg.Pool, tenant_id: str, exception_id: str) -> dict[str, Any] | None:
    """The exception's playbook: id and current step from the row, steps folded from Playbook* events
    of its current occurrence (those from the row's ``created_at`` on: an id sent again after its
    dedup window is a new occurrence, whose playbook starts afresh)."""
    row = await pool.fetchrow(
        "SELECT exception_id, status, playbook_id, current_step, created_at FROM exceptions "
        "WHERE tenant_id = $1 AND exception_id = $2", tenant_id, exception_id)
    if row is None:
        return None
    rows = await pool.fetch(
        "SELECT event_id, event_type, actor_type, actor_id, payload, occurred_at FROM exception_events "
        "WHERE tenant_id = $1 AND exception_id = $2 AND event_type = ANY($3::text[]) AND occurred_at >= $4 "
        + TIMELINE_ORDER,
        tenant_id, exception_id, list(PLAYBOOK_EVENT_TYPES), row["created_at"])
    events = [_event(r) for r in rows]
    steps: dict[int, dict[str, Any]] = {}
    completed = False
    for ev in events:
        p = ev["payload"] if isinstance(ev["payload"], dict) else {}
        if ev["event_type"] in ("PlaybookAssigned", "PlaybookRecalculated") and isinstance(p.get("steps"), list):
            steps = {}
            for i, step in enumerate(p["steps"], start=1):
                info = step if isinstance(step, dict) else {"action": step}
                n = info.get("step", info.get("index", i))
                steps[int(n) if isinstance(n, int) else i] = {"step": n, "status": "pending", **info}
        elif ev["event_type"] == "PlaybookCompleted":
            completed = True
        elif ev["event_type"].startswith("PlaybookStep"):
            n = p.get("step", p.get("step_index", p.get("index")))
            if not isinstance(n, int):
                continue
            state = ev["event_type"].removeprefix("PlaybookStep").lower()
            entry = steps.setdefault(n, {"step": n})
            entry.update({k: v for k, v in p.items() if k not in ("exception",)})
            entry["status"] = state
            entry[f"{state}_at"] = ev["occurred_at"]
            entry[f"{state}_by"] = ev["actor"]
    return {
        "tenant_id": tenant_id, "exception_id": exception_id, "status": row["status"],
        "playbook_id": row["playbook_id"], "current_step": row["current_step"], "completed": completed,
        "steps": [steps[k] for k in sorted(steps)], "events": events,
    }


APPROVAL_COLUMNS = ("approval_id, tenant_id, exception_id, status, reason, requested_at, expires_at, "
                    "decided_by, decided_at, comment, version")


async def list_approvals(pool: asyncpg.Pool, tenant_id: str, *, status: str | None = None,
                         limit: int = 100, oldest_first: bool = False) -> list[dict[str, Any]]:
    """Newest first by default; ``oldest_first`` for a queue (the approval closest to expiry first)."""
    order = "requested_at ASC" if oldest_first else "requested_at DESC"
    if status:
        rows = await pool.fetch(
            f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE tenant_id = $1 AND lower(status) = lower($2) "
            f"ORDER BY {order}, approval_id LIMIT $3", tenant_id, status, limit)
    else:
        rows = await pool.fetch(
            f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE tenant_id = $1 "
            f"ORDER BY {order}, approval_id LIMIT $2", tenant_id, limit)
    return [dict(r) for r in rows]


async def get_approval(pool: asyncpg.Pool, tenant_id: str, approval_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        f"SELECT {APPROVAL_COLUMNS} FROM approvals WHERE tenant_id = $1 AND approval_id = $2",
        tenant_id, approval_id)
    return None if row is None else dict(row)


TOOL_EXECUTION_COLUMNS = ("execution_id, exception_id, tool_name, status, request, response, error, attempts, "
                          "started_at, finished_at, version")


async def tool_executions(pool: asyncpg.Pool, tenant_id: str, exception_id: str) -> list[dict[str, Any]]:
    """The exception's tool executions, in the order they started (not-started ones last)."""
    rows = await pool.fetch(
        f"SELECT {TOOL_EXECUTION_COLUMNS} FROM tool_executions WHERE tenant_id = $1 AND exception_id = $2 "
        "ORDER BY started_at NULLS LAST, execution_id", tenant_id, exception_id)
    return [_row(r, ("request", "response")) for r in rows]


async def status_summary(pool: asyncpg.Pool, tenant_ids: list[str] | None, *, now: datetime,
                         window_minutes: int = 15, recent_dlq: int = 5,
                         recent_exceptions: int = 10) -> list[dict[str, Any]]:
    """Per tenant: counts by status and severity, decisions per minute, auto-resolution rate, mean
    time to resolve, pending approvals, backpressure and quota state, recent dead letters, the
    latest changed exceptions.

    ``tenant_ids=None`` means every tenant (for an admin ``*`` key)."""
    if tenant_ids is None:
        rows = await pool.fetch(
            "SELECT tenant_id FROM tenants UNION SELECT DISTINCT tenant_id FROM exceptions "
            "ORDER BY 1 LIMIT 200")
        tenant_ids = [r["tenant_id"] for r in rows]
    out: dict[str, dict[str, Any]] = {
        t: {"tenant_id": t, "exceptions_total": 0, "by_status": {}, "by_severity": {},
            "decisions_per_minute": 0.0, "decisions_series": [0] * window_minutes,
            "resolved": 0, "auto_resolved": 0, "auto_resolution_rate": None,
            "mean_time_to_resolve_seconds": None, "pending_approvals": 0,
            "backpressure": None, "quota_deferred_last_hour": 0, "recent_dlq": [], "dlq_new": 0,
            "recent_exceptions": []}
        for t in tenant_ids
    }
    if not tenant_ids:
        return []
    for r in await pool.fetch(
            "SELECT tenant_id, status, count(*) AS n FROM exceptions WHERE tenant_id = ANY($1::text[]) "
            "GROUP BY 1, 2", tenant_ids):
        out[r["tenant_id"]]["by_status"][r["status"]] = r["n"]
        out[r["tenant_id"]]["exceptions_total"] += r["n"]
    for r in await pool.fetch(
            "SELECT tenant_id, coalesce(severity, 'UNKNOWN') AS severity, count(*) AS n FROM exceptions "
            "WHERE tenant_id = ANY($1::text[]) GROUP BY 1, 2", tenant_ids):
        out[r["tenant_id"]]["by_severity"][r["severity"]] = r["n"]
    start = now - timedelta(minutes=window_minutes)
    # decision records, as the decisions topic carries them: one per handled input that decided
    # (its stages' events) or moved the exception on (LATER_STAGES); one input's events share
    # their exception and time
    for r in await pool.fetch(
            "SELECT tenant_id, floor(extract(epoch FROM ($2::timestamptz - occurred_at)) / 60)::int AS ago, "
            "count(DISTINCT (exception_id, occurred_at)) AS n FROM exception_events "
            "WHERE tenant_id = ANY($1::text[]) AND occurred_at > $3 AND occurred_at <= $2 "
            "AND (payload ? 'decision' OR event_type = ANY($4::text[])) GROUP BY 1, 2",
            tenant_ids, now, start, list(LATER_STAGES)):
        entry = out[r["tenant_id"]]
        ago = min(max(int(r["ago"]), 0), window_minutes - 1)
        entry["decisions_series"][window_minutes - 1 - ago] += r["n"]
    for entry in out.values():
        entry["decisions_per_minute"] = round(sum(entry["decisions_series"]) / window_minutes, 3)
    for r in await pool.fetch(
            "SELECT e.tenant_id, count(*) AS resolved, "
            "count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM exception_events u WHERE u.tenant_id = e.tenant_id "
            "  AND u.exception_id = e.exception_id AND u.actor_type = 'user' AND u.occurred_at >= e.created_at)) "
            "  AS auto_resolved, "
            "avg(extract(epoch FROM (coalesce((SELECT min(r.occurred_at) FROM exception_events r "
            "  WHERE r.tenant_id = e.tenant_id AND r.exception_id = e.exception_id "
            "  AND r.event_type = 'ExceptionResolved' AND r.occurred_at >= e.created_at), e.updated_at) "
            "  - e.created_at))) AS mttr "
            "FROM exceptions e WHERE e.tenant_id = ANY($1::text[]) AND e.status = 'RESOLVED' GROUP BY 1",
            tenant_ids):
        entry = out[r["tenant_id"]]
        entry["resolved"] = r["resolved"]
        entry["auto_resolved"] = r["auto_resolved"]
        entry["auto_resolution_rate"] = round(r["auto_resolved"] / r["resolved"], 4) if r["resolved"] else None
        entry["mean_time_to_resolve_seconds"] = None if r["mttr"] is None else round(float(r["mttr"]), 3)
    for r in await pool.fetch(
            "SELECT tenant_id, count(*) AS n FROM approvals WHERE tenant_id = ANY($1::text[]) "
            "AND lower(status) = 'pending' GROUP BY 1", tenant_ids):
        out[r["tenant_id"]]["pending_approvals"] = r["n"]
    for r in await pool.fetch(
            "SELECT DISTINCT ON (tenant_id) tenant_id, payload, occurred_at FROM exception_events "
            "WHERE tenant_id = ANY($1::text[]) AND event_type = 'BackpressureChanged' "
            "ORDER BY tenant_id, occurred_at DESC", tenant_ids):
        out[r["tenant_id"]]["backpressure"] = {"since": r["occurred_at"], **(_json(r["payload"]) or {})}
    for r in await pool.fetch(
            "SELECT tenant_id, count(*) AS n FROM exception_events WHERE tenant_id = ANY($1::text[]) "
            "AND event_type = 'QuotaDeferred' AND occurred_at > $2 GROUP BY 1", tenant_ids, now - timedelta(hours=1)):
        out[r["tenant_id"]]["quota_deferred_last_hour"] = r["n"]
    for r in await pool.fetch(
            "SELECT tenant_id, count(*) AS n FROM dead_letters WHERE tenant_id = ANY($1::text[]) "
            "AND status = 'new' GROUP BY 1", tenant_ids):
        out[r["tenant_id"]]["dlq_new"] = r["n"]
    for r in await pool.fetch(
            "SELECT id, tenant_id, stage, error_class, error_message, status, created_at FROM ("
            " SELECT *, row_number() OVER (PARTITION BY tenant_id ORDER BY created_at DESC, id DESC) AS rn "
            " FROM dead_letters WHERE tenant_id = ANY($1::text[])) d WHERE rn <= $2 "
            "ORDER BY tenant_id, created_at DESC", tenant_ids, recent_dlq):
        item = dict(r)
        item["error_message"] = (item["error_message"] or "")[:300]
        out[r["tenant_id"]]["recent_dlq"].append(item)
    for r in await pool.fetch(
            "SELECT tenant_id, exception_id, exception_type, severity, status, updated_at FROM ("
            " SELECT *, row_number() OVER (PARTITION BY tenant_id ORDER BY updated_at DESC, exception_id) AS rn "
            " FROM exceptions WHERE tenant_id = ANY($1::text[])) e WHERE rn <= $2 "
            "ORDER BY tenant_id, updated_at DESC, exception_id", tenant_ids, recent_exceptions):
        out[r["tenant_id"]]["recent_exceptions"].append(dict(r))
    return [out[t] for t in tenant_ids]


async def counts_for_metrics(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    """Scrape-time gauges: dead letters by tenant and status, pending approvals by tenant."""
    dlq = await pool.fetch(
        "SELECT coalesce(tenant_id, '') AS tenant_id, status, count(*) AS n FROM dead_letters GROUP BY 1, 2")
    approvals = await pool.fetch(
        "SELECT tenant_id, count(*) AS n FROM approvals WHERE lower(status) = 'pending' GROUP BY 1")
    return {"dlq": [dict(r) for r in dlq], "approvals": [dict(r) for r in approvals]}
