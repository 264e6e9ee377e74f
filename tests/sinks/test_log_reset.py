"""What ``sentinai dev`` forgets at start when its broker is the embedded one (memory storage).

Every table of the schema is either cleared (its rows derive from the log, which is gone) or kept
(configuration, and records of what people and jobs did): a new table fails the first test until
it is put on one side.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import asyncpg
import pytest

from sentinai import dev
from sentinai.bench import workload
from sentinai.copilot.audit import record_question
from sentinai.embedded.process import free_port
from sentinai.settings import Settings
from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.dead_letters import record_dead_letter
from sentinai.sinks.log_reset import LOG_DERIVED_TABLES, clear_log_derived_rows, describe
from sentinai.sinks.pack_proposals import create_proposal
from sentinai.sinks.pack_store import store_packs
from sentinai.sinks.retention import apply_retention
from sentinai.sinks.search_index import index_queued
from sentinai.sinks.search_terms import refresh_all
from sentinai.sinks.worker_heartbeats import WorkerIdentity, beat
from tests.support.db import fetch
from tests.support.packs import PACKS
from tests.support.seed import NEEDS_APPROVAL, RESOLVED_AT_ONCE, WAITS_ON_A_TOOL, decided, store

CLEARED = {"exceptions", "exception_events", "approvals", "tool_executions", "dead_letters",
           "exception_search", "exception_search_queue", "search_terms", "search_stats",
           "worker_heartbeats"}
KEPT = {"tenants", "pack_versions", "pack_proposals", "pack_events", "api_keys", "copilot_questions",
        "retention_runs", "alembic_version"}
TENANT = "acme-capital"


async def _tables(pool: asyncpg.Pool) -> set[str]:
    return {r[0] for r in await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")}


async def _counts(pool: asyncpg.Pool) -> dict[str, int]:
    return {t: int(await pool.fetchval(f"SELECT count(*) FROM {t}")) for t in sorted(CLEARED | KEPT)}


async def _dead_letter(pool: asyncpg.Pool, message: str) -> None:
    await record_dead_letter(pool, tenant_id=TENANT, source_topic="sentinai.exceptions", source_partition=0,
                             source_offset=0, stage="intake", error_class="ValueError", error_message=message,
                             headers={}, key=TENANT.encode(), value=b"{")


async def _seed(pool: asyncpg.Pool, database_url: str) -> None:
    """A row in every table, each written by the code that writes it in production."""
    now = datetime.now(UTC)
    domains, tenants = workload.pack_documents(PACKS)
    await store_packs(pool, domains, tenants, created_by="test")  # tenants, pack_versions, pack_events
    acme = next(t for t in tenants if t["tenantId"] == TENANT)
    await create_proposal(pool, TENANT, [], [{**acme, "displayName": "Acme, renamed"}], proposed_by="test")
    key = await create_api_key(pool, TENANT, "admin")
    await record_question(pool, tenant_id=TENANT, key_id=key.split(".")[0], session_id=None, question="why?",
                          exception_id="E-1", intent="explain", source="template", cited_ids=["E-1"], detail={})
    await store(database_url, decided(TENANT, "E-1", NEEDS_APPROVAL, at=now),  # + an approval
                decided(TENANT, "E-2", WAITS_ON_A_TOOL, at=now))  # + a tool execution
    assert await index_queued(pool) == 2  # exception_search
    await refresh_all(pool, now=now)  # search_terms, search_stats
    await store(database_url, decided(TENANT, "E-3", RESOLVED_AT_ONCE, at=now))  # queued for the index
    await apply_retention(pool, ttl_days_by_tenant={TENANT: 3650}, now=now)  # a run that deletes nothing
    await _dead_letter(pool, "the previous run's letter")
    await beat(pool, WorkerIdentity())


async def test_clears_the_rows_derived_from_the_log_and_keeps_the_rest(pool: asyncpg.Pool,
                                                                       database_url: str) -> None:
    assert CLEARED == set(LOG_DERIVED_TABLES)
    assert await _tables(pool) == CLEARED | KEPT, "a table that is neither cleared nor kept: decide"
    await _seed(pool, database_url)
    before = await _counts(pool)
    assert all(before.values()), {t: n for t, n in before.items() if not n}

    deleted = await clear_log_derived_rows(pool)

    after = await _counts(pool)
    assert deleted == {t: before[t] for t in LOG_DERIVED_TABLES}
    assert {t: n for t, n in after.items() if t in CLEARED} == dict.fromkeys(sorted(CLEARED), 0)
    assert {t: n for t, n in after.items() if t in KEPT} == {t: before[t] for t in sorted(KEPT)}
    line = describe(deleted)
    assert f"{before['exceptions']} exceptions" in line and "in memory" in line, line


async def test_a_new_logs_input_gets_its_rows_again(pool: asyncpg.Pool) -> None:
    """Offset 0 of the new log's DLQ is a new letter, not the earlier run's one kept."""
    await _dead_letter(pool, "the previous run's letter")
    await clear_log_derived_rows(pool)
    await _dead_letter(pool, "this run's letter")
    assert [r["error_message"] for r in await pool.fetch("SELECT error_message FROM dead_letters")] == \
        ["this run's letter"]


async def test_events_stay_append_only_outside_the_clearing(pool: asyncpg.Pool) -> None:
    await clear_log_derived_rows(pool)  # its SET LOCAL ended with its transaction
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("DELETE FROM exception_events")


class _ExitedChild:
    """A worker or web process that exits at once: ``run_dev`` stops right after its start-up."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def poll(self) -> int:
        return 1

    def send_signal(self, signum: int) -> None:  # pragma: no cover - it has exited
        pass

    def wait(self, timeout: float | None = None) -> int:
        return 1


@pytest.fixture
def signals_kept() -> Iterator[None]:
    """``run_dev`` installs its own SIGTERM handler and ignores SIGINT while it stops."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("embedded_broker", [True, False], ids=["embedded-broker", "external-broker"])
def test_dev_clears_only_when_it_runs_the_embedded_broker(
        embedded_broker: bool, make_settings: Callable[..., Settings], database_url: str,
        monkeypatch: pytest.MonkeyPatch, signals_kept: None, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(store(database_url, decided(TENANT, "E-1", RESOLVED_AT_ONCE, at=datetime.now(UTC))))
    settings = make_settings(database_url=database_url, packs_dir=PACKS, broker_port=free_port())
    if embedded_broker:
        settings = settings.model_copy(update={"kafka_broker": None})
    monkeypatch.setattr(dev, "subprocess", SimpleNamespace(Popen=_ExitedChild,  # its children only
                                                           TimeoutExpired=subprocess.TimeoutExpired))
    with pytest.raises(RuntimeError, match="exited during start"):
        dev.run_dev(settings)
    rows = fetch(database_url, "SELECT count(*) FROM exceptions")[0][0]
    out = capsys.readouterr().out
    if embedded_broker:
        assert rows == 0 and "cleared     the previous run's rows (" in out, out
    else:
        assert rows == 1 and "cleared" not in out, out
    assert fetch(database_url, "SELECT count(*) FROM tenants")[0][0] > 0
