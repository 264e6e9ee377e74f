"""The asyncpg connection pool every Postgres user in SentinAI shares.

JSON and JSONB columns come back as Python objects and take Python objects (dicts, lists), so no
caller encodes or decodes JSON by hand. The URL may be the SQLAlchemy form
(``postgresql+asyncpg://``) that ``SENTINAI_DATABASE_URL`` also accepts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from sentinai.settings import asyncpg_dsn


def dumps(value: object) -> str:
    """Compact JSON, as stored in JSONB columns."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, schema="pg_catalog", encoder=dumps, decoder=json.loads,
                                  format="text")


@asynccontextmanager
async def open_pool(database_url: str, *, min_size: int = 1, max_size: int = 10,
                    command_timeout: float | None = 60.0) -> AsyncIterator[asyncpg.Pool]:
    """A pool on ``database_url``, closed on exit.

    ``command_timeout`` bounds each statement, so a hung server surfaces as an error that the
    sink's retry loop handles instead of a stalled partition.
    """
    pool = await asyncpg.create_pool(asyncpg_dsn(database_url), min_size=min_size, max_size=max_size,
                                     command_timeout=command_timeout, init=_init_connection)
    try:
        yield pool
    finally:
        await pool.close()
