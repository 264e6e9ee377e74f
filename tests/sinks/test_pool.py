"""The shared pool: both URL forms, and JSON in and out as Python objects."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from sentinai.settings import sqlalchemy_url
from sentinai.sinks.pool import open_pool


async def test_accepts_the_sqlalchemy_url_form(database_url: str) -> None:
    async with open_pool(sqlalchemy_url(database_url), max_size=1) as pool:
        assert await pool.fetchval("SELECT 1") == 1


async def test_jsonb_and_json_are_python_objects(database_url: str) -> None:
    value = {"a": [1, 2.5, None, True], "ü": "✓"}
    async with open_pool(database_url, max_size=1) as pool:
        assert await pool.fetchval("SELECT $1::jsonb", value) == value
        assert await pool.fetchval("SELECT $1::json", value) == value
        assert await pool.fetchval("SELECT '[1, {\"b\": 2}]'::jsonb") == [1, {"b": 2}]
        assert await pool.fetchval("SHOW timezone") == "UTC"


async def test_json_encoding_stores_what_the_standard_library_would(database_url: str) -> None:
    async with open_pool(database_url, max_size=1) as pool:
        # what orjson leaves to the standard library: integers past 64 bits, keys that are not strings
        assert await pool.fetchval("SELECT $1::jsonb", {"n": 2**70, 1: "x"}) == {"n": 2**70, "1": "x"}
        assert await pool.fetchval("SELECT $1::jsonb ->> 'f'", {"f": 1e-7}) == "0.0000001"
        # NaN has no JSON word: null, as pydantic writes it into the log
        assert await pool.fetchval("SELECT $1::jsonb", {"x": float("nan")}) == {"x": None}
        with pytest.raises(asyncpg.DataError, match="not JSON serializable"):  # refused, as before
            await pool.fetchval("SELECT $1::jsonb", {"at": datetime(2026, 11, 25, tzinfo=UTC)})
