import asyncpg


async def test_database_is_migrated_and_isolated(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        assert {"tenants", "pack_versions", "exceptions", "exception_events", "approvals",
                "tool_executions", "dead_letters", "api_keys"} <= tables
        assert await conn.fetchval("SELECT count(*) FROM exceptions") == 0
    finally:
        await conn.close()
