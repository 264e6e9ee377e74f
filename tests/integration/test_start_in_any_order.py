"""Start the pieces the way a user does, in any order.

A producer that is not ours (librdkafka, its default partitioner) writes before any worker exists,
on an input topic the broker auto-created; then a worker starts, then a second one. The web view
is started before the first worker, with an SSE client open on it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from sentinai.embedded.process import free_port
from sentinai.migrate import import_packs
from sentinai.settings import Settings
from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.pool import open_pool
from sentinai.streams.topics import TopicNames
from tests.api.sse import read_events
from tests.support.db import fetchval, wait_for
from tests.support.kafka import produce, read_all
from tests.support.load import make_load
from tests.support.packs import activate
from tests.support.pipeline import PACKS
from tests.support.processes import (
    QUICK_GROUP,
    ServiceProcess,
    WebProcess,
    WorkerProcess,
    settings_env,
    stop_all,
)
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.integration

TENANTS, EXCEPTIONS = 6, 400


def partitions_left_to_the_worker(settings: Settings) -> Settings:
    """These settings as a deployment that never set SENTINAI_TOPIC_PARTITIONS."""
    return Settings(**settings.model_dump(exclude_unset=True, exclude={"topic_partitions"}))


@pytest.fixture
def services() -> Iterator[list[ServiceProcess]]:
    """The processes a test started, all stopped at its end. Its workers get shorter group timings
    (QUICK_GROUP): each join waits the rebalance timeout, which is no part of what these tests show."""
    started: list[ServiceProcess] = []
    try:
        yield started
    finally:
        stop_all(started)


def start(services: list[ServiceProcess], service: ServiceProcess) -> Any:
    services.append(service)
    service.start()
    return service


def produce_with_default_partitioner(bootstrap: str, topic: str, messages: list[tuple[bytes, dict[str, Any]]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})  # librdkafka's own partitioner
    for key, value in messages:
        producer.produce(topic, key=key, value=json.dumps(value).encode())
        producer.poll(0)
    assert producer.flush(30) == 0


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(10)


def partition_counts(bootstrap: str, topics: list[str]) -> dict[str, int]:
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    return {t: len(metadata.topics[t].partitions) for t in topics if t in metadata.topics}


def decided_stages(messages: list[Any]) -> dict[tuple[str, str, str], set[str]]:
    """(tenant, exception, stage) → the event ids of its decision records (either record shape:
    one record per stage, or one record with its ``stages``)."""
    found: dict[tuple[str, str, str], set[str]] = {}
    for message in messages:
        record = json.loads(message.value())
        for stage in record.get("stages") or [record]:
            if stage["stage"] in ("triage", "policy", "playbook"):
                found.setdefault((record["tenant_id"], record["exception_id"], stage["stage"]), set()).add(
                    record["event_id"])
    return found


@pytest.mark.parametrize("input_partitions", [1, 4])
def test_a_producer_first_then_a_worker_then_a_second_worker(
        input_partitions: int, make_settings: Callable[..., Settings], database_url: str, bootstrap: str,
        services: list[ServiceProcess], tmp_path: Path) -> None:
    settings = partitions_left_to_the_worker(make_settings(packs_dir=PACKS))
    names = TopicNames.from_settings(settings)
    load = make_load(tenants=TENANTS, exceptions=EXCEPTIONS, duplicate_share=0)
    activate(database_url, load.tenants)
    if input_partitions == 1:  # Apache Kafka's auto-create default; the embedded broker's is 4
        create_topic(bootstrap, names.exceptions, 1)
    half = len(load.messages) // 2
    produce_with_default_partitioner(bootstrap, names.exceptions, load.messages[:half])
    assert partition_counts(bootstrap, [names.exceptions]) == {names.exceptions: input_partitions}

    start(services, WorkerProcess(settings, database_url, tmp_path / "worker-1.log", env=QUICK_GROUP))
    wait_for(database_url, "SELECT count(*) FROM exceptions", until=lambda n: n == half, timeout=120)
    start(services, WorkerProcess(settings, database_url, tmp_path / "worker-2.log", env=QUICK_GROUP))
    produce_with_default_partitioner(bootstrap, names.exceptions, load.messages[half:])
    wait_for(database_url, "SELECT count(*) FROM exceptions", until=lambda n: n == EXCEPTIONS, timeout=180)

    owned = [n for n in names.all() if n != names.exceptions] + list(names.changelogs)
    assert partition_counts(bootstrap, owned) == dict.fromkeys(owned, input_partitions)
    stages = decided_stages(read_all(bootstrap, names.decisions))
    assert {(tenant, exc) for tenant, exc, _ in stages} == load.exception_ids
    assert all(len(ids) == 1 for ids in stages.values())  # each exception decided once
    assert read_all(bootstrap, names.dlq, idle=1.0) == []
    assert fetchval(database_url, "SELECT count(*) FROM dead_letters") == 0


def test_a_worker_refuses_partition_counts_it_cannot_reconcile_in_one_line(
        make_settings: Callable[..., Settings], database_url: str, bootstrap: str) -> None:
    settings = make_settings(packs_dir=PACKS, topic_partitions=8)  # set explicitly by the deployment
    names = TopicNames.from_settings(settings)
    create_topic(bootstrap, names.exceptions, 1)
    worker = subprocess.run([sys.executable, "-m", "sentinai", "worker"], env=settings_env(settings, database_url),
                            capture_output=True, timeout=60)
    lines = worker.stderr.decode().strip().splitlines()
    assert worker.returncode == 2 and len(lines) == 1, worker.stderr.decode()
    assert f"{names.exceptions}=1" in lines[0] and "SENTINAI_TOPIC_PARTITIONS" in lines[0]
    assert partition_counts(bootstrap, [names.events]) == {}  # nothing created on a refusal


def test_the_web_view_started_first_streams_the_first_worker_s_decisions(
        make_settings: Callable[..., Settings], database_url: str, services: list[ServiceProcess],
        tmp_path: Path) -> None:
    settings = partitions_left_to_the_worker(make_settings(packs_dir=PACKS))
    import_packs(database_url, PACKS)
    key = asyncio.run(_admin_key(database_url))
    web: WebProcess = start(services, WebProcess(settings, database_url, tmp_path / "web.log"))

    async def scenario() -> list[Any]:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
            stream_url = f"{web.url}/api/v1/tenants/acme-capital/decisions/stream"
            async with session.get(stream_url, timeout=aiohttp.ClientTimeout(total=None)) as stream:
                [hello] = await read_events(stream, want=1, event="hello")
                assert hello.json()["live"] is False  # no decisions topic yet: nothing started it
                assert await workers_on_health(session, web.url) == 0  # none yet, and the web view says so
                worker = await asyncio.to_thread(
                    start, services, WorkerProcess(settings, database_url, tmp_path / "worker.log", env=QUICK_GROUP))
                started = time.monotonic()
                async with session.post(f"{web.url}/api/v1/tenants/acme-capital/exceptions", json={
                        "exception_id": "FIRST-1", "exception_type": "SETTLEMENT_FAIL",
                        "source_system": "settlements", "payload": {"failReason": "SSI_MISMATCH"}}) as posted:
                    assert posted.status == 202, await posted.text()
                events = await read_events(stream, want=1, timeout=30)
                print(f"first decision on SSE {time.monotonic() - started:.1f}s after the worker was ready")  # noqa: T201
                assert worker.process is not None and worker.process.poll() is None
                # the operator's sign that something decides: the workers in the group, on /health
                await workers_on_health(session, web.url, until=lambda n: n == 1)
                await asyncio.to_thread(worker.stop)
                await workers_on_health(session, web.url, until=lambda n: n == 0)
                return events

    events = asyncio.run(scenario())
    assert [e.json()["exception_id"] for e in events] == ["FIRST-1"]


async def workers_on_health(session: aiohttp.ClientSession, url: str,
                            until: Callable[[int | None], bool] = lambda n: True, timeout: float = 30.0) -> int | None:
    """``workers`` of the web view's /health, read until ``until`` holds (a worker writes its
    heartbeat every 10 s)."""
    deadline = time.monotonic() + timeout
    while True:
        async with session.get(f"{url}/health") as resp:
            body = await resp.json()
        assert resp.status == 200 and body["status"] == "ok", body
        if until(body["workers"]) or time.monotonic() > deadline:
            assert until(body["workers"]), body
            return body["workers"]
        await asyncio.sleep(0.5)


async def _admin_key(database_url: str) -> str:
    async with open_pool(database_url, min_size=1, max_size=1) as pool:
        return await create_api_key(pool, "*", "admin")


def test_a_worker_started_before_its_database_waits_for_it(
        make_settings: Callable[..., Settings], database_url: str, bootstrap: str,
        services: list[ServiceProcess], tmp_path: Path) -> None:
    """PostgreSQL is reached through a proxy that does not listen yet: the worker joins its group,
    says once a second that it cannot reach the database (its agents do not crash with a
    traceback each), and decides what waited once the database is there."""
    settings = make_settings(packs_dir=PACKS)
    import_packs(database_url, PACKS)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="pg-proxy", daemon=True)
    thread.start()
    proxy = TcpProxy(free_port(), urlsplit(database_url).port or 5432)
    try:
        parts = urlsplit(database_url)
        credentials = parts.netloc.rpartition("@")[0]
        proxied = urlunsplit(parts._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}"))
        worker = start(services, WorkerProcess(settings, proxied, tmp_path / "worker.log", env=QUICK_GROUP))
        produce(bootstrap, TopicNames.from_settings(settings).exceptions, [("acme-capital", {
            "tenant_id": "acme-capital", "exception_id": "EARLY-1", "exception_type": "SETTLEMENT_FAIL",
            "payload": {"a": 1}})])
        deadline = time.monotonic() + 30
        while worker.log_tail(400).count("cannot reach the database yet") < 3:
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.2)
        asyncio.run_coroutine_threadsafe(proxy.listen(), loop).result(10)
        wait_for(database_url, "SELECT count(*) FROM exceptions WHERE exception_id = 'EARLY-1'",
                 until=lambda n: n == 1, timeout=60)
        log = worker.log_path.read_text(errors="replace")
        assert "Traceback" not in log and "Crashed" not in log, worker.log_tail(80)
    finally:
        stop_all(services)
        asyncio.run_coroutine_threadsafe(proxy.cut(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_an_exception_posted_before_any_worker_with_the_partitions_set(
        make_settings: Callable[..., Settings], database_url: str, bootstrap: str,
        services: list[ServiceProcess], tmp_path: Path) -> None:
    """SENTINAI_TOPIC_PARTITIONS set for every process (as docker-compose.yml does) and the web
    view the first to produce: its 202 must not leave a topic the workers then refuse to start on
    (the broker's auto-create used to make the input topic with its own count, 4 here)."""
    settings = make_settings(packs_dir=PACKS, topic_partitions=6)
    names = TopicNames.from_settings(settings)
    import_packs(database_url, PACKS)
    key = asyncio.run(_admin_key(database_url))
    web: WebProcess = start(services, WebProcess(settings, database_url, tmp_path / "web.log"))

    async def post() -> None:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
            async with session.post(f"{web.url}/api/v1/tenants/acme-capital/exceptions", json={
                    "exception_id": "BEFORE-1", "exception_type": "SETTLEMENT_FAIL",
                    "payload": {"failReason": "SSI_MISMATCH"}}) as posted:
                assert posted.status == 202, await posted.text()

    asyncio.run(post())
    assert partition_counts(bootstrap, [names.exceptions]) == {names.exceptions: 6}
    start(services, WorkerProcess(settings, database_url, tmp_path / "worker.log", env=QUICK_GROUP))
    wait_for(database_url, "SELECT count(*) FROM exceptions WHERE exception_id = 'BEFORE-1'",
             until=lambda n: n == 1, timeout=60)


def test_health_counts_a_worker_once_it_is_ready(make_settings: Callable[..., Settings], database_url: str,
                                                 services: list[ServiceProcess], tmp_path: Path) -> None:
    """An operator who scaled up sees the new worker on /health when it says Ready, not one
    heartbeat (10 s) later."""
    settings = make_settings(packs_dir=PACKS)
    import_packs(database_url, PACKS)
    web: WebProcess = start(services, WebProcess(settings, database_url, tmp_path / "web.log"))
    start(services, WorkerProcess(settings, database_url, tmp_path / "worker.log", env=QUICK_GROUP))

    async def workers() -> int | None:
        async with aiohttp.ClientSession() as session:
            return await workers_on_health(session, web.url, until=lambda n: n == 1, timeout=3.0)

    assert asyncio.run(workers()) == 1
