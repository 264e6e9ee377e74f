"""Pack store: a new version only on change, one active version per pack, tenants kept current."""

from __future__ import annotations

import asyncio

import asyncpg

from sentinai.sinks.pack_store import (
    active_pack_documents,
    active_packs_revision,
    store_packs,
    tenant_pack_versions,
)

DOMAIN = {"domainName": "capital-markets", "version": "1.0.0", "exceptionTypes": {"SETTLEMENT_FAIL": {}}}
TENANT = {"tenantId": "acme", "domainName": "capital-markets", "version": "1.0.0",
          "retentionPolicies": {"dataTTL": 90}}


async def _tenant_row(pool: asyncpg.Pool) -> asyncpg.Record:
    return await pool.fetchrow("SELECT * FROM tenants WHERE tenant_id = 'acme'")


async def test_first_store_activates_everything(pool: asyncpg.Pool) -> None:
    activated = await store_packs(pool, [DOMAIN], [TENANT], created_by="migrate")
    assert [(a["kind"], a["name"], a["version"]) for a in activated] == [
        ("domain", "capital-markets", "1.0.0"), ("tenant", "acme", "1.0.0")]
    assert await active_pack_documents(pool) == ([DOMAIN], [TENANT])
    tenant = await _tenant_row(pool)
    assert (tenant["domain_name"], tenant["active_domain_version_id"], tenant["active_tenant_version_id"]) == (
        "capital-markets", activated[0]["id"], activated[1]["id"])


async def test_unchanged_documents_activate_nothing(pool: asyncpg.Pool) -> None:
    await store_packs(pool, [DOMAIN], [TENANT], created_by="migrate")
    revision = await active_packs_revision(pool)
    reordered = dict(reversed(list(DOMAIN.items())))  # same document, other key order
    assert await store_packs(pool, [reordered], [TENANT], created_by="migrate") == []
    assert await active_packs_revision(pool) == revision
    assert await pool.fetchval("SELECT count(*) FROM pack_versions") == 2


async def test_a_change_deprecates_the_old_version(pool: asyncpg.Pool) -> None:
    await store_packs(pool, [DOMAIN], [TENANT], created_by="migrate")
    revision = await active_packs_revision(pool)
    changed = {**DOMAIN, "version": "1.1.0", "exceptionTypes": {"SETTLEMENT_FAIL": {}, "POSITION_BREAK": {}}}
    activated = await store_packs(pool, [changed], [TENANT], created_by="alice")
    assert [(a["kind"], a["version"]) for a in activated] == [("domain", "1.1.0")]
    assert await active_packs_revision(pool) != revision
    assert await active_pack_documents(pool) == ([changed], [TENANT])
    versions = await tenant_pack_versions(pool, "acme", limit=50)
    assert [(v["kind"], v["version"], v["status"]) for v in versions] == [
        ("domain", "1.1.0", "active"), ("tenant", "1.0.0", "active"), ("domain", "1.0.0", "deprecated")]
    assert versions[0]["created_by"] == "alice" and versions[0]["document"] == changed
    tenant = await _tenant_row(pool)
    assert tenant["active_domain_version_id"] == activated[0]["id"]  # follows its domain


async def test_a_document_without_a_version_is_numbered(pool: asyncpg.Pool) -> None:
    doc = {"domainName": "insurance"}
    await store_packs(pool, [doc], [], created_by="test")
    activated = await store_packs(pool, [{**doc, "x": 1}], [], created_by="test")
    assert activated[0]["version"] == "2"


async def test_concurrent_stores_leave_one_active_version(pool: asyncpg.Pool) -> None:
    docs = [{**DOMAIN, "version": f"2.{i}"} for i in range(6)]
    await asyncio.gather(*(store_packs(pool, [d], [], created_by=f"deploy-{i}") for i, d in enumerate(docs)))
    assert await pool.fetchval(
        "SELECT count(*) FROM pack_versions WHERE name = 'capital-markets' AND status = 'active'") == 1
    assert await pool.fetchval("SELECT count(*) FROM pack_versions") == 6
