"""The shared pool: both URL forms, and JSON in and out as Python objects."""

from __future__ import annotations

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
