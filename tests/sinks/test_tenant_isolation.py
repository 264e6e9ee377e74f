"""One tenant's reads never return another tenant's rows, even with identical ids."""

from __future__ import annotations

import asyncpg

from sentinai.sinks.dead_letters import (
    claim_replay,
    get_dead_letter,
    list_dead_letters,
    record_dead_letter,
)
from sentinai.sinks.pack_store import store_packs, tenant_pack_versions
from sentinai.sinks.repositories import count_exceptions, exception_timeline, get_exception
from sentinai.sinks.writer import EventWriter
from tests.sinks.conftest import lifecycle


async def _two_tenants(pool: asyncpg.Pool) -> None:
    events = lifecycle("alpha", "EX-1") + lifecycle("beta", "EX-1") + lifecycle("beta", "EX-2")
    await EventWriter(pool).write_batch(events)


async def test_get_exception_is_tenant_scoped(pool: asyncpg.Pool) -> None:
    await _two_tenants(pool)
    alpha = await get_exception(pool, "alpha", "EX-1")
    assert alpha is not None and alpha["tenant_id"] == "alpha"
    assert await get_exception(pool, "alpha", "EX-2") is None  # beta's id
    assert await get_exception(pool, "gamma", "EX-1") is None


async def test_timeline_is_tenant_scoped(pool: asyncpg.Pool) -> None:
    await _two_tenants(pool)
    timeline = await exception_timeline(pool, "alpha", "EX-1")
    assert len(timeline) == 7 and {e["tenant_id"] for e in timeline} == {"alpha"}
    assert [e["event_type"] for e in timeline][0] == "ExceptionIngested"
    assert await exception_timeline(pool, "alpha", "EX-2") == []


async def test_count_is_tenant_scoped(pool: asyncpg.Pool) -> None:
    await _two_tenants(pool)
    assert (await count_exceptions(pool, "alpha"), await count_exceptions(pool, "beta")) == (1, 2)
    assert await count_exceptions(pool, "gamma") == 0


async def test_dead_letters_are_tenant_scoped(pool: asyncpg.Pool) -> None:
    for offset, tenant in enumerate(("alpha", "beta", None)):
        await record_dead_letter(pool, tenant_id=tenant, source_topic="sentinai.exceptions",
                                 source_partition=0, source_offset=offset, stage="intake",
                                 error_class="ValueError", error_message="bad", headers={},
                                 key=None, value=b"{}")
    alpha = await list_dead_letters(pool, "alpha")
    assert [d["tenant_id"] for d in alpha] == ["alpha"]
    beta_id = (await list_dead_letters(pool, "beta"))[0]["id"]
    assert await get_dead_letter(pool, "alpha", beta_id) is None
    assert await claim_replay(pool, "alpha", beta_id, force=True) is None
    assert (await get_dead_letter(pool, "beta", beta_id))["status"] == "new"  # type: ignore[index]


async def test_pack_versions_are_tenant_scoped(pool: asyncpg.Pool) -> None:
    await store_packs(pool, [{"domainName": "capital-markets", "version": "1"},
                             {"domainName": "insurance", "version": "1"}],
                      [{"tenantId": "alpha", "domainName": "capital-markets", "version": "1"},
                       {"tenantId": "beta", "domainName": "insurance", "version": "1"}], created_by="test")
    alpha = await tenant_pack_versions(pool, "alpha", limit=50)
    assert {(v["kind"], v["name"]) for v in alpha} == {("tenant", "alpha"), ("domain", "capital-markets")}
    assert await tenant_pack_versions(pool, "gamma", limit=50) == []
