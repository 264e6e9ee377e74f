"""Exceptions: ingest (POST), list with filters and cursor, detail with timeline and decisions,
the playbook view, and step completion (a command to the stream)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sentinai.api import metrics
from sentinai.api.auth import tenant_access
from sentinai.api.errors import ApiError, check_fields, read_json
from sentinai.api.responses import int_between, list_of, ok, parse_query, timestamp, word_list
from sentinai.api.state import PACKS, POOL, PRODUCER, SETTINGS
from sentinai.core.models import Severity, Status
from sentinai.core.normalize import exception_type_name
from sentinai.core.packs import TenantPacks
from sentinai.core.redaction import redact_secrets
from sentinai.sinks import views
from sentinai.sinks.similar_cases import closest_resolved

routes = web.RouteTableDef()
MAX_BATCH = 1000
_TENANT_FIELDS = ("tenant_id", "tenantId")


def _now() -> datetime:
    return datetime.now(UTC)


@routes.post("/api/v1/tenants/{tenant}/exceptions")
async def post_exceptions(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request, "operator")
    settings = request.app[SETTINGS]
    body = await read_json(request, settings.max_body_bytes, check=False)
    single = isinstance(body, dict)
    items: list[Any] = [body] if single else body if isinstance(body, list) else []
    if not single and not isinstance(body, list):
        raise ApiError(400, "invalid_body", f"expected an exception object or a list of them, got {type(body).__name__}", "body")
    if not items:
        raise ApiError(400, "invalid_body", "the list is empty", "body")
    if len(items) > MAX_BATCH:
        raise ApiError(413, "too_many_items", f"{len(items)} exceptions in one request; the limit is {MAX_BATCH}", "body")
    from sentinai.core.normalize import RejectedInput, normalize

    now = _now()
    accepted: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    messages: list[tuple[bytes | None, bytes, None]] = []
    for index, item in enumerate(items):
        where = "body" if single else f"body[{index}]"
        if not isinstance(item, dict):
            errors.append({"index": index, "error": "invalid_exception",
                           "detail": f"an exception must be a JSON object, got {type(item).__name__}", "path": where})
            continue
        given = [item[f] for f in _TENANT_FIELDS if item.get(f) is not None]
        if any((g.strip() if isinstance(g, str) else g) != tenant for g in given):  # normalize strips it
            errors.append({"index": index, "error": "tenant_mismatch",
                           "detail": f"the exception names tenant {str(given[0])[:100]!r} but was posted to {tenant!r}",
                           "path": f"{where}.tenant_id"})
            continue
        raw = dict(item) if given else {"tenant_id": tenant, **item}
        try:  # the worker's own rules (sentinai.core.input_limits): 202 means it will be stored
            normalized = normalize(raw, now=now, known_tenants={tenant}, max_bytes=settings.max_message_bytes,
                                   key_tenant=tenant)
        except RejectedInput as err:
            errors.append({"index": index, "error": "invalid_exception", "detail": err.reason,
                           "path": f"{where}.{err.path}" if err.path else where})
            continue
        value = json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode()
        accepted.append({"index": index, "exception_id": normalized.exception_id})
        messages.append((tenant.encode(), value, None))
    if messages:
        await request.app[PRODUCER].send_many(settings.topic_exceptions, messages)
    metrics.INGESTED.labels(tenant=tenant, outcome="accepted").inc(len(accepted))
    metrics.INGESTED.labels(tenant=tenant, outcome="rejected").inc(len(errors))
    result: dict[str, Any] = {"tenant_id": tenant, "accepted": accepted, "errors": errors}
    if not accepted:
        first = errors[0]
        result.update({"error": "invalid_input",
                       "detail": f"no exception accepted ({len(errors)} rejected): {first['detail']}",
                       "path": first["path"]})
        return ok(result, status=422)
    return ok(result, status=202)


@routes.get("/api/v1/tenants/{tenant}/exceptions")
async def list_exceptions(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request)
    q = parse_query(request, {"status": list_of(Status), "severity": list_of(Severity), "type": word_list,
                              "since": timestamp, "until": timestamp, "limit": int_between(1, 500),
                              "cursor": str})
    try:
        items, next_cursor = await views.list_exceptions(
            request.app[POOL], tenant, status=q.get("status"), severity=q.get("severity"),
            exception_type=[exception_type_name(t) for t in q["type"]] if "type" in q else None, since=q.get("since"), until=q.get("until"),
            limit=q.get("limit", 50), cursor=q.get("cursor"))
    except views.InvalidCursor as err:
        raise ApiError(400, "invalid_cursor", str(err), "query.cursor") from None
    return ok({"tenant_id": tenant, "items": items, "next_cursor": next_cursor})


async def _exception_or_404(request: web.Request, tenant: str) -> dict[str, Any]:
    exception_id = request.match_info["exception_id"]
    record = await views.get_exception(request.app[POOL], tenant, exception_id)
    if record is None:
        raise ApiError(404, "not_found", f"no exception {exception_id[:200]!r} for tenant {tenant!r}")
    return record


@routes.get("/api/v1/tenants/{tenant}/exceptions/{exception_id}")
async def get_exception(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request)
    parse_query(request, {})
    record = await _exception_or_404(request, tenant)
    events = await views.timeline(request.app[POOL], tenant, record["exception_id"])
    record["timeline"] = events
    record["decisions"] = views.decisions_of(events)
    closest = await closest_resolved(request.app[POOL], tenant, record["exception_id"])
    record["closest_resolved_case"] = None if closest is None else closest.as_json()
    return ok(record)


@routes.get("/api/v1/tenants/{tenant}/exceptions/{exception_id}/playbook")
async def get_playbook(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request)
    parse_query(request, {})
    exception_id = request.match_info["exception_id"]
    result = await views.playbook(request.app[POOL], tenant, exception_id)
    if result is None:
        raise ApiError(404, "not_found", f"no exception {exception_id[:200]!r} for tenant {tenant!r}")
    cache = request.app[PACKS]
    await cache.refresh(request.app[POOL])
    return ok(with_step_definitions(result, cache.for_tenant(tenant)))


def with_step_definitions(result: dict[str, Any], packs: TenantPacks | None) -> dict[str, Any]:
    """Every step of the playbook from the active pack (numbered from 0, as the step commands
    are), ``pending`` until an event says otherwise; the steps the events name keep their state.
    A playbook no longer in the active pack shows only the steps its events name."""
    compiled = None if packs is None else packs.playbook(result["playbook_id"])
    if compiled is None:
        return result
    folded = {s["step"]: s for s in result["steps"] if isinstance(s.get("step"), int)}
    steps = []
    for index, step in enumerate(compiled.playbook.steps):
        defined = {"step": index, "name": step.name, "action": step.action.value, "risky": step.risky,
                   "status": "pending"}
        steps.append({**defined, **folded.pop(index, {})})
    return {**result, "steps": steps + [folded[k] for k in sorted(folded)]}


@routes.get("/api/v1/tenants/{tenant}/exceptions/{exception_id}/tool-executions")
async def get_tool_executions(request: web.Request) -> web.Response:
    """Requests and responses masked again here: a row written before masking existed stays safe."""
    _, tenant = await tenant_access(request)
    parse_query(request, {})
    record = await _exception_or_404(request, tenant)
    items = await views.tool_executions(request.app[POOL], tenant, record["exception_id"])
    for item in items:
        item["request"] = redact_secrets(item["request"])
        item["response"] = redact_secrets(item["response"])
    return ok({"tenant_id": tenant, "exception_id": record["exception_id"], "items": items})


FINAL_STATUSES = ("RESOLVED", "CLOSED")


async def _step_of_the_playbook_or_404(request: web.Request, tenant: str, record: dict[str, Any], step: int) -> None:
    """A step number the exception's playbook has: one of the active pack's steps, or one its
    events name (the run keeps the steps it started with when a later pack version has fewer).
    Whether the step waits is the stream's to say: the rows may lag it, so that is not checked."""
    cache = request.app[PACKS]
    await cache.refresh(request.app[POOL])
    packs = cache.for_tenant(tenant)
    compiled = None if packs is None else packs.playbook(record["playbook_id"])
    if compiled is None or step < len(compiled.playbook.steps):
        return
    result = await views.playbook(request.app[POOL], tenant, record["exception_id"])
    if result is None or step not in {s.get("step") for s in result["steps"]}:
        raise ApiError(404, "no_step", f"playbook {record['playbook_id']!r} of exception {record['exception_id']!r} "
                       f"has {len(compiled.playbook.steps)} steps, numbered from 0; there is no step {step}",
                       "path.step")


