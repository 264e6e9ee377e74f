"""``sentinai dev``: the whole stack on embedded defaults, as one process tree.

Starts the embedded broker and PostgreSQL (unless SENTINAI_KAFKA_BROKER / SENTINAI_DATABASE_URL
point elsewhere), migrates, clears the rows derived from the previous run's log when the broker is
the embedded one (it keeps its log in memory: :mod:`sentinai.sinks.log_reset`), imports the packs,
creates the topics and a dev admin key, then runs one worker and the web view as child processes.
Ctrl-C or SIGTERM stops every process it started, children first, and leaves none behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from sentinai.embedded.process import PortInUse, free_port, port_is_free
from sentinai.settings import Settings
from sentinai.streams.topics import ensure_topics


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop()


def _child_env(settings: Settings, broker_url: str, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"SENTINAI_KAFKA_BROKER": broker_url, "SENTINAI_DATABASE_URL": database_url,
                "SENTINAI_DATA_DIR": str(settings.data_dir), "PYTHONUNBUFFERED": "1"})
    return env


async def _dev_key(database_url: str, key_file: Path) -> str:
    from sentinai.sinks.api_keys import create_api_key
    from sentinai.sinks.pool import open_pool

    async with open_pool(database_url, min_size=1, max_size=1) as pool:
        key = await create_api_key(pool, "*", "admin")
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key


async def _clear_log_derived(database_url: str) -> dict[str, int]:
    from sentinai.sinks.log_reset import clear_log_derived_rows
    from sentinai.sinks.pool import open_pool

    async with open_pool(database_url, min_size=1, max_size=1) as pool:
        return await clear_log_derived_rows(pool)


def run_dev(settings: Settings, *, demo: bool = False) -> int:
    from sentinai.migrate import import_packs, upgrade

    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if not port_is_free(settings.web_host, settings.web_port):
        raise PortInUse(f"web view: port {settings.web_host}:{settings.web_port} is already in use "
                        "(set SENTINAI_WEB_PORT to use another)")
    signal.signal(signal.SIGTERM, _raise_stop)
    children: list[subprocess.Popen[bytes]] = []
    with ExitStack() as stack:
        try:
            broker_url = settings.kafka_broker
            embedded_broker = broker_url is None
            if embedded_broker:
                from sentinai.embedded.broker import EmbeddedBroker

                broker = EmbeddedBroker(port=settings.broker_port, log_dir=data_dir)
                stack.enter_context(broker)
                broker_url = broker.url
                print(f"broker      {broker.bootstrap_servers} (embedded Tansu, memory storage)", flush=True)
            database_url = settings.database_url
            if database_url is None:
                from sentinai.embedded.postgres import EmbeddedPostgres

                postgres = EmbeddedPostgres(data_dir / "postgres", port=free_port())
                stack.enter_context(postgres)
                database_url = postgres.url
                print(f"database    {database_url} (embedded PostgreSQL)", flush=True)
            settings = settings.model_copy(update={"kafka_broker": broker_url, "database_url": database_url})
            upgrade(database_url)
            if embedded_broker:  # a new, empty log: the rows of the previous one would collide with it
                from sentinai.sinks.log_reset import describe

                deleted = asyncio.run(_clear_log_derived(database_url))
                if any(deleted.values()):
                    print(describe(deleted), flush=True)
            activated = import_packs(database_url, settings.packs_dir, created_by="dev", settings=settings)
            print(f"packs       {len(activated)} pack versions activated from {settings.packs_dir}", flush=True)
            asyncio.run(ensure_topics(settings))
            key = asyncio.run(_dev_key(database_url, data_dir / "dev-api-key"))
            env = _child_env(settings, broker_url, database_url)
            metrics_port = settings.worker_metrics_port or free_port()
            env["SENTINAI_WORKER_METRICS_PORT"] = str(metrics_port)
            commands = [["worker"], ["web"]] + ([["demo"]] if demo else [])
            for command in commands:
                children.append(subprocess.Popen([sys.executable, "-m", "sentinai", *command], env=env))
            _wait_for_web(settings, children)
            url = f"http://{settings.web_host}:{settings.web_port}"
            print(f"web view    {url}/  (health: {url}/health, metrics: {url}/metrics)", flush=True)
            print(f"worker      metrics: http://{settings.web_host}:{metrics_port}/metrics", flush=True)
            print(f"API key     {key}  (admin, every tenant; also in {data_dir / 'dev-api-key'})", flush=True)
            print(f"console     {url}/?key={key}", flush=True)
            print("Ctrl-C stops everything.", flush=True)
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            print("a child process exited; stopping", file=sys.stderr, flush=True)
            return 1
        except (KeyboardInterrupt, _Stop):
            return 0
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            _stop_children(children)


def _wait_for_web(settings: Settings, children: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise RuntimeError("a child process exited during start")
        if not port_is_free(settings.web_host, settings.web_port):
            return
        time.sleep(0.2)
    raise TimeoutError("the web view did not start listening within a minute")


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)
