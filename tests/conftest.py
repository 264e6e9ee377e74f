"""Session services for the whole suite: one real Kafka-API broker and one real PostgreSQL.

Both are the embedded servers unless ``SENTINAI_KAFKA_BROKER`` / ``SENTINAI_DATABASE_URL`` point at
running ones. They are started once per run and always stopped. Each test gets its own
database (cloned from a migrated template) and its own topic names, so tests never see each
other's data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from sentinai import framework
from sentinai.embedded.process import free_port
from sentinai.settings import Settings, asyncpg_dsn, bootstrap_servers, normalize_broker_url
from tests.support.db import fetch

pytest_plugins = ["tests.support.pipeline", "tests.support.browser"]



@pytest.fixture(autouse=True)
def no_faust_correction_left_installed() -> Iterator[None]:
    """Every test starts with faust as released: one that installs a correction must remove it."""
    assert framework.installed() == [], "a correction was installed outside a test"
    yield
    left = framework.installed()
    framework.uninstall_all()
    assert left == [], f"the test left these corrections installed: {left}"


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``kafka://host:port`` of a running broker."""
    external = os.environ.get("SENTINAI_KAFKA_BROKER")
    if external:
        yield normalize_broker_url(external)
        return
    from sentinai.embedded.broker import EmbeddedBroker

    broker = EmbeddedBroker(port=free_port(), log_dir=tmp_path_factory.mktemp("broker"))
    broker.start()
    try:
        yield broker.url
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def bootstrap(broker_url: str) -> str:
    """``host:port`` form for plain Kafka clients (confluent-kafka, aiokafka)."""
    return bootstrap_servers(broker_url)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """The embedded server object (stoppable by chaos tests), or None for an external server."""
    if os.environ.get("SENTINAI_DATABASE_URL"):
        yield None
        return
    from sentinai.embedded.postgres import EmbeddedPostgres

    # Not under pytest's temp root: every new pytest session on the machine makes that root
    # private again (0700), which cuts off the server, which runs as another system user.
    data_dir = Path(tempfile.mkdtemp(prefix="sentinai-test-pg-"))
    server = EmbeddedPostgres(data_dir, port=free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url(postgres_server: object) -> str:
    external = os.environ.get("SENTINAI_DATABASE_URL")
    return asyncpg_dsn(external) if external else postgres_server.url  # type: ignore[attr-defined]


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def template_database(server_url: str) -> Iterator[str]:
    """A database migrated to head once per run, named for this run (two runs may share one
    server); every test clones it. Its name is yielded, and it is dropped at the end."""
    from sentinai.migrate import upgrade

    name = f"sentinai_template_{uuid.uuid4().hex[:12]}"
    fetch(server_url, f"CREATE DATABASE {name}")
    try:
        upgrade(_with_database(server_url, name))
        yield name
    finally:
        fetch(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    """A database with nothing in it (not cloned from the migrated template); dropped afterwards."""
    yield from _new_database(server_url, "e")


@pytest.fixture
def database_url(server_url: str, template_database: str) -> Iterator[str]:
    """A fresh, migrated database for this test (postgresql:// URL); dropped afterwards."""
    yield from _new_database(server_url, "t", template=template_database)


@pytest.fixture
def second_database_url(server_url: str, template_database: str) -> Iterator[str]:
    """Another fresh, migrated database, for tests that compare two (a rebuild from the log, say)."""
    yield from _new_database(server_url, "t", template=template_database)


def _new_database(server_url: str, prefix: str, *, template: str | None = None) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    fetch(server_url, f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        yield _with_database(server_url, name)
    finally:
        fetch(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def topic_prefix() -> str:
    """A unique prefix so that each test has its own topics on the shared broker."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_settings(broker_url: str, topic_prefix: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test: the session broker, this test's topics, and any overrides."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "kafka_broker": broker_url,
            "app_id": f"{topic_prefix}-app",
            "topic_prefix": topic_prefix,
            "topic_exceptions": f"{topic_prefix}.exceptions",
            "topic_events": f"{topic_prefix}.events",
            "topic_decisions": f"{topic_prefix}.decisions",
            "topic_dlq": f"{topic_prefix}.dlq",
            "topic_partitions": 4,
            "data_dir": tmp_path / "data",
            "web_port": free_port(),
            # the tests' tool and webhook servers listen on 127.0.0.1, over plain http
            "tools_allow_private": True,
            "tools_allow_http": True,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make
