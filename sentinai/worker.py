"""``sentinai worker``: one faust worker process running every agent of the app."""

from __future__ import annotations

import asyncio
import logging
import signal

import faust
import prometheus_client
from aiokafka.errors import KafkaConnectionError

from sentinai import framework
from sentinai.app import create_app
from sentinai.framework.commit_guard import exit_unless_stopped
from sentinai.garbage_collection import tune_for_worker
from sentinai.settings import Settings, SettingsError, bootstrap_servers
from sentinai.streams.topics import ensure_topics
from sentinai.tenant_metrics import filtered_registry

# A stop asked by a signal ends within this time: faust commits what was handled and stops on its
# own in 2-5 s (tests/integration/test_worker_stop.py); a stop that hangs past it (a service that
# never reports it stopped) is cut short, which is as safe as the crash the pipeline survives.
STOP_SECONDS = 9.0


class Worker(faust.Worker):
    """faust's worker, whose stop on SIGTERM or SIGINT takes at most :data:`STOP_SECONDS` (named
    Worker as faust's is: its log says `[^Worker]: Ready`, which operators and tests wait for)."""

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if not self._signal_stop_time:
            exit_unless_stopped(STOP_SECONDS, after=signum.name)
        super()._schedule_shutdown(signum)


def run_worker(settings: Settings) -> None:
    settings.require_broker()
    settings.require_database()
    (settings.data_dir / "worker").mkdir(parents=True, exist_ok=True)
    # the pipeline's partition count: the setting, or the input topic's when a producer created it first
    try:
        partitions = asyncio.run(ensure_topics(settings, timeout=settings.broker_wait_seconds))
    except KafkaConnectionError as err:
        raise RuntimeError(f"SENTINAI_KAFKA_BROKER: no broker answered at "
                           f"{bootstrap_servers(settings.require_broker())} ({err})") from None
    settings = settings.model_copy(update={"topic_partitions": partitions})
    framework.install_all(fetch_max_wait_ms=settings.fetch_max_wait_ms)  # faust's corrections, before the app
    app = create_app(settings)
    if settings.worker_metrics_port:
        # the worker's own Prometheus endpoint (agents, tables, sink), on its own port; the web view
        # serves its own. Tenant labels only for the tenants of the worker's active packs.
        try:
            prometheus_client.start_http_server(settings.worker_metrics_port, addr=settings.web_host,
                                                registry=filtered_registry(app.known_tenants))
        except OSError as err:  # two workers on one host given the same port, say
            raise SettingsError(f"SENTINAI_WORKER_METRICS_PORT: cannot listen on {settings.web_host}:"
                                f"{settings.worker_metrics_port} ({err.strerror})") from None
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # group membership and assignments are what an operator needs to see after a rebalance
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.INFO)
    worker = Worker(app, loglevel=settings.log_level, quiet=True, override_logging=True)
    # No terminal spinner: to feed it, faust sets the root logger to DEBUG whenever the level is
    # WARNING or above, and every debug call in faust (one per message sent) then builds a record.
    worker.spinner = None
    tune_for_worker()
    worker.execute_from_commandline()
