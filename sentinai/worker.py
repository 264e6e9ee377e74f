"""``sentinai worker``: one faust worker process running every agent of the app."""

from __future__ import annotations

import asyncio
import logging

import faust
import prometheus_client

from sentinai import framework
from sentinai.app import create_app
from sentinai.garbage_collection import tune_for_worker
from sentinai.settings import Settings
from sentinai.streams.topics import ensure_topics
from sentinai.tenant_metrics import filtered_registry


def run_worker(settings: Settings) -> None:
    settings.require_broker()
    settings.require_database()
    (settings.data_dir / "worker").mkdir(parents=True, exist_ok=True)
    asyncio.run(ensure_topics(settings))
    framework.install_all(fetch_max_wait_ms=settings.fetch_max_wait_ms)  # faust's corrections, before the app
    app = create_app(settings)
    if settings.worker_metrics_port:
        # the worker's own Prometheus endpoint (agents, tables, sink), on its own port; the web view
        # serves its own. Tenant labels only for the tenants of the worker's active packs.
        prometheus_client.start_http_server(settings.worker_metrics_port, addr=settings.web_host,
                                            registry=filtered_registry(app.known_tenants))
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # group membership and assignments are what an operator needs to see after a rebalance
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.INFO)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, override_logging=True)
    # No terminal spinner: to feed it, faust sets the root logger to DEBUG whenever the level is
    # WARNING or above, and every debug call in faust (one per message sent) then builds a record.
    worker.spinner = None
    tune_for_worker()
    worker.execute_from_commandline()
