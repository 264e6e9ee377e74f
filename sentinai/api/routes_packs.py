"""Packs: the tenant's pack versions (GET) and activation of new versions (PUT, admin).

A PUT is validated by the core against the active set (see `sentinai.api.pack_documents`). When the
tenant's active pack sets ``governance.requireSecondApprover``, a PUT does not activate: it
answers 202 with a proposal that another admin approves (`sentinai.api.routes_proposals`).
"""

from __future__ import annotations

from aiohttp import web

from sentinai.api.auth import tenant_access
from sentinai.api.errors import ApiError, read_json
from sentinai.api.pack_documents import candidate_documents
from sentinai.api.proposal_reports import propose
from sentinai.api.responses import int_between, ok, parse_query
from sentinai.api.state import POOL, SETTINGS

routes = web.RouteTableDef()


@routes.get("/api/v1/tenants/{tenant}/packs")
async def get_packs(request: web.Request) -> web.Response:
    """A page of the tenant's pack versions, newest first (each with its document, up to
    ``SENTINAI_MAX_PACK_BYTES``: every change is a version, so the whole history would grow without
    bound), ``next_before_id`` to page on, and the active versions whatever page they are on."""
    _, tenant = await tenant_access(request)
    from sentinai.sinks.pack_store import tenant_active_versions, tenant_pack_versions

    q = parse_query(request, {"limit": int_between(1, 200), "before_id": int_between(1, 2**62)})
    limit = q.get("limit", 50)
    pool = request.app[POOL]
    versions = await tenant_pack_versions(pool, tenant, limit=limit, before_id=q.get("before_id"))
    next_before = versions[-1]["id"] if len(versions) == limit else None
    return ok({"tenant_id": tenant, "versions": versions, "next_before_id": next_before,
               "active": await tenant_active_versions(pool, tenant)})


_VERSION_FIELDS = ("id", "kind", "name", "version", "status", "created_by", "created_at", "activated_at")


@routes.get("/api/v1/tenants/{tenant}/packs/diff")
async def diff_packs(request: web.Request) -> web.Response:
    """What changed from one version of a pack to another (both the tenant's or its domain's)."""
    _, tenant = await tenant_access(request)
    from sentinai.core.json_diff import json_diff
    from sentinai.sinks.pack_store import tenant_pack_version

    ids = int_between(1, 2**62)
    q = parse_query(request, {"from": ids, "to": ids})
    versions = []
    for name in ("from", "to"):
        if name not in q:
            raise ApiError(400, "missing_parameter", f"query parameter {name!r} (a pack version id) is required",
                           f"query.{name}")
        version = await tenant_pack_version(request.app[POOL], tenant, q[name])
        if version is None:
            raise ApiError(404, "not_found", f"no pack version {q[name]} for tenant {tenant!r}", f"query.{name}")
        versions.append(version)
    old, new = versions
    if (old["kind"], old["name"]) != (new["kind"], new["name"]):
        raise ApiError(422, "different_packs",
                       f"version {old['id']} is {old['kind']} pack {old['name']!r}, version {new['id']} is "
                       f"{new['kind']} pack {new['name']!r}: compare two versions of one pack", "query.to")
    return ok({"tenant_id": tenant, "from": {k: old[k] for k in _VERSION_FIELDS},
               "to": {k: new[k] for k in _VERSION_FIELDS},
               "changes": json_diff(old["document"], new["document"])})


@routes.put("/api/v1/tenants/{tenant}/packs")
async def put_packs(request: web.Request) -> web.Response:
    who, tenant = await tenant_access(request, "admin", must_exist=False)
    parse_query(request, {})
    body = await read_json(request, request.app[SETTINGS].max_body_bytes)
    domains, tenants = await candidate_documents(request, who, tenant, body, change=True)
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
