"""Versioned Domain Packs and Tenant Policy Packs, stored as JSON documents.

Packs are data the workers reload at run time, so every change is a new version and exactly one
version of each (kind, name) is active (a partial unique index enforces it). A document is
recognised by the SHA-256 of its canonical JSON (sorted keys, no whitespace): storing the same
packs again — every ``sentinai migrate`` of a deploy does — activates nothing. Validation is the
caller's job (the core's pack models); this module trusts the documents it is given.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import asyncpg

# One writer at a time: two deploys storing packs at once would otherwise race to activate.
_LOCK_KEY = 0x5E17A1_0001

_COLUMNS = "id, kind, name, version, checksum, status, created_by, created_at, activated_at, document"


def checksum(document: dict[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def store_packs(pool: asyncpg.Pool, domain_docs: list[dict[str, Any]],
                      tenant_docs: list[dict[str, Any]], *, created_by: str) -> list[dict[str, Any]]:
    """Activate every document that differs from the active version of its pack, in one transaction.

    Domain packs are named by ``domainName``, tenant packs by ``tenantId``; each tenant's
    ``tenants`` row is brought up to date with its domain and active versions. Returns what was
    activated, as ``[{kind, name, version, id}]`` (empty when nothing changed).
    """
    activated: list[dict[str, Any]] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        for kind, docs, name_field in (("domain", domain_docs, "domainName"),
                                       ("tenant", tenant_docs, "tenantId")):
            for doc in docs:
                version = await _activate(conn, kind, str(doc[name_field]), doc, created_by)
                if version is not None:
                    activated.append(version)
        for version in activated:
            if version["kind"] == "domain":
                await conn.execute(
                    """UPDATE tenants SET active_domain_version_id = $2, updated_at = now()
                       WHERE domain_name = $1""", version["name"], version["id"])
        for doc in tenant_docs:
            await conn.execute(
                """INSERT INTO tenants AS t (tenant_id, domain_name, active_domain_version_id,
                                             active_tenant_version_id)
                   SELECT $1, $2,
                          (SELECT id FROM pack_versions WHERE kind = 'domain' AND name = $2 AND status = 'active'),
                          (SELECT id FROM pack_versions WHERE kind = 'tenant' AND name = $1 AND status = 'active')
                   ON CONFLICT (tenant_id) DO UPDATE SET
                       domain_name = EXCLUDED.domain_name,
                       active_domain_version_id = EXCLUDED.active_domain_version_id,
                       active_tenant_version_id = EXCLUDED.active_tenant_version_id,
                       updated_at = now()
                   WHERE (t.domain_name, t.active_domain_version_id, t.active_tenant_version_id)
                         IS DISTINCT FROM (EXCLUDED.domain_name, EXCLUDED.active_domain_version_id,
                                           EXCLUDED.active_tenant_version_id)""",
                str(doc["tenantId"]), str(doc["domainName"]))
    return activated


async def _activate(conn: asyncpg.Connection, kind: str, name: str, doc: dict[str, Any],
                    created_by: str) -> dict[str, Any] | None:
    digest = checksum(doc)
    active = await conn.fetchrow(
        "SELECT id, checksum FROM pack_versions WHERE kind = $1 AND name = $2 AND status = 'active'",
        kind, name)
    if active is not None and active["checksum"] == digest:
        return None
    if active is not None:
        await conn.execute("UPDATE pack_versions SET status = 'deprecated' WHERE id = $1", active["id"])
    version = doc.get("version")
    if version is None:
        count = await conn.fetchval("SELECT count(*) FROM pack_versions WHERE kind = $1 AND name = $2",
                                    kind, name)
        version = count + 1
    new_id = await conn.fetchval(
        """INSERT INTO pack_versions (kind, name, version, checksum, status, document, created_by,
                                      activated_at)
           VALUES ($1, $2, $3, $4, 'active', $5, $6, now()) RETURNING id""",
        kind, name, str(version), digest, doc, created_by)
    return {"kind": kind, "name": name, "version": str(version), "id": new_id}


async def active_pack_documents(pool: asyncpg.Pool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The active documents: (domain packs, tenant packs), each ordered by name."""
    rows = await pool.fetch(
        "SELECT kind, document FROM pack_versions WHERE status = 'active' ORDER BY kind, name")
    return ([r["document"] for r in rows if r["kind"] == "domain"],
            [r["document"] for r in rows if r["kind"] == "tenant"])


async def known_tenant_ids(pool: asyncpg.Pool) -> list[str]:
    """The tenants the platform knows: a ``tenants`` row is written only when a tenant pack is
    activated, never for a tenant id that merely appeared in input."""
    return [r["tenant_id"] for r in await pool.fetch("SELECT tenant_id FROM tenants ORDER BY tenant_id")]


async def active_packs_revision(pool: asyncpg.Pool) -> str:
    """A fingerprint of the set of active versions: workers poll it and reload when it changes."""
    return str(await pool.fetchval(
        """SELECT md5(coalesce(string_agg(id::text, ',' ORDER BY id), ''))
           FROM pack_versions WHERE status = 'active'"""))


_OF_TENANT = """((kind = 'tenant' AND name = $1)
     OR (kind = 'domain' AND name = (SELECT domain_name FROM tenants WHERE tenant_id = $1)))"""
"""The versions a tenant may read: its own pack's and its domain's."""


async def tenant_pack_versions(pool: asyncpg.Pool, tenant_id: str) -> list[dict[str, Any]]:
    """Every version of the tenant's pack and of its domain's pack, newest first."""
    rows = await pool.fetch(f"SELECT {_COLUMNS} FROM pack_versions WHERE {_OF_TENANT} ORDER BY id DESC",
                            tenant_id)
    return [dict(r) for r in rows]


async def tenant_pack_version(pool: asyncpg.Pool, tenant_id: str, version_id: int) -> dict[str, Any] | None:
    """One version by id, when it is the tenant's pack or its domain's (else None)."""
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM pack_versions WHERE id = $2 AND {_OF_TENANT}",
                              tenant_id, version_id)
    return None if row is None else dict(row)
