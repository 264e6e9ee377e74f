"""Packs: the tenant's pack versions (GET) and activation of new versions (PUT, admin).

A PUT is validated by the core against the active set (the new documents replace the active ones
with the same ``domainName`` / ``tenantId``), within the deployment's size limits and with only the
secrets granted to the tenant; every issue comes back in a 422."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sentinai.api.auth import tenant_access
from sentinai.api.errors import ApiError, read_json
from sentinai.api.pack_validator import validate_packs
from sentinai.api.responses import int_between, ok, parse_query
from sentinai.api.state import POOL, SETTINGS

routes = web.RouteTableDef()


@routes.get("/api/v1/tenants/{tenant}/packs")
async def get_packs(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request)
    from sentinai.sinks.pack_store import tenant_pack_versions

    parse_query(request, {})
    versions = await tenant_pack_versions(request.app[POOL], tenant)
    return ok({"tenant_id": tenant, "versions": versions})


_VERSION_FIELDS = ("id", "kind", "name", "version", "status", "created_by", "created_at", "activated_at")


@routes.get("/api/v1/tenants/{tenant}/packs/diff")
async def diff_packs(request: web.Request) -> web.Response:
    """What changed from one version of a pack to another (both the tenant's or its domain's)."""
    _, tenant = await tenant_access(request)
    from sentinai.api.json_diff import json_diff
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


def _split(body: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", f"expected a JSON object, got {type(body).__name__}", "body")
    if "tenantId" in body:
        return [], [body]
    unknown = sorted(set(body) - {"domains", "tenants"})
    if unknown or not body:
        raise ApiError(400, "unknown_field" if unknown else "invalid_body",
                       "expected {\"domains\": [...], \"tenants\": [...]} or one tenant pack (with tenantId)",
                       f"body.{unknown[0]}" if unknown else "body")
    parts: list[list[dict[str, Any]]] = []
    for name in ("domains", "tenants"):
        docs = body.get(name, [])
        if not isinstance(docs, list):
            raise ApiError(422, "invalid_field", f"{name} must be a list of pack documents", f"body.{name}")
        for i, doc in enumerate(docs):
            if not isinstance(doc, dict):
                raise ApiError(422, "invalid_field", f"{name}[{i}] must be a JSON object", f"body.{name}[{i}]")
        parts.append(docs)
    if not parts[0] and not parts[1]:
        raise ApiError(422, "invalid_body", "no pack documents given", "body")
    return parts[0], parts[1]


def _merge(active: list[dict[str, Any]], new: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    replaced = {d.get(key) for d in new}
    return [d for d in active if d.get(key) not in replaced] + new


@routes.put("/api/v1/tenants/{tenant}/packs")
async def put_packs(request: web.Request) -> web.Response:
    who, tenant = await tenant_access(request, "admin", must_exist=False)
    parse_query(request, {})
    body = await read_json(request, request.app[SETTINGS].max_body_bytes)
    single = isinstance(body, dict) and "tenantId" in body
    domains, tenants = _split(body)
    for i, doc in enumerate(tenants):
        if doc.get("tenantId") != tenant:
            raise ApiError(422, "tenant_mismatch",
                           f"tenant pack names tenant {str(doc.get('tenantId'))[:100]!r}, not {tenant!r}",
                           "body.tenantId" if single else f"body.tenants[{i}].tenantId")
    if domains and not who.all_tenants:
        raise ApiError(403, "forbidden", "domain packs are shared by tenants: only an admin key for '*' may change them",
                       "body.domains")
    from sentinai.core.packs import PackValidationError
    from sentinai.sinks.pack_store import active_pack_documents, store_packs
    from sentinai.tools.secrets import SecretStore

    pool = request.app[POOL]
    settings = request.app[SETTINGS]
    active_domains, active_tenants = await active_pack_documents(pool)
    merged_tenants = _merge(active_tenants, tenants, "tenantId")
    secrets = SecretStore.from_settings(settings)
    granted = {str(d.get("tenantId")): secrets.granted(str(d.get("tenantId"))) for d in merged_tenants}
    try:
        await validate_packs(request.app, _merge(active_domains, domains, "domainName"), merged_tenants,
                             granted, settings.pack_limits())
    except PackValidationError as err:
        issues = [{"file": i.file, "path": i.path, "message": i.message} for i in err.issues]
        first = issues[0] if issues else {"path": "", "message": str(err)}
        raise ApiError(422, "invalid_pack", f"{len(issues)} pack issue(s); first: {first['message']}",
                       first["path"] or "body", extra={"issues": issues}) from None
    activated = await store_packs(pool, domains, tenants, created_by=f"api-key:{who.key_id}")
    return ok({"tenant_id": tenant, "activated": activated})
