"""The PostgreSQL a database benchmark runs on, and the fresh migrated databases it creates there."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from sentinai.migrate import upgrade
from sentinai.settings import asyncpg_dsn, load_settings


@contextmanager
def database_server() -> Iterator[str]:
    """The server's URL: ``SENTINAI_DATABASE_URL``, or an embedded PostgreSQL stopped on exit."""
    settings = load_settings()
    if settings.database_url:
        yield asyncpg_dsn(settings.database_url)
        return
    from sentinai.embedded.postgres import EmbeddedPostgres
    from sentinai.embedded.process import free_port

    with tempfile.TemporaryDirectory(prefix="sentinai-bench-") as tmp:
        server = EmbeddedPostgres(Path(tmp), port=free_port())
        try:
            server.start()
            yield server.url
        finally:
            server.stop()


@asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new database migrated to head, dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
