"""Versioned Domain Packs and Tenant Policy Packs, stored as JSON documents.

Packs are data the workers reload at run time, so every change is a new version and exactly one
version of each (kind, name) is active (a partial unique index enforces it). A document is
recognised by the SHA-256 of its canonical JSON (sorted keys, no whitespace): storing the same
packs again — every ``sentinai migrate`` of a deploy does — activates nothing, and storing an
earlier version's document again reactivates that version. Validation is the
caller's job (the core's pack models); this module trusts the documents it is given.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from sentinai.core.packs.diff import document_changes
from sentinai.core.packs.limits import document_checksum
from sentinai.sinks.pack_events import record_pack_event

# One writer at a time: two deploys storing packs at once would otherwise race to activate.
PACKS_LOCK = 0x5E17A1_0001

_COLUMNS = "id, kind, name, version, checksum, status, created_by, created_at, activated_at, document"


async def store_packs(pool: asyncpg.Pool, domain_docs: list[dict[str, Any]],
                      tenant_docs: list[dict[str, Any]], *, created_by: str) -> list[dict[str, Any]]:
    """Activate every document that differs from the active version of its pack, in one transaction
    (see :func:`activate_packs`)."""
    async with pool.acquire() as conn, conn.transaction():
        return await activate_packs(conn, domain_docs, tenant_docs, created_by=created_by)


async def activate_packs(conn: asyncpg.Connection, domain_docs: list[dict[str, Any]],
                         tenant_docs: list[dict[str, Any]], *, created_by: str,
                         actor: str | None = None,
                         proposal_id: int | None = None) -> list[dict[str, Any]]:
    """Activate, in the caller's transaction, every document that differs from its active version.

    Domain packs are named by ``domainName``, tenant packs by ``tenantId``; a document equal to an
    earlier version reactivates that version (a rollback). Each tenant's ``tenants`` row is brought
    up to date, and a ``PackVersionActivated`` event (who, the changes from the version it
    replaces; ``actor`` when it is not the author, say the approver) is recorded for every tenant an
    activated version applies to. Returns what was
    activated, as ``[{kind, name, version, id}]`` (empty when nothing changed).
    """
    activated: list[dict[str, Any]] = []
    await conn.execute("SELECT pg_advisory_xact_lock($1)", PACKS_LOCK)
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
    for version in activated:
        tenants = ([version["name"]] if version["kind"] == "tenant" else
                   [r[0] for r in await conn.fetch(
                       "SELECT tenant_id FROM tenants WHERE domain_name = $1 ORDER BY tenant_id",
                       version["name"])])
        payload = {"kind": version["kind"], "name": version["name"], "version": version["version"],
                   "version_id": version["id"], "previous_version_id": version["previous_id"],
                   "proposal_id": proposal_id, "changes": version["changes"]}
        for tenant in tenants:
            await record_pack_event(conn, tenant, "PackVersionActivated", actor or created_by, payload,
                                    proposal_id=proposal_id)
    return [{k: v[k] for k in ("kind", "name", "version", "id")} for v in activated]


async def _activate(conn: asyncpg.Connection, kind: str, name: str, doc: dict[str, Any],
                    created_by: str) -> dict[str, Any] | None:
    digest = document_checksum(doc)
    active = await conn.fetchrow(
        """SELECT id, checksum, document FROM pack_versions
           WHERE kind = $1 AND name = $2 AND status = 'active'""", kind, name)
    if active is not None and active["checksum"] == digest:
        return None
    if active is not None:
        await conn.execute("UPDATE pack_versions SET status = 'deprecated' WHERE id = $1", active["id"])
    changes = document_changes(active["document"] if active is not None else None, doc)
    previous_id = active["id"] if active is not None else None
    earlier = await conn.fetchrow(
        """UPDATE pack_versions SET status = 'active', activated_at = now()
           WHERE id = (SELECT max(id) FROM pack_versions
                       WHERE kind = $1 AND name = $2 AND checksum = $3)
           RETURNING id, version""", kind, name, digest)
    if earlier is not None:
        return {"kind": kind, "name": name, "version": earlier["version"], "id": earlier["id"],
                "previous_id": previous_id, "changes": changes}
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
    return {"kind": kind, "name": name, "version": str(version), "id": new_id,
            "previous_id": previous_id, "changes": changes}


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


async def tenant_pack_versions(pool: asyncpg.Pool, tenant_id: str, *, limit: int,
                               before_id: int | None = None) -> list[dict[str, Any]]:
    """Versions of the tenant's pack and of its domain's pack, newest first: ``limit`` of them,
    older than ``before_id`` when given."""
    rows = await pool.fetch(f"SELECT {_COLUMNS} FROM pack_versions WHERE {_OF_TENANT} AND ($2::bigint IS NULL "
                            "OR id < $2) ORDER BY id DESC LIMIT $3", tenant_id, before_id, limit)
    return [dict(r) for r in rows]


async def tenant_active_versions(pool: asyncpg.Pool, tenant_id: str) -> list[dict[str, Any]]:
    """The active version of the tenant's pack and of its domain's (whatever page they are on)."""
    rows = await pool.fetch(f"SELECT {_COLUMNS} FROM pack_versions WHERE {_OF_TENANT} AND status = 'active' "
                            "ORDER BY id DESC", tenant_id)
    return [dict(r) for r in rows]


async def tenant_pack_version(pool: asyncpg.Pool, tenant_id: str, version_id: int) -> dict[str, Any] | None:
    """One version by id, when it is the tenant's pack or its domain's (else None)."""
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM pack_versions WHERE id = $2 AND {_OF_TENANT}",
                              tenant_id, version_id)
    return None if row is None else dict(row)


async def rollback_target(pool: asyncpg.Pool, tenant_id: str,
                          version_id: int | None) -> tuple[str, dict[str, Any]]:
    """``(kind, document)`` of a version of the tenant's packs (by default the version of its tenant
    pack that was active before the active one); `LookupError` when there is none."""
    if version_id is None:
        version_id = await pool.fetchval(
            """SELECT id FROM pack_versions
               WHERE kind = 'tenant' AND name = $1 AND status <> 'active' AND activated_at IS NOT NULL
               ORDER BY activated_at DESC, id DESC LIMIT 1""", tenant_id)
        if version_id is None:
            raise LookupError(f"the tenant pack of {tenant_id!r} has no earlier version")
    version = await tenant_pack_version(pool, tenant_id, version_id)
    if version is None:
        raise LookupError(f"no version {version_id} of the packs of tenant {tenant_id!r}")
    return version["kind"], version["document"]
