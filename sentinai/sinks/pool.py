"""The asyncpg connection pool every Postgres user in SentinAI shares.

JSON and JSONB columns come back as Python objects and take Python objects (dicts, lists), so no
caller encodes or decodes JSON by hand. Values are encoded with orjson (the payloads' encoding was
the largest Python share of the sink's writes): what it cannot encode as the standard library would
(integers past 64 bits, keys that are not strings, datetimes and dataclasses, which the standard
library refuses) goes through the standard library's encoder instead, so what is stored or refused
does not change — except NaN and ±Infinity, which JSON has no words for: stored as null, as
pydantic writes them into the log in the first place (PostgreSQL refused the standard library's
``NaN``). The URL may be the SQLAlchemy form
(``postgresql+asyncpg://``) that ``SENTINAI_DATABASE_URL`` also accepts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson

from sentinai.settings import asyncpg_dsn

_stdlib_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# Datetimes and dataclasses passed through to no default: refused, as the standard library does.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps_bytes(value: object) -> bytes:
    """Compact UTF-8 JSON, as stored in JSON and JSONB columns."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: what only the standard library encodes (or refuses)
        return _stdlib_dumps(value).encode()


def dumps(value: object) -> str:
    """Compact JSON text, as stored in JSON and JSONB columns."""
    return dumps_bytes(value).decode()


def _encode_jsonb(value: object) -> bytes:
    return b"\x01" + dumps_bytes(value)


def _decode_jsonb(data: bytes) -> object:
    return json.loads(data[1:])


def _encode_json(value: object) -> bytes:
    return dumps_bytes(value)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary format (JSONB's is a version byte then the text) so that COPY, which only speaks
    # binary, can take Python objects for JSONB columns too.
    await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=_encode_jsonb,
                              decoder=_decode_jsonb, format="binary")
    await conn.set_type_codec("json", schema="pg_catalog", encoder=_encode_json,
                              decoder=json.loads, format="binary")


@asynccontextmanager
async def open_pool(database_url: str, *, min_size: int = 1, max_size: int = 10,
                    command_timeout: float | None = 60.0) -> AsyncIterator[asyncpg.Pool]:
    """A pool on ``database_url``, closed on exit. Sessions run in UTC.

    ``command_timeout`` bounds each statement, so a hung server surfaces as an error that the
    sink's retry loop handles instead of a stalled partition.
    """
    pool = await asyncpg.create_pool(asyncpg_dsn(database_url), min_size=min_size, max_size=max_size,
                                     command_timeout=command_timeout, init=_init_connection,
                                     server_settings={"timezone": "UTC"})
    try:
        yield pool
    finally:
        await pool.close()
