"""401 / 403 / 404 rules and tenant isolation."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.conftest import Web
from tests.support.seed import ESCALATED_AT_ONCE, decided, store


def assert_error(status: int, body: object, expected: int) -> None:
    assert status == expected, body
    assert isinstance(body, dict) and {"error", "detail", "path"} <= body.keys(), body


async def test_no_key_is_401(web_env: Web) -> None:
    status, body = await web_env.get("/api/v1/tenants/acme/exceptions", key=None)
    assert_error(status, body, 401)
    assert body["path"] == "header.Authorization"


async def test_invalid_key_and_bad_scheme_are_401(web_env: Web) -> None:
    status, body = await web_env.get("/api/v1/tenants/acme/exceptions", key="snt_not_a_real_key")
    assert_error(status, body, 401)
    status, body = await web_env.get("/api/v1/tenants/acme/exceptions", key=None,
                                     headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_error(status, body, 401)


async def test_revoked_key_is_401(web_env: Web) -> None:
    from sentinai.sinks.api_keys import authenticate, revoke_api_key

    who = await authenticate(web_env.pool, web_env.keys["acme-viewer"])
    assert who is not None and await revoke_api_key(web_env.pool, who.key_id)
    status, body = await web_env.get("/api/v1/tenants/acme/exceptions")
    assert_error(status, body, 401)


async def test_other_tenant_is_404_for_every_role(web_env: Web) -> None:
    for role in ("viewer", "operator", "admin"):
        status, body = await web_env.get("/api/v1/tenants/globex/exceptions", key=f"acme-{role}")
        assert_error(status, body, 404)
        assert body["error"] == "unknown_tenant"
    # ... and a write to another tenant is a 404 too, not a 403
    status, body = await web_env.send("POST", "/api/v1/tenants/globex/approvals/a1/approve",
                                      key="acme-viewer", json={"by": "x"})
    assert_error(status, body, 404)


async def test_unknown_tenant_is_404_even_for_root(web_env: Web) -> None:
    status, body = await web_env.get("/api/v1/tenants/nope/exceptions", key="root")
    assert_error(status, body, 404)
    status, body = await web_env.get("/api/v1/tenants/bad%20tenant!/exceptions", key="root")
    assert_error(status, body, 404)


async def test_role_too_low_is_403(web_env: Web) -> None:
    status, body = await web_env.send("POST", "/api/v1/tenants/acme/exceptions", key="acme-viewer",
                                      json={"payload": {"a": 1}})
    assert_error(status, body, 403)
    status, body = await web_env.send("PUT", "/api/v1/tenants/acme/packs", key="acme-operator",
                                      json={"tenantId": "acme"})
    assert_error(status, body, 403)
    status, body = await web_env.get("/api/v1/decisions/stream", key="acme-admin")
    assert_error(status, body, 403)


async def test_root_admin_sees_every_tenant(web_env: Web) -> None:
    for tenant in ("acme", "globex"):
        status, body = await web_env.get(f"/api/v1/tenants/{tenant}/exceptions", key="root")
        assert status == 200, body
    status, body = await web_env.get("/api/v1/whoami", key="root")
    assert status == 200 and body["tenants"] == ["acme", "globex"]


async def test_tenant_isolation_of_records(web_env: Web) -> None:
    await store(web_env.settings.database_url, decided("globex", "G-1", ESCALATED_AT_ONCE, at=datetime.now(UTC)))
    status, body = await web_env.get("/api/v1/tenants/globex/exceptions/G-1", key="globex-viewer")
    assert status == 200 and body["exception_id"] == "G-1"
    # acme cannot see it: neither under its own tenant nor under globex's path
    status, body = await web_env.get("/api/v1/tenants/acme/exceptions/G-1", key="acme-viewer")
    assert_error(status, body, 404)
    status, body = await web_env.get("/api/v1/tenants/globex/exceptions/G-1", key="acme-admin")
    assert_error(status, body, 404)
    status, body = await web_env.get("/api/v1/tenants/acme/exceptions", key="acme-viewer")
    assert status == 200 and body["items"] == []


async def test_whoami_and_status_are_scoped(web_env: Web) -> None:
    status, body = await web_env.get("/api/v1/whoami")
    assert status == 200 and body["tenant_id"] == "acme" and body["tenants"] == ["acme"]
    status, body = await web_env.get("/api/v1/status")
    assert status == 200 and [t["tenant_id"] for t in body["tenants"]] == ["acme"]