@routes.post(r"/api/v1/tenants/{tenant}/exceptions/{exception_id}/playbook/steps/{step}/complete")
async def complete_step(request: web.Request) -> web.Response:
    who, tenant = await tenant_access(request, "operator")
    settings = request.app[SETTINGS]
    try:
        step = int_between(0, 10_000)(request.match_info["step"])
    except ValueError as err:
        raise ApiError(400, "invalid_step", f"step: {err}", "path.step") from None
    body = check_fields(await read_json(request, settings.max_body_bytes),
                        allowed={"by": str, "comment": str, "output": dict}, required=("by",))
    record = await _exception_or_404(request, tenant)
    if not record.get("playbook_id"):
        raise ApiError(409, "no_playbook", f"exception {record['exception_id']!r} has no playbook assigned")
    if record.get("status") in FINAL_STATUSES:
        raise ApiError(409, "closed", f"exception {record['exception_id']!r} is {record['status']}: its playbook "
                       "has ended and no step waits")
    await _step_of_the_playbook_or_404(request, tenant, record, step)
    command = {
        "command": "complete_step", "tenant_id": tenant, "exception_id": record["exception_id"],
        "playbook_id": record["playbook_id"], "step": step, "by": body["by"],
        "comment": body.get("comment"), "output": body.get("output") or {},
        "requested_at": _now().isoformat(), "key_id": who.key_id,
    }
    await request.app[PRODUCER].send(f"{settings.topic_prefix}.steps", tenant.encode(),
                                     json.dumps(command, separators=(",", ":")).encode())
    metrics.COMMANDS.labels(tenant=tenant, command="complete_step").inc()
    return ok({"status": "accepted", "command": command}, status=202)
