"""Every revision upgrades and downgrades cleanly, and head has the schema the code relies on."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from sentinai.migrate import downgrade, upgrade

TABLES = {"tenants", "pack_versions", "exceptions", "exception_events", "approvals",
          "tool_executions", "dead_letters", "api_keys", "retention_runs", "pack_proposals",
          "pack_events", "exception_search", "exception_search_queue", "search_terms", "search_stats",
          "copilot_questions", "worker_heartbeats"}


def _tables(url: str) -> set[str]:
    async def fetch() -> set[str]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {r[0] for r in rows} - {"alembic_version"}
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_base_head_base_head(empty_database: str) -> None:
    upgrade(empty_database)
    assert _tables(empty_database) == TABLES
    downgrade(empty_database, "base")
    assert _tables(empty_database) == set()
    upgrade(empty_database)
    assert _tables(empty_database) == TABLES


def test_each_revision_steps_down_and_up(empty_database: str) -> None:
    from alembic.script import ScriptDirectory

    from sentinai.migrate import alembic_config

    revisions = [r.revision for r in ScriptDirectory.from_config(alembic_config(empty_database)).walk_revisions()]
    upgrade(empty_database)
    for revision in revisions:  # head first
        downgrade(empty_database, "-1")
        upgrade(empty_database, revision)
        downgrade(empty_database, "-1")
    assert _tables(empty_database) == set()


async def _primary_key(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch(
        """SELECT a.attname FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
           WHERE i.indrelid = $1::regclass AND i.indisprimary
           ORDER BY array_position(i.indkey, a.attnum)""", table)
    return [r[0] for r in rows]


async def test_keys_are_tenant_scoped(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await _primary_key(conn, "exceptions") == ["tenant_id", "exception_id"]
        assert await _primary_key(conn, "approvals") == ["tenant_id", "approval_id"]
        assert await _primary_key(conn, "tool_executions") == ["tenant_id", "execution_id"]
        assert await _primary_key(conn, "exception_events") == ["event_id"]
    finally:
        await conn.close()


async def test_web_view_indexes_exist(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        indexes = {r[0] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    finally:
        await conn.close()
    assert {"exceptions_by_created", "exceptions_by_status_severity", "exception_events_timeline",
            "pack_versions_one_active", "dead_letters_by_tenant", "exceptions_by_updated"} <= indexes


async def test_one_active_version_per_pack(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        insert = ("INSERT INTO pack_versions (kind, name, version, checksum, status, document) "
                  "VALUES ('domain', 'd', $1, $1, 'active', '{}')")
        await conn.execute(insert, "1")
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert, "2")
    finally:
        await conn.close()


async def test_exception_events_are_append_only(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """INSERT INTO exception_events (event_id, tenant_id, exception_id, event_type, actor_type,
                                             actor_id, payload, occurred_at)
               VALUES ('e1', 't', 'x', 'ExceptionIngested', 'agent', 'a', '{}', now())""")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("UPDATE exception_events SET event_type = 'Other'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("DELETE FROM exception_events")
        async with conn.transaction():  # the retention job's way
            await conn.execute("SET LOCAL sentinai.retention = 'on'")
            assert await conn.execute("DELETE FROM exception_events") == "DELETE 1"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # SET LOCAL ended with its transaction
            await conn.execute("DELETE FROM exception_events")
    finally:
        await conn.close()


def test_migrate_run_by_several_processes_at_once(empty_database: str) -> None:
    """A deployment that runs `sentinai migrate` in every replica (an init container per pod)
    starts them together: each one ends with exit code 0 and the schema at head, migrated once."""
    env = {**os.environ, "SENTINAI_DATABASE_URL": empty_database,
           "SENTINAI_PACKS_DIR": str(Path(__file__).resolve().parents[2] / "packs")}
    processes = [subprocess.Popen([sys.executable, "-m", "sentinai", "migrate"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                 for _ in range(3)]
    try:
        outputs = [process.communicate(timeout=120)[0].decode(errors="replace") for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(5)
    assert [process.returncode for process in processes] == [0, 0, 0], "\n".join(outputs)
    assert _tables(empty_database) == TABLES


def test_deadlines_stored_as_infinities_become_none(empty_database: str) -> None:
    """Rows written before the sink ignored a `slaDeadline` of 0001-01-01 or 9999-12-31T23:59:59.999999
    held PostgreSQL's infinities; after the upgrade they have no deadline, and other rows keep theirs."""
    upgrade(empty_database, "0007_occurrences")

    async def deadlines(statement: str | None = None) -> dict[str, str | None]:
        conn = await asyncpg.connect(empty_database)
        try:
            if statement:
                await conn.execute(statement)
            rows = await conn.fetch("SELECT exception_id, extract(epoch FROM sla_deadline)::text AS d "
                                    "FROM exceptions ORDER BY 1")
            return {r["exception_id"]: r["d"] for r in rows}
        finally:
            await conn.close()

    stored = asyncio.run(deadlines(
        "INSERT INTO exceptions (tenant_id, exception_id, status, version, sla_deadline) VALUES "
        "('t', 'E-min', 'OPEN', 1, '-infinity'), ('t', 'E-max', 'OPEN', 1, 'infinity'), "
        "('t', 'E-set', 'OPEN', 1, '2026-12-08T10:00:00Z'), ('t', 'E-none', 'OPEN', 1, NULL)"))
    assert stored["E-min"] == "-Infinity" and stored["E-max"] == "Infinity"
    upgrade(empty_database)
    assert asyncio.run(deadlines()) == {"E-max": None, "E-min": None, "E-none": None,
                                        "E-set": "1796724000.000000"}


def test_approvals_with_no_run_behind_them_are_closed(empty_database: str) -> None:
    """An approval stored for an exception without a playbook could never be answered nor expire;
    after the upgrade it is expired with the reason, and an approval with a run stays pending."""
    upgrade(empty_database, "0008_sla_infinities")

    async def approvals(statement: str | None = None) -> dict[str, tuple[str, str | None]]:
        conn = await asyncpg.connect(empty_database)
        try:
            if statement:
                await conn.execute(statement)
            rows = await conn.fetch("SELECT approval_id, status, comment FROM approvals ORDER BY 1")
            return {r["approval_id"]: (r["status"], r["comment"]) for r in rows}
        finally:
            await conn.close()

    asyncio.run(approvals(
        "INSERT INTO exceptions (tenant_id, exception_id, status, version, playbook_id) VALUES "
        "('t', 'E-none', 'ESCALATED', 3, NULL), ('t', 'E-run', 'PENDING_APPROVAL', 3, 'pb-1'); "
        "INSERT INTO approvals (tenant_id, approval_id, exception_id, status, requested_at, version) VALUES "
        "('t', 'A-none', 'E-none', 'PENDING', now(), 1), ('t', 'A-run', 'E-run', 'PENDING', now(), 1), "
        "('t', 'A-done', 'E-none', 'GRANTED', now(), 2)"))
    upgrade(empty_database)
    after = asyncio.run(approvals())
    assert after["A-none"][0] == "EXPIRED" and "nothing to approve" in str(after["A-none"][1])
    assert after["A-run"] == ("PENDING", None) and after["A-done"] == ("GRANTED", None)
