"""A running pipeline for integration and chaos tests: migrated database with the sample packs, topics, a worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sentinai.migrate import import_packs
from sentinai.settings import Settings
from sentinai.streams.topics import TopicNames, ensure_topics
from tests.support.processes import ServiceProcess, WebProcess, WorkerProcess, stop_all

PACKS = Path(__file__).resolve().parents[2] / "packs"


@dataclass
class Pipeline:
    settings: Settings
    topics: TopicNames
    database_url: str
    bootstrap: str
    start_worker: Callable[..., WorkerProcess]
    start_web: Callable[..., WebProcess]


@pytest.fixture
def pipeline_factory(database_url: str, bootstrap: str, tmp_path: Path) -> Iterator[Callable[[Settings], Pipeline]]:
    """Builds the pipeline for given settings; every worker it started is stopped at the end."""
    services: list[ServiceProcess] = []

    def build(settings: Settings) -> Pipeline:
        import_packs(database_url, PACKS)
        asyncio.run(ensure_topics(settings))

        def start_worker(env: dict[str, str] | None = None, *, wait_ready: float = 60.0) -> WorkerProcess:
            worker = WorkerProcess(settings, database_url, tmp_path / f"worker-{len(services)}.log", env=env)
            services.append(worker)
            worker.start(wait_ready=wait_ready)
            return worker

        def start_web(env: dict[str, str] | None = None) -> WebProcess:
            web = WebProcess(settings, database_url, tmp_path / f"web-{len(services)}.log", env=env)
            services.append(web)
            web.start()
            return web

        return Pipeline(settings, TopicNames.from_settings(settings), database_url, bootstrap, start_worker,
                        start_web)

    try:
        yield build
    finally:
        stop_all(services)


@pytest.fixture
def pipeline(make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline]) -> Pipeline:
    return pipeline_factory(make_settings(packs_dir=PACKS))
