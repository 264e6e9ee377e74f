"""``sentinai worker``: one faust worker process running every agent of the app."""

from __future__ import annotations

import asyncio
import logging

import faust
import prometheus_client

from sentinai.agents.faust_fixes import (
    install_commit_guard,
    install_commit_only_what_was_handled,
    install_direct_producer_lookup,
    install_fetch_max_wait,
    install_keep_queued_messages_on_resume,
    install_recovery_to_fetched_end,
    install_reliable_producer_flush,
)
from sentinai.app import create_app
from sentinai.garbage_collection import tune_for_worker
from sentinai.settings import Settings
from sentinai.streams.topics import ensure_topics


def run_worker(settings: Settings) -> None:
    settings.require_broker()
    settings.require_database()
    (settings.data_dir / "worker").mkdir(parents=True, exist_ok=True)
    # the pipeline's partition count: the setting, or the input topic's when a producer created it first
    settings = settings.model_copy(update={"topic_partitions": asyncio.run(ensure_topics(settings))})
    install_reliable_producer_flush()  # table changes must reach the changelog before commits
    install_keep_queued_messages_on_resume()  # recovery must not drop fetched input
    install_commit_only_what_was_handled()  # no offset committed over an unhandled message
    install_commit_guard()  # no offset committed over an output that was never delivered
    install_direct_producer_lookup()  # a send must not cost three event-loop turns
    install_recovery_to_fetched_end()  # tables recover the whole changelog, not up to a short end
    install_fetch_max_wait(settings.fetch_max_wait_ms)  # new input must not wait behind an idle long-poll
    app = create_app(settings)
    if settings.worker_metrics_port:
        # the worker's own Prometheus endpoint (agents, tables, sink); the web view serves its own
        prometheus_client.start_http_server(settings.worker_metrics_port, addr=settings.web_host)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # group membership and assignments are what an operator needs to see after a rebalance
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.INFO)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, override_logging=True)
    # No terminal spinner: to feed it, faust sets the root logger to DEBUG whenever the level is
    # WARNING or above, and every debug call in faust (one per message sent) then builds a record.
    worker.spinner = None
    tune_for_worker()
    worker.execute_from_commandline()
