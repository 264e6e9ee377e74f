"""Governed pack changes: proposals, their approval or rejection by another admin, rollback, and
the packs' timeline (``pack_events``).

The proposer and the approver are the API keys' identities (``api-key:<key id>``); a proposal is
never approved by the key that made it. A proposal that changes a domain pack (shared by every
tenant of the domain) is approved only by an admin key for ``*``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sentinai.api.auth import tenant_access
from sentinai.api.errors import ApiError, check_fields, read_json
from sentinai.api.pack_documents import candidate_documents
from sentinai.api.proposal_reports import propose
from sentinai.api.responses import int_between, ok, parse_query, short_text
from sentinai.api.routes_packs import activate_or_propose
from sentinai.api.state import POOL, SETTINGS

routes = web.RouteTableDef()

_PROPOSALS = "/api/v1/tenants/{tenant}/packs/proposals"


def _proposal_id(request: web.Request) -> int:
    text = request.match_info["proposal_id"]
    if not text.isdigit() or len(text) > 18:
        raise ApiError(404, "not_found", f"no proposal {text[:40]!r}")
    return int(text)


@routes.post(_PROPOSALS)
async def create(request: web.Request) -> web.Response:
    """Body: the candidate documents as for PUT packs, with an optional ``comment`` beside
    ``domains`` / ``tenants``."""
    who, tenant = await tenant_access(request, "admin", must_exist=False)
    parse_query(request, {})
    body = await read_json(request, request.app[SETTINGS].max_body_bytes)
    comment = None
    if isinstance(body, dict) and "tenantId" not in body and "comment" in body:
        body = dict(body)
        comment = body.pop("comment")
        if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
            raise ApiError(422, "invalid_field", "comment must be a text of at most 2000 characters",
                           "body.comment")
    domains, tenants = await candidate_documents(request, who, tenant, body, change=True)
    proposal = await propose(request, tenant, domains, tenants, proposed_by=f"api-key:{who.key_id}",
                             comment=comment)
    return ok({"tenant_id": tenant, "proposal": proposal}, status=202)


@routes.get(_PROPOSALS)
async def list_all(request: web.Request) -> web.Response:
    from sentinai.sinks.pack_proposals import list_proposals

    _, tenant = await tenant_access(request, must_exist=False)
    q = parse_query(request, {"status": short_text, "limit": int_between(1, 500)})
    items = await list_proposals(request.app[POOL], tenant, status=q.get("status"),
                                 limit=q.get("limit", 50))
    return ok({"tenant_id": tenant, "items": items})


@routes.get(_PROPOSALS + "/{proposal_id}")
async def get_one(request: web.Request) -> web.Response:
    from sentinai.sinks.pack_proposals import get_proposal

    _, tenant = await tenant_access(request, must_exist=False)
    parse_query(request, {})
    proposal_id = _proposal_id(request)
    proposal = await get_proposal(request.app[POOL], tenant, proposal_id)
    if proposal is None:
        raise ApiError(404, "not_found", f"no proposal {proposal_id} for tenant {tenant!r}")
    return ok(proposal)


async def _decide(request: web.Request, approve: bool) -> web.Response:
    from sentinai.sinks.pack_proposals import ProposalRefused, decide_proposal, get_proposal

    # A proposal may create a tenant: no tenant row until it is approved.
    who, tenant = await tenant_access(request, "admin", must_exist=False)
    parse_query(request, {})
    body = check_fields(await read_json(request, request.app[SETTINGS].max_body_bytes),
                        allowed={"comment": str}, required=("comment",))
    pool = request.app[POOL]
    proposal_id = _proposal_id(request)
    proposal = await get_proposal(pool, tenant, proposal_id)
    if proposal is None:
        raise ApiError(404, "not_found", f"no proposal {proposal_id} for tenant {tenant!r}")
    if approve and proposal["documents"]["domains"] and not who.all_tenants:
        raise ApiError(403, "forbidden", "the proposal changes a domain pack, shared by tenants: only an "
                       "admin key for '*' may approve it")
    try:
        decided = await decide_proposal(pool, tenant, proposal_id, approve=approve,
                                        decided_by=f"api-key:{who.key_id}", comment=body["comment"])
    except ProposalRefused as err:
        raise ApiError(err.status, err.code, err.message) from None
    return ok(decided)


@routes.post(_PROPOSALS + "/{proposal_id}/approve")
async def approve(request: web.Request) -> web.Response:
    return await _decide(request, approve=True)


@routes.post(_PROPOSALS + "/{proposal_id}/reject")
async def reject(request: web.Request) -> web.Response:
    return await _decide(request, approve=False)


@routes.post("/api/v1/tenants/{tenant}/packs/rollback")
async def rollback(request: web.Request) -> web.Response:
    """Activate an earlier version again (``version_id``; by default the tenant pack's previous
    version): at once, or as a proposal when the tenant requires a second approver."""
    from sentinai.sinks.pack_store import rollback_target

    who, tenant = await tenant_access(request, "admin")
    parse_query(request, {})
    body = check_fields(await read_json(request, request.app[SETTINGS].max_body_bytes),
                        allowed={"version_id": int, "comment": str})
    try:
        kind, document = await rollback_target(request.app[POOL], tenant, body.get("version_id"))
    except LookupError as err:
        raise ApiError(404 if body.get("version_id") else 409, "no_version", str(err), "body.version_id") from None
    envelope: dict[str, Any] = {"domains": [document]} if kind == "domain" else {"tenants": [document]}
    domains, tenants = await candidate_documents(request, who, tenant, envelope, change=True)
    return await activate_or_propose(request, tenant, domains, tenants, actor=f"api-key:{who.key_id}",
                                     kind="rollback", comment=body.get("comment"))


@routes.get("/api/v1/tenants/{tenant}/packs/events")
async def timeline(request: web.Request) -> web.Response:
    from sentinai.sinks.pack_events import pack_timeline

    _, tenant = await tenant_access(request)
    q = parse_query(request, {"limit": int_between(1, 1000), "before": int_between(1, 2**62)})
    items = await pack_timeline(request.app[POOL], tenant, limit=q.get("limit", 200),
                                before=q.get("before"))
    return ok({"tenant_id": tenant, "items": items})
