"""Approvals: list, and approve/reject as commands to ``{prefix}.approvals`` (the stream applies them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import get_args

from aiohttp import web

from sentinai.api import metrics
from sentinai.api.auth import tenant_access
from sentinai.api.errors import ApiError, check_fields, read_json
from sentinai.api.responses import int_between, ok, one_of, parse_query
from sentinai.api.state import POOL, PRODUCER, SETTINGS
from sentinai.core.run import ApprovalState
from sentinai.sinks import views

routes = web.RouteTableDef()
APPROVAL_STATES = get_args(ApprovalState)


def _order(text: str) -> str:
    if text not in ("newest", "oldest"):
        raise ValueError(f"expected newest or oldest, got {text[:40]!r}")
    return text


@routes.get("/api/v1/tenants/{tenant}/approvals")
async def list_approvals(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request)
    q = parse_query(request, {"status": one_of(APPROVAL_STATES), "limit": int_between(1, 500), "order": _order})
    items = await views.list_approvals(request.app[POOL], tenant, status=q.get("status"), limit=q.get("limit", 100),
                                       oldest_first=q.get("order") == "oldest")
    return ok({"tenant_id": tenant, "items": items})


async def _answer(request: web.Request, command: str) -> web.Response:
    who, tenant = await tenant_access(request, "operator")
    settings = request.app[SETTINGS]
    body = check_fields(await read_json(request, settings.max_body_bytes),
                        allowed={"by": str, "comment": str}, required=("by",))
    approval_id = request.match_info["approval_id"]
    approval = await views.get_approval(request.app[POOL], tenant, approval_id)
    if approval is None:
        raise ApiError(404, "not_found", f"no approval {approval_id[:200]!r} for tenant {tenant!r}")
    if str(approval["status"]).lower() != "pending":
        why = f" ({approval['comment']})" if approval["status"] == "EXPIRED" and approval["comment"] else ""
        raise ApiError(409, "not_pending", f"approval {approval_id!r} is {approval['status']}, not pending{why}")
    message = {
        "command": command, "tenant_id": tenant, "approval_id": approval_id,
        "exception_id": approval["exception_id"], "by": body["by"], "comment": body.get("comment"),
        "requested_at": datetime.now(UTC).isoformat(), "key_id": who.key_id,
    }
    await request.app[PRODUCER].send(f"{settings.topic_prefix}.approvals", tenant.encode(),
                                     json.dumps(message, separators=(",", ":")).encode())
    metrics.COMMANDS.labels(tenant=tenant, command=command).inc()
    return ok({"status": "accepted", "command": message}, status=202)


@routes.post("/api/v1/tenants/{tenant}/approvals/{approval_id}/approve")
async def approve(request: web.Request) -> web.Response:
    return await _answer(request, "approve")


@routes.post("/api/v1/tenants/{tenant}/approvals/{approval_id}/reject")
async def reject(request: web.Request) -> web.Response:
    return await _answer(request, "reject")
