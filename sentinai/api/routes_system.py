"""Health, readiness, metrics, the OpenAPI document, identity, status aggregates and the status page."""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime
from importlib import resources

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from sentinai.api import metrics
from sentinai.api.auth import principal, tenant_access
from sentinai.api.errors import ApiError
from sentinai.api.openapi import CONSOLE_FILES, openapi_document
from sentinai.api.responses import ok, parse_query
from sentinai.api.state import FEED, POOL, PRODUCER, SETTINGS
from sentinai.sinks import views, worker_heartbeats
from sentinai.sinks.pack_store import known_tenant_ids
from sentinai.tenant_metrics import exposition

routes = web.RouteTableDef()
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
STATIC_FILES = {name: _TYPES[name[name.rindex("."):]] for name in CONSOLE_FILES}


async def _database_ok(request: web.Request, timeout: float = 2.0) -> bool:
    try:
        return await asyncio.wait_for(request.app[POOL].fetchval("SELECT 1"), timeout) == 1
    except Exception:
        return False


async def _running_workers(request: web.Request, timeout: float = 2.0) -> int | None:
    """Workers running now (their heartbeats); None when the database cannot be asked."""
    try:
        return await asyncio.wait_for(worker_heartbeats.running(request.app[POOL]), timeout)
    except Exception:
        return None


async def _health(request: web.Request) -> dict[str, object]:
    broker_ok, db_ok, workers = await asyncio.gather(request.app[PRODUCER].check(), _database_ok(request),
                                                     _running_workers(request))
    feed = request.app[FEED]
    return {
        "status": "ok" if broker_ok and db_ok else "degraded",
        "broker": "ok" if broker_ok else "unreachable",
        "database": "ok" if db_ok else "unreachable",
        # not part of status: the web view serves (and takes commands) with no worker running
        "workers": workers,
        "decision_feed": "live" if feed.ready.is_set() else "starting",
        "decision_feed_lag": feed.lag,
        "sse_subscribers": len(feed.subscribers),
    }


# The health routes (as /metrics) ignore their query string: probes of Kubernetes and load
# balancers often add one (`/health?probe=1`). Only the /api/v1 routes refuse unknown parameters.
@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    return ok(await _health(request))


@routes.get("/health/ready")
async def ready(request: web.Request) -> web.Response:
    result = await _health(request)
    return ok(result, status=200 if result["status"] == "ok" else 503)


def _check_metrics_token(request: web.Request) -> None:
    """With `SENTINAI_METRICS_TOKEN` set, a scrape must send it as a bearer token."""
    token = request.app[SETTINGS].metrics_token
    if token is None:
        return
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        raise ApiError(401, "unauthorized", "/metrics needs the metrics bearer token",
                       "header.Authorization")


@routes.get("/metrics")
async def metrics_endpoint(request: web.Request) -> web.Response:
    """The web process's Prometheus metrics (``metrics.WEB_REGISTRY``, not the worker's); tenant
    labels only for known tenants (those an activated pack registered)."""
    _check_metrics_token(request)
    pool = request.app[POOL]
    try:
        counts = await asyncio.wait_for(views.counts_for_metrics(pool), 2.0)
        known: list[str] = await asyncio.wait_for(known_tenant_ids(pool), 2.0)
    except Exception:
        counts, known = None, []
    if counts is not None:
        metrics.DLQ_ENTRIES.clear()
        for row in counts["dlq"]:
            metrics.DLQ_ENTRIES.labels(tenant=row["tenant_id"], status=row["status"]).set(row["n"])
        metrics.PENDING_APPROVALS.clear()
        for row in counts["approvals"]:
            metrics.PENDING_APPROVALS.labels(tenant=row["tenant_id"]).set(row["n"])
    return web.Response(body=exposition(frozenset(known), metrics.WEB_REGISTRY),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return ok(openapi_document())


@routes.get("/api/v1/whoami")
async def whoami(request: web.Request) -> web.Response:
    parse_query(request, {})
    who = await principal(request)
    tenants = await views.list_tenants(request.app[POOL]) if who.all_tenants else [who.tenant_id]
    return ok({"key_id": who.key_id, "tenant_id": who.tenant_id, "role": who.role, "tenants": tenants})


@routes.get("/api/v1/status")
async def status_all(request: web.Request) -> web.Response:
    parse_query(request, {})
    who = await principal(request)
    tenant_ids = None if who.all_tenants else [who.tenant_id]
    now = datetime.now(UTC)
    return ok({"generated_at": now, "tenants": await views.status_summary(request.app[POOL], tenant_ids, now=now)})


@routes.get("/api/v1/tenants/{tenant}/status")
async def status_tenant(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request)
    parse_query(request, {})
    now = datetime.now(UTC)
    summary = await views.status_summary(request.app[POOL], [tenant], now=now)
    return ok({"generated_at": now, **summary[0]})


def _static(name: str) -> web.Response:
    if name not in STATIC_FILES:
        raise ApiError(404, "not_found", f"no static file {name[:100]!r}")
    body = resources.files("sentinai.api").joinpath("static", name).read_bytes()
    return web.Response(body=body, content_type=STATIC_FILES[name], charset="utf-8",
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "no-referrer"})


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    response = _static("index.html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:")
    return response


@routes.get("/static/{name}")
async def static(request: web.Request) -> web.Response:
    return _static(request.match_info["name"])
