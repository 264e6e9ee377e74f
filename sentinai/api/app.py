"""The web view's composition root: ``create_app`` and ``run_web``.

Resources (typed ``web.AppKey``s, lifecycles in ``cleanup_ctx``): the asyncpg pool, one aiokafka
producer (ingest, commands, replays) and the decision feed (one consumer, fanned out to SSE).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from sentinai.api import metrics
from sentinai.api.errors import error_middleware, escaped_path, input_middleware
from sentinai.api.feed import DecisionFeed
from sentinai.api.kafka import CommandProducer
from sentinai.api.pack_validator import pack_validator
from sentinai.api.proposal_reports import proposal_reports
from sentinai.api.routes_approvals import routes as approval_routes
from sentinai.api.routes_copilot import routes as copilot_routes
from sentinai.api.routes_dlq import routes as dlq_routes
from sentinai.api.routes_exceptions import routes as exception_routes
from sentinai.api.routes_packs import routes as pack_routes
from sentinai.api.routes_proposals import routes as proposal_routes
from sentinai.api.routes_similar import routes as similar_routes
from sentinai.api.routes_stream import HEARTBEAT
from sentinai.api.routes_stream import routes as stream_routes
from sentinai.api.routes_system import routes as system_routes
from sentinai.api.routes_whatif import routes as whatif_routes
from sentinai.api.state import (
    COPILOT,
    FEED,
    PACK_CHANGES,
    PACKS,
    POOL,
    PRODUCER,
    SETTINGS,
    VALIDATING,
    WHATIFS,
)
from sentinai.caches.packs import PackCache
from sentinai.copilot.service import Copilot
from sentinai.llm.client import LLMClient
from sentinai.settings import Settings, asyncpg_dsn, bootstrap_servers
from sentinai.streams.topics import ensure_topics

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def open_database(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """The shared pool (``sentinai.sinks.pool.open_pool``) when present, else a local equivalent."""
    try:
        from sentinai.sinks.pool import open_pool
    except ImportError:
        open_pool = None
    if open_pool is not None:
        async with open_pool(database_url) as pool:
            yield pool
        return

    async def init(conn: asyncpg.Connection) -> None:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

    pool = await asyncpg.create_pool(asyncpg_dsn(database_url), min_size=1, max_size=10, init=init)
    try:
        yield pool
    finally:
        await pool.close()


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log without query strings (the stream routes may carry ``?access_token=``), the path
    escaped (:func:`sentinai.api.errors.escaped_path`)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %.3fs', request.remote, request.method, escaped_path(request),
                         response.status, time)


@web.middleware
async def metrics_middleware(request: web.Request,
                             handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    started = time.perf_counter()
    route = "unmatched"
    info = request.match_info.route.resource if request.match_info.route else None
    if info is not None:
        route = info.canonical
    response = await handler(request)
    metrics.HTTP_REQUESTS.labels(method=request.method, route=route, status=str(response.status)).inc()
    metrics.HTTP_LATENCY.labels(method=request.method, route=route).observe(time.perf_counter() - started)
    return response


def create_app(settings: Settings, *, pool: asyncpg.Pool | None = None,
               heartbeat_seconds: float = 15.0, producer_wait_seconds: float = 5.0) -> web.Application:
    """The aiohttp application. Without ``pool`` it opens one from ``settings.require_database()``."""
    app = web.Application(middlewares=[metrics_middleware, error_middleware, input_middleware],
                          client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[HEARTBEAT] = float(heartbeat_seconds)
    app[WHATIFS] = set()
    app[VALIDATING] = set()
    app[PACK_CHANGES] = {}
    bootstrap = bootstrap_servers(settings.require_broker())
    database_url = None if pool is not None else settings.require_database()

    async def database(app: web.Application) -> AsyncIterator[None]:
        if pool is not None:
            app[POOL] = pool
            app[PACKS] = PackCache()
            yield
            return
        assert database_url is not None
        async with open_database(database_url) as opened:
            app[POOL] = opened
            app[PACKS] = PackCache()
            yield

    async def kafka(app: web.Application) -> AsyncIterator[None]:
        # With SENTINAI_TOPIC_PARTITIONS set, the topics are made with it before the first send (the
        # broker's auto-create would use its own count, which the workers then refuse); unset, the
        # workers follow the input topic, whoever made it.
        explicit = "topic_partitions" in settings.model_fields_set
        producer = CommandProducer(bootstrap, max_request_size=max(settings.max_body_bytes, settings.max_message_bytes) + 65536,
                                   ensure_topics=(lambda: ensure_topics(settings)) if explicit else None)
        feed = DecisionFeed(bootstrap, settings.topic_decisions)
        app[PRODUCER] = producer
        app[FEED] = feed
        await producer.start(wait=producer_wait_seconds)
        await feed.start()
        try:
            yield
        finally:
            await feed.stop()
            await producer.stop()

    async def close_streams(app: web.Application) -> None:
        # Wake every SSE handler so that shutdown does not wait for clients to hang up.
        for sub in list(app[FEED].subscribers):
            sub.overflowed = True
            sub.wakeup.set()

    async def copilot(app: web.Application) -> AsyncIterator[None]:
        llm = None
        if settings.llm_base_url:
            llm = LLMClient.for_deployment(settings)
        app[COPILOT] = Copilot(app[POOL], app[PACKS], llm=llm)
        try:
            yield
        finally:
            if llm is not None:
                await llm.close()

    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(copilot)
    app.cleanup_ctx.append(kafka)
    app.cleanup_ctx.append(proposal_reports)
    app.cleanup_ctx.append(pack_validator)
    app.on_shutdown.append(close_streams)
    for table in (system_routes, exception_routes, similar_routes, copilot_routes, stream_routes,
                  approval_routes, dlq_routes, pack_routes, proposal_routes, whatif_routes):
        app.router.add_routes(table)
    return app


async def run_web(settings: Settings, *, pool: asyncpg.Pool | None = None) -> None:
    """Serve the web view on ``web_host:web_port`` until cancelled."""
    app = create_app(settings, pool=pool)
    runner = web.AppRunner(app, access_log_class=PathOnlyAccessLogger)
    try:
        await runner.setup()  # inside: a start that fails half-way closes what it opened
        site = web.TCPSite(runner, settings.web_host, settings.web_port, shutdown_timeout=5.0)
        await site.start()
        host, port = runner.addresses[0][:2]  # the port bound: SENTINAI_WEB_PORT=0 picks a free one
        log.info("web view on http://%s:%d/", host, port)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
