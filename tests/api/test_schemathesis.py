"""Schemathesis against the OpenAPI document: generated valid and invalid requests to every
operation of a real server; no 5xx, documented status codes, content types and response schemas."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import schemathesis
from aiohttp import web

from sentinai.api.app import create_app
from sentinai.api.openapi import openapi_document
from sentinai.settings import Settings
from sentinai.sinks.api_keys import create_api_key
from sentinai.streams.topics import ensure_topics
from tests.support.seed import NEEDS_APPROVAL, decided, store

SKIP_PATHS = {"/api/v1/decisions/stream", "/api/v1/tenants/{tenant}/decisions/stream"}  # endless responses


class ThreadedServer:
    """The web app on its own event loop in a thread, for synchronous clients."""

    def __init__(self, settings: Settings, database_url: str) -> None:
        self.settings = settings
        self.database_url = database_url
        self.key = ""
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self._stop: asyncio.Event | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as err:  # surfaced to the test
            self.error = err
            self.started.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        await ensure_topics(self.settings)
        pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=2)
        await pool.execute("INSERT INTO tenants (tenant_id, domain_name) VALUES ('acme', 'capital-markets')")
        # an exception with a playbook waiting for its approval, as the pipeline leaves one
        await store(self.database_url, decided("acme", "E-1", NEEDS_APPROVAL, at=datetime.now(UTC)))
        self.key = await create_api_key(pool, "acme", "operator")
        await pool.close()
        runner = web.AppRunner(create_app(self.settings))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.settings.web_port).start()
        self.started.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def start(self) -> None:
        self.thread.start()
        if not self.started.wait(60) or self.error is not None:
            raise RuntimeError(f"server did not start: {self.error!r}")

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)


@pytest.fixture
def threaded_server(make_settings: Callable[..., Settings], database_url: str) -> Iterator[ThreadedServer]:
    server = ThreadedServer(make_settings(database_url=database_url, max_body_bytes=8192), database_url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _runner(operation: Any, mode: Any, examples: int, base_url: str, headers: dict[str, str],
            checks: list[Any]) -> Callable[[], None]:
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode

    positive = mode is GenerationMode.POSITIVE

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if positive and case.path_parameters and "tenant" in case.path_parameters:
            case.path_parameters["tenant"] = "acme"  # reach the handlers, not only the tenant check
        response = case.call(base_url=base_url, headers=headers, timeout=15)
        case.validate_response(response, checks=checks)

    return run


def test_openapi_fuzz(threaded_server: ThreadedServer) -> None:
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    base_url = f"http://127.0.0.1:{threaded_server.settings.web_port}"
    headers = {"Authorization": f"Bearer {threaded_server.key}"}
    schema = schemathesis.openapi.from_dict(openapi_document())
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    started = time.monotonic()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIP_PATHS:
            continue
        operations += 1
        for mode, examples in ((GenerationMode.POSITIVE, 15), (GenerationMode.NEGATIVE, 10)):
            run = _runner(operation, mode, examples, base_url, headers, checks)
            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.path  # nothing to negate: no input
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as err:  # FailureGroup is a BaseExceptionGroup; report every operation's
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {str(err)[:1500]}")
    elapsed = time.monotonic() - started
    assert operations >= 15
    assert not failures, "\n\n".join(failures)
    assert elapsed < 120, f"schemathesis took {elapsed:.0f}s"
