"""Pack change proposals: stored candidate documents that a second admin approves or rejects.

A proposal keeps the documents, the active versions they were proposed against (``base``), the
changes of each from its active version (``diff``) and, once the background job has run it,
the what-if report. Every step writes its event to ``pack_events`` in the same transaction as the
state change. Approval activates the documents only while the versions they were proposed
against are still the active ones: otherwise the diff and the report describe another change.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from sentinai.core.packs.diff import pack_diff
from sentinai.core.packs.tenant import TenantPolicyPack
from sentinai.sinks.pack_events import record_pack_event
from sentinai.sinks.pack_store import PACKS_LOCK, activate_packs

_COLUMNS = ("id, tenant_id, kind, status, documents, base, diff, comment, proposed_by, proposed_at, "
            "decided_by, decided_at, decision_comment, activated, report_status, report, report_error")


class ProposalRefused(Exception):
    """A step the proposal's state does not allow; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _key(kind: str, name: str) -> str:
    return f"{kind}:{name}"


async def _active_documents(conn: asyncpg.Connection, keys: set[str]) -> dict[str, dict[str, Any]]:
    """``kind:name`` → ``{id, document}`` of the active version, for those of ``keys`` that have one."""
    rows = await conn.fetch(
        """SELECT kind, name, id, document FROM pack_versions
           WHERE status = 'active' AND kind || ':' || name = ANY($1::text[])""", sorted(keys))
    return {_key(r["kind"], r["name"]): {"id": r["id"], "document": r["document"]} for r in rows}


async def _base_keys(conn: asyncpg.Connection, tenant_id: str, domains: list[dict[str, Any]],
                     tenants: list[dict[str, Any]]) -> set[str]:
    """The packs a what-if of the proposal reads: the tenant's, its domain's and those it names."""
    keys = {_key("tenant", tenant_id)}
    domain = await conn.fetchval("SELECT domain_name FROM tenants WHERE tenant_id = $1", tenant_id)
    if domain:
        keys.add(_key("domain", domain))
    keys |= {_key("domain", str(d["domainName"])) for d in domains}
    keys |= {_key("tenant", str(t["tenantId"])) for t in tenants}
    keys |= {_key("domain", str(t["domainName"])) for t in tenants}
    return keys


def requires_second_approver(tenant_document: dict[str, Any] | None) -> bool:
    """Whether the tenant's active pack asks for a second approver of its changes."""
    if tenant_document is None:
        return False
    return TenantPolicyPack.model_validate(tenant_document).governance.require_second_approver


async def tenant_requires_approval(pool: asyncpg.Pool, tenant_id: str) -> bool:
    document = await pool.fetchval(
        "SELECT document FROM pack_versions WHERE kind = 'tenant' AND name = $1 AND status = 'active'",
        tenant_id)
    return requires_second_approver(document)


async def create_proposal(pool: asyncpg.Pool, tenant_id: str, domains: list[dict[str, Any]],
                          tenants: list[dict[str, Any]], *, proposed_by: str, kind: str = "change",
                          comment: str | None = None) -> dict[str, Any]:
    """Store a proposal and its PackChangeProposed event; `ProposalRefused` when it changes nothing."""
    async with pool.acquire() as conn, conn.transaction():
        keys = await _base_keys(conn, tenant_id, domains, tenants)
        active = await _active_documents(conn, keys)
        diff = pack_diff({tuple(k.split(":", 1)): v["document"] for k, v in active.items()},
                         [("domain", d) for d in domains] + [("tenant", t) for t in tenants])
        if not diff:
            raise ProposalRefused(422, "no_change", "the documents equal the active versions")
        base = {key: active[key]["id"] if key in active else None for key in sorted(keys)}
        row = await conn.fetchrow(
            f"""INSERT INTO pack_proposals (tenant_id, kind, status, documents, base, diff, comment,
                                            proposed_by)
                VALUES ($1, $2, 'proposed', $3, $4, $5, $6, $7) RETURNING {_COLUMNS}""",
            tenant_id, kind, {"domains": domains, "tenants": tenants}, base, diff, comment,
            proposed_by)
        await record_pack_event(conn, tenant_id, "PackChangeProposed", proposed_by,
                                {"proposal_id": row["id"], "kind": kind, "comment": comment,
                                 "diff": diff}, proposal_id=row["id"])
        return dict(row)


