"""run_web, readiness when the broker or the database is gone, and `sentinai keys create|revoke`."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics import MetricWrapperBase

from sentinai import metrics as worker_metrics
from sentinai.api.app import create_app, run_web
from sentinai.cli_keys import create, revoke
from sentinai.embedded.process import free_port
from sentinai.settings import Settings
from sentinai.sinks.api_keys import authenticate, create_api_key
from tests.support.processes import WebProcess


async def test_run_web_serves_until_cancelled(make_settings: Callable[..., Settings], database_url: str) -> None:
    settings = make_settings(database_url=database_url)
    task = asyncio.create_task(run_web(settings))
    url = f"http://127.0.0.1:{settings.web_port}/health"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(url) as resp:
                        body = await resp.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("run_web did not listen")
        assert body["database"] == "ok"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.get(url):
                pass


@pytest.mark.parametrize(("stop", "exit_code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_sentinai_web_stops_on_sigterm_as_on_ctrl_c(stop: signal.Signals, exit_code: int,
                                                    make_settings: Callable[..., Settings],
                                                    database_url: str, tmp_path: Path) -> None:
    """SIGTERM (what docker, Kubernetes, systemd and `sentinai dev` send) closes the web view as
    Ctrl-C does: open requests finish, the broker clients and the pool are closed; it used to end
    the process at once (exit status -15)."""
    web = WebProcess(make_settings(), database_url, tmp_path / "web.log").start()
    process = web.process
    assert process is not None
    try:
        process.send_signal(stop)
        assert process.wait(15) == exit_code, web.log_tail()
    finally:
        web.kill()


def _families(exposition: bytes) -> set[str]:
    return {line.split()[2] for line in exposition.decode().splitlines() if line.startswith("# TYPE ")}


async def test_sentinai_web_alone_shows_only_its_own_metrics(make_settings: Callable[..., Settings],
                                                            database_url: str, tmp_path: Path) -> None:
    """`sentinai web` alone showed the worker's series on /metrics (sentinai_sink_pending_events 0.0,
    sentinai_exceptions_processed_total …), which a dashboard read as a worker doing nothing: the
    web imports sentinai.metrics, whose metrics were in the default registry it served."""
    worker_registry = CollectorRegistry(auto_describe=True)
    for collector in vars(worker_metrics).values():
        if isinstance(collector, MetricWrapperBase):
            worker_registry.register(collector)
    worker_families = _families(generate_latest(worker_registry))
    assert "sentinai_sink_pending_events" in worker_families
    web = WebProcess(make_settings(), database_url, tmp_path / "web.log").start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{web.url}/health") as resp:
                assert resp.status == 200
            async with session.get(f"{web.url}/metrics") as resp:
                assert resp.status == 200
                families = _families(await resp.read())
    finally:
        web.stop()
    assert families & worker_families == set()
    assert {"sentinai_http_requests_total", "sentinai_web_ingested_total", "sentinai_dlq_entries",
            "sentinai_web_decision_feed_lag", "process_cpu_seconds_total", "python_gc_objects_collected_total"
            } <= families, sorted(families)


async def test_ready_is_503_when_database_is_gone(make_settings: Callable[..., Settings], database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    app = create_app(make_settings(), pool=pool)
    async with TestClient(TestServer(app)) as client:
        async with client.get("/health/ready") as resp:
            assert resp.status == 200
        await pool.close()
        async with client.get("/health/ready") as resp:
            body = await resp.json()
            assert resp.status == 503 and body["database"] == "unreachable" and body["broker"] == "ok"
        async with client.get("/health") as resp:
            assert resp.status == 200 and (await resp.json())["status"] == "degraded"


async def test_broker_down_is_503_not_500(make_settings: Callable[..., Settings], database_url: str, db: asyncpg.Pool) -> None:
    await db.execute("INSERT INTO tenants (tenant_id, domain_name) VALUES ('acme', 'd')")
    key = await create_api_key(db, "acme", "operator")
    settings = make_settings(database_url=database_url, kafka_broker=f"127.0.0.1:{free_port()}")
    app = create_app(settings, producer_wait_seconds=0.2)
    async with TestClient(TestServer(app)) as client:
        async with client.get("/health/ready") as resp:
            body = await resp.json()
            assert resp.status == 503 and body["broker"] == "unreachable" and body["database"] == "ok"
        async with client.post("/api/v1/tenants/acme/exceptions", json={"payload": {"a": 1}},
                               headers={"Authorization": f"Bearer {key}"}) as resp:
            body = await resp.json()
            assert resp.status == 503 and body["error"] == "broker_unavailable"


async def test_keys_create_prints_the_key_last(make_settings: Callable[..., Settings], database_url: str,
                                               db: asyncpg.Pool, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(database_url=database_url)
    await db.execute("INSERT INTO tenants (tenant_id, domain_name) VALUES ('acme', 'd')")  # a known tenant
    assert await create(settings, "acme", "operator") == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    who = await authenticate(db, key)
    assert who is not None and who.tenant_id == "acme" and who.role == "operator"
    assert await db.fetchval("SELECT count(*) FROM api_keys WHERE key_hash = $1", key) == 0  # stored hashed
    assert await create(settings, "acme", "superuser") == 2
    assert await create(settings, "*", "viewer") == 2
    assert "only an admin" in capsys.readouterr().err
    assert await create(make_settings(database_url=None), "acme", "viewer") == 2


async def test_keys_revoke_refuses_the_key_from_then_on(make_settings: Callable[..., Settings], database_url: str,
                                                       db: asyncpg.Pool, capsys: pytest.CaptureFixture[str]) -> None:
    """An operator whose key leaked had no way to revoke it but SQL."""
    settings = make_settings(database_url=database_url)
    key = await create_api_key(db, "acme", "admin")
    who = await authenticate(db, key)
    assert who is not None
    assert await revoke(settings, who.key_id) == 0
    assert await authenticate(db, key) is None
    assert await revoke(settings, who.key_id) == 2
    assert f"no live key with id '{who.key_id}'" in capsys.readouterr().err


async def test_run_web_logs_the_port_it_bound(make_settings: Callable[..., Settings], database_url: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """SENTINAI_WEB_PORT=0 (a free port) used to be logged as `web view on http://127.0.0.1:0/`."""
    caplog.set_level(logging.INFO, logger="sentinai.api.app")
    task = asyncio.create_task(run_web(make_settings(database_url=database_url, web_port=0)))
    try:
        for _ in range(100):
            found = [r.getMessage() for r in caplog.records if r.getMessage().startswith("web view on")]
            if found:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("run_web did not say where it listens")
        url = found[0].removeprefix("web view on ")
        assert not url.endswith(":0/")
        async with aiohttp.ClientSession() as session, session.get(f"{url}health") as resp:
            assert resp.status == 200
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
