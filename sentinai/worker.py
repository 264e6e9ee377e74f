"""``sentinai worker``: one faust worker process running every agent of the app."""

from __future__ import annotations

import asyncio
import logging

import faust

from sentinai.app import create_app
from sentinai.settings import Settings
from sentinai.streams.topics import ensure_topics


def run_worker(settings: Settings) -> None:
    settings.require_broker()
    settings.require_database()
    (settings.data_dir / "worker").mkdir(parents=True, exist_ok=True)
    asyncio.run(ensure_topics(settings))
    app = create_app(settings)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, override_logging=True)
    worker.execute_from_commandline()