async def get_proposal(pool: asyncpg.Pool, tenant_id: str, proposal_id: int) -> dict[str, Any] | None:
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM pack_proposals WHERE tenant_id = $1 AND id = $2",
                              tenant_id, proposal_id)
    return None if row is None else dict(row)


async def list_proposals(pool: asyncpg.Pool, tenant_id: str, *, status: str | None = None,
                         limit: int = 50) -> list[dict[str, Any]]:
    """The tenant's proposals, newest first, without their documents and reports (see get)."""
    rows = await pool.fetch(
        """SELECT id, tenant_id, kind, status, comment, proposed_by, proposed_at, decided_by,
                  decided_at, report_status FROM pack_proposals
           WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY id DESC LIMIT $3""",
        tenant_id, status, limit)
    return [dict(r) for r in rows]


async def decide_proposal(pool: asyncpg.Pool, tenant_id: str, proposal_id: int, *, approve: bool,
                          decided_by: str, comment: str | None) -> dict[str, Any]:
    """Approve (activating the documents) or reject a proposal, with its event, in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM pack_proposals WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            tenant_id, proposal_id)
        if row is None:
            raise ProposalRefused(404, "not_found", f"no proposal {proposal_id} for tenant {tenant_id!r}")
        if row["status"] != "proposed":
            raise ProposalRefused(409, "proposal_closed",
                                  f"proposal {proposal_id} is already {row['status']}")
        activated = None
        if approve:
            if row["proposed_by"] == decided_by:
                raise ProposalRefused(403, "own_proposal",
                                      "a proposal must be approved by another admin than its proposer")
            await conn.execute("SELECT pg_advisory_xact_lock($1)", PACKS_LOCK)
            current = await _active_documents(conn, set(row["base"]))
            moved = sorted(key for key, version in row["base"].items()
                           if (current[key]["id"] if key in current else None) != version)
            if moved:
                raise ProposalRefused(409, "stale_proposal",
                                      f"the active version of {', '.join(moved)} changed since the "
                                      "proposal; propose the change again")
        event = "PackChangeApproved" if approve else "PackChangeRejected"
        await record_pack_event(conn, tenant_id, event, decided_by,
                                {"proposal_id": proposal_id, "comment": comment,
                                 "proposed_by": row["proposed_by"]}, proposal_id=proposal_id)
        if approve:
            documents = row["documents"]
            activated = await activate_packs(conn, documents["domains"], documents["tenants"],
                                             created_by=row["proposed_by"], actor=decided_by,
                                             proposal_id=proposal_id)
        updated = await conn.fetchrow(
            f"""UPDATE pack_proposals SET status = $3, decided_by = $4, decided_at = now(),
                                          decision_comment = $5, activated = $6
                WHERE tenant_id = $1 AND id = $2 RETURNING {_COLUMNS}""",
            tenant_id, proposal_id, "approved" if approve else "rejected", decided_by, comment,
            activated)
        return dict(updated)


async def base_documents(pool: asyncpg.Pool, proposal: dict[str, Any]) -> tuple[list[dict[str, Any]],
                                                                                list[dict[str, Any]]]:
    """The (domain, tenant) documents of the versions a proposal was made against."""
    ids = [version for version in proposal["base"].values() if version is not None]
    rows = await pool.fetch("SELECT kind, document FROM pack_versions WHERE id = ANY($1::bigint[])", ids)
    return ([r["document"] for r in rows if r["kind"] == "domain"],
            [r["document"] for r in rows if r["kind"] == "tenant"])


async def store_report(pool: asyncpg.Pool, proposal_id: int, *, report: dict[str, Any] | None,
                       error: str | None = None) -> None:
    await pool.execute(
        "UPDATE pack_proposals SET report_status = $2, report = $3, report_error = $4 WHERE id = $1",
        proposal_id, "failed" if error else "done", report, error)


async def pending_reports(pool: asyncpg.Pool) -> list[tuple[str, int]]:
    """(tenant, proposal id) of every proposal whose report has not been made yet."""
    rows = await pool.fetch(
        "SELECT tenant_id, id FROM pack_proposals WHERE report_status = 'pending' ORDER BY id")
    return [(r["tenant_id"], r["id"]) for r in rows]
