"""Dead letters: list them with their error headers, and replay one to its original topic."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sentinai.api import metrics
from sentinai.api.auth import tenant_access
from sentinai.api.errors import ApiError
from sentinai.api.responses import boolean, int_between, ok, parse_query
from sentinai.api.state import POOL, PRODUCER, SETTINGS
from sentinai.core.actor import Actor
from sentinai.core.input_limits import InputLimitError, check_value
from sentinai.streams.dlq import (
    KEY_SIZE,
    KEY_TRUNCATED,
    LETTER_HEADER_PREFIXES,
    REPLAYED_FROM,
    TRUNCATED,
    VALUE_SHA256,
    VALUE_SIZE,
)
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.transition import transition

routes = web.RouteTableDef()
PREVIEW_BYTES = 4096
DETAIL_BYTES = 1_048_576


def _bytes_view(data: bytes | None, limit: int | None = None) -> dict[str, Any]:
    if data is None:
        return {"text": None, "encoding": None, "size": 0, "truncated": False}
    data = bytes(data)
    shown = data if limit is None else data[:limit]
    try:
        return {"text": shown.decode("utf-8"), "encoding": "utf-8", "size": len(data), "truncated": len(shown) < len(data)}
    except UnicodeDecodeError:
        return {"text": base64.b64encode(shown).decode(), "encoding": "base64", "size": len(data),
                "truncated": len(shown) < len(data)}


def _entry(row: dict[str, Any], limit: int | None = PREVIEW_BYTES) -> dict[str, Any]:
    """A dead letter for JSON; the key and value (when the row has them) as text or base64."""
    out = {k: v for k, v in row.items() if k not in ("key", "value", "original_headers")}
    if "key" in row:
        out["key"] = _bytes_view(row.get("key"))
    if "value" in row:
        out["value"] = _bytes_view(row.get("value"), limit)
        out.setdefault("value_size", out["value"]["size"])
    return out


def _parse_id(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ApiError(400, "invalid_id", f"dead-letter id must be a positive integer, got {text[:40]!r}", "path.id")
    return int(text)


@routes.get("/api/v1/tenants/{tenant}/dlq")
async def list_dlq(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request)
    from sentinai.sinks.dead_letters import list_dead_letters

    q = parse_query(request, {"limit": int_between(1, 500), "before_id": int_between(1, 2**62)})
    rows = await list_dead_letters(request.app[POOL], tenant, limit=q.get("limit", 50), before_id=q.get("before_id"))
    items = [_entry(r) for r in rows]
    next_before = items[-1]["id"] if len(items) == q.get("limit", 50) else None
    return ok({"tenant_id": tenant, "items": items, "next_before_id": next_before})


@routes.get("/api/v1/tenants/{tenant}/dlq/{id}")
async def get_dlq(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request)
    parse_query(request, {})
    dl_id = _parse_id(request.match_info["id"])
    from sentinai.sinks.dead_letters import get_dead_letter

    entry = await get_dead_letter(request.app[POOL], tenant, dl_id)
    if entry is None:
        raise ApiError(404, "not_found", f"no dead letter {dl_id} for tenant {tenant!r}")
    return ok(_entry(entry, DETAIL_BYTES))


def _exception_id_of(value: bytes | None, fallback: str) -> str:
    try:
        doc = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        return fallback
    if isinstance(doc, dict):
        found = doc.get("exception_id") or doc.get("exceptionId")
        if isinstance(found, str | int) and not isinstance(found, bool) and str(found).strip():
            candidate = str(found).strip()[:200]
            try:  # the replay's event must be storable even when the letter's id was not
                check_value(candidate)
            except InputLimitError:
                return fallback
            return candidate
    return fallback


@routes.post("/api/v1/tenants/{tenant}/dlq/{id}/replay")
async def replay(request: web.Request) -> web.Response:
    who, tenant = await tenant_access(request, "operator")
    force = parse_query(request, {"force": boolean}).get("force", False)
    settings = request.app[SETTINGS]
    dl_id = _parse_id(request.match_info["id"])
    from sentinai.sinks.dead_letters import claim_replay, get_dead_letter, undo_replay

    pool = request.app[POOL]
    entry = await get_dead_letter(pool, tenant, dl_id)
    if entry is None:
        raise ApiError(404, "not_found", f"no dead letter {dl_id} for tenant {tenant!r}")
    stored = entry.get("headers") or {}
    if stored.get(KEY_TRUNCATED) == "true":
        raise ApiError(409, "truncated", f"dead letter {dl_id} keeps only the first {len(entry.get('key') or b'')} of "
                       f"its key's {stored.get(KEY_SIZE)} bytes; it cannot be replayed")
    if stored.get(TRUNCATED) == "true":
        raise ApiError(409, "truncated", f"dead letter {dl_id} keeps only the first {entry['value_size']} of "
                       f"{stored.get(VALUE_SIZE)} bytes (sha256 {stored.get(VALUE_SHA256)}); it cannot be replayed")
    before = await claim_replay(pool, tenant, dl_id, force=force)
    if before is None:
        raise ApiError(409, "already_replayed", f"dead letter {dl_id} was replayed already; "
                       "add ?force=true to replay it again", "query.force")
    original = entry.get("original_headers")
    if original is None:  # a letter stored before they were kept as bytes: the text of one per name
        headers = [(str(k), str(v).encode()) for k, v in stored.items()
                   if not str(k).startswith(LETTER_HEADER_PREFIXES) and str(k) != REPLAYED_FROM]
    else:
        headers = [(name, base64.b64decode(value)) for name, value in original if name != REPLAYED_FROM]
    headers.append((REPLAYED_FROM, str(dl_id).encode()))
    producer = request.app[PRODUCER]
    try:
        await producer.send(entry["source_topic"], entry.get("key"), entry.get("value") or b"", headers)
    except BaseException:
        await undo_replay(pool, tenant, dl_id, before)
        raise
    now = datetime.now(UTC)
    exception_id = _exception_id_of(entry.get("value"), f"dlq-{dl_id}")
    event = EventEnvelope.create(
        event_type="DeadLetterReplayed", tenant_id=tenant, exception_id=exception_id, occurred_at=now,
        actor=Actor(type="user", id=f"api-key:{who.key_id}"), step=f"{dl_id}@{now.isoformat()}",
        payload={"dead_letter_id": dl_id, "source_topic": entry["source_topic"],
                 "source_partition": entry.get("source_partition"), "source_offset": entry.get("source_offset"),
                 "stage": entry.get("stage"), "error_class": entry.get("error_class")},
    )
    record = transition(tenant_id=tenant, exception_id=exception_id, events=[event])
    await producer.send(settings.topic_events, tenant.encode(), record.encode())
    metrics.DLQ_REPLAYS.labels(tenant=tenant).inc()
    return ok({"status": "accepted", "id": dl_id, "topic": entry["source_topic"], "event_id": event.event_id},
              status=202)
