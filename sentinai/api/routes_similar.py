"""Similar cases of an exception: the tenant's closest past exceptions, why, and how they ended."""

from __future__ import annotations

from aiohttp import web

from sentinai.api.auth import tenant_access
from sentinai.api.errors import ApiError
from sentinai.api.responses import int_between, ok, parse_query
from sentinai.api.state import POOL
from sentinai.sinks.similar_cases import similar_to_exception

routes = web.RouteTableDef()


@routes.get("/api/v1/tenants/{tenant}/exceptions/{exception_id}/similar")
async def get_similar(request: web.Request) -> web.Response:
    _, tenant = await tenant_access(request)
    q = parse_query(request, {"limit": int_between(1, 50)})
    exception_id = request.match_info["exception_id"]
    cases = await similar_to_exception(request.app[POOL], tenant, exception_id,
                                       limit=q.get("limit", 5))
    if cases is None:
        raise ApiError(404, "not_found", f"no exception {exception_id[:200]!r} for tenant {tenant!r}")
    return ok({"tenant_id": tenant, "exception_id": exception_id,
               "items": [case.as_json() for case in cases]})
