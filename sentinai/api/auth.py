"""Bearer-key authentication and tenant access.

Order of checks: no or invalid key → 401; a tenant the key may not see, or one that does not
exist → 404 (the two are indistinguishable, so keys cannot probe for tenants); role too low → 403.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sentinai.api.errors import ApiError
from sentinai.api.state import POOL
from sentinai.sinks.api_keys import TENANT_ID, Principal, Role, authenticate
from sentinai.sinks.views import tenant_exists

STREAM_COOKIE = "sentinai_stream"
"""The cookie ``POST /api/v1/stream-session`` sets for the stream routes: an EventSource sends it,
so the console's stream URL carries no key (a URL is shown in the browser's console when the
connection fails, and kept in its history)."""

# web.RequestKey exists from aiohttp 3.12 on; a plain string key works on older versions.
_PRINCIPAL: Any = (web.RequestKey("sentinai.principal", Principal) if hasattr(web, "RequestKey")
                   else "sentinai.principal")


def bearer_token(request: web.Request) -> str | None:
    """The key of the ``Authorization: Bearer`` header; None without the header."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "expected 'Authorization: Bearer <key>'", "header.Authorization")
    return token.strip()


def _token(request: web.Request, allow_query: bool) -> str | None:
    token = bearer_token(request)
    if token is None and allow_query:
        # EventSource cannot send headers: the stream routes also take the key as ?access_token=
        # or from the stream cookie (never another route: a cookie would make it open to CSRF)
        token = request.query.get("access_token") or request.cookies.get(STREAM_COOKIE) or None
    return token


async def principal(request: web.Request, *, allow_query: bool = False) -> Principal:
    cached = request.get(_PRINCIPAL)
    if cached is not None:
        return cached
    token = _token(request, allow_query)
    if token is None:
        raise ApiError(401, "unauthorized", "an API key is required: 'Authorization: Bearer <key>'",
                       "header.Authorization")
    found = await authenticate(request.app[POOL], token)
    if found is None:
        raise ApiError(401, "unauthorized", "invalid or revoked API key", "header.Authorization")
    request[_PRINCIPAL] = found
    return found


def require_role(who: Principal, role: Role) -> None:
    if not who.has_role(role):
        raise ApiError(403, "forbidden", f"this action needs the {role} role; the key has {who.role}")


async def tenant_access(request: web.Request, role: Role = "viewer", *, must_exist: bool = True,
                        allow_query: bool = False) -> tuple[Principal, str]:
    """Authenticate, then check that the key may act on the path's tenant with ``role``."""
    who = await principal(request, allow_query=allow_query)
    tenant = request.match_info["tenant"]
    if not TENANT_ID.fullmatch(tenant) or not who.can_access(tenant):
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant[:100]!r} for this key")
    if must_exist and not await tenant_exists(request.app[POOL], tenant):
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant[:100]!r} for this key")
    require_role(who, role)
    return who, tenant
