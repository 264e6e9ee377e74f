"""The copilot: read-only questions about the tenant's own exceptions, and its audit trail."""

from __future__ import annotations

from aiohttp import web

from sentinai.api import metrics
from sentinai.api.auth import tenant_access
from sentinai.api.errors import ApiError, check_fields, read_json
from sentinai.api.responses import int_between, ok, parse_query, timestamp
from sentinai.api.state import COPILOT, POOL, SETTINGS
from sentinai.copilot import quota
from sentinai.copilot.audit import list_questions
from sentinai.copilot.service import Question

routes = web.RouteTableDef()


def _storable(text: str) -> bool:
    """Whether PostgreSQL text can hold ``text`` (no NUL, valid UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@routes.post("/api/v1/tenants/{tenant}/copilot")
async def ask(request: web.Request) -> web.Response:
    who, tenant = await tenant_access(request)
    body = check_fields(await read_json(request, request.app[SETTINGS].max_body_bytes),
                        allowed={"question": str, "exception_id": str, "session_id": str},
                        required=("question",))
    for name, value in body.items():
        if isinstance(value, str) and not _storable(value):
            raise ApiError(422, "invalid_field", f"field {name!r} contains a NUL character or an "
                           "unpaired surrogate", f"body.{name}")
    question = Question(tenant_id=tenant, key_id=who.key_id, text=body["question"],
                        exception_id=body.get("exception_id") or None,
                        session_id=body.get("session_id") or None)
    answer = await request.app[COPILOT].ask(question)
    if str(answer.get("fallback_reason", "")).startswith(f"{quota.REASON}:"):
        metrics.COPILOT_LLM_QUOTA.labels(tenant=tenant).inc()
    return ok(answer)


@routes.get("/api/v1/tenants/{tenant}/copilot/questions")
async def questions(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request, "admin")
    q = parse_query(request, {"since": timestamp, "limit": int_between(1, 500)})
    items = await list_questions(request.app[POOL], tenant, since=q.get("since"),
                                 limit=q.get("limit", 100))
    return ok({"tenant_id": tenant, "items": items})
