"""Packs: the tenant's pack versions (GET) and activation of new versions (PUT, admin).

A PUT is validated by the core against the active set (see `sentinai.api.pack_documents`). When the
tenant's active pack sets ``governance.requireSecondApprover``, a PUT does not activate: it
answers 202 with a proposal that another admin approves (`sentinai.api.routes_proposals`).
"""

from __future__ import annotations

from aiohttp import web

from sentinai.api.auth import tenant_access
from sentinai.api.errors import read_json
from sentinai.api.pack_documents import candidate_documents
from sentinai.api.proposal_reports import propose
from sentinai.api.responses import ok, parse_query
from sentinai.api.state import POOL, SETTINGS

routes = web.RouteTableDef()


@routes.get("/api/v1/tenants/{tenant}/packs")
async def get_packs(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request)
    from sentinai.sinks.pack_store import tenant_pack_versions

    parse_query(request, {})
    versions = await tenant_pack_versions(request.app[POOL], tenant)
    return ok({"tenant_id": tenant, "versions": versions})


@routes.put("/api/v1/tenants/{tenant}/packs")
async def put_packs(request: web.Request) -> web.Response:
    who, tenant = await tenant_access(request, "admin", must_exist=False)
    parse_query(request, {})
    body = await read_json(request, request.app[SETTINGS].max_body_bytes)
    pool = request.app[POOL]
    domains, tenants = await candidate_documents(pool, who, tenant, body)
    return await activate_or_propose(request, tenant, domains, tenants, actor=f"api-key:{who.key_id}")


async def activate_or_propose(request: web.Request, tenant: str, domains: list, tenants: list, *,
                              actor: str, kind: str = "change", comment: str | None = None) -> web.Response:
    """Activate at once (200), or, when the tenant requires a second approver, propose (202)."""
    from sentinai.sinks.pack_proposals import tenant_requires_approval
    from sentinai.sinks.pack_store import store_packs

    pool = request.app[POOL]
    if await tenant_requires_approval(pool, tenant):
        proposal = await propose(request, tenant, domains, tenants, proposed_by=actor, kind=kind,
                                 comment=comment)
        return ok({"tenant_id": tenant, "proposal": proposal}, status=202)
    activated = await store_packs(pool, domains, tenants, created_by=actor)
    return ok({"tenant_id": tenant, "activated": activated})
