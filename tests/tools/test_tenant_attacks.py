"""A hostile tenant pack against the invoker, with pack validation bypassed (issue 16): the call
must still not leak a worker secret, rewrite its headers, reach private or plain-http targets
the deployment did not allow, or be redirected off the deployment's allow-list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web

from sentinai.core.packs.common import ToolAuth
from sentinai.origins import parse_origin
from sentinai.tools.invoker import ToolInvoker
from sentinai.tools.network import NetworkPolicy
from sentinai.tools.result import ToolResult
from sentinai.tools.secrets import SecretStore

from .conftest import LOCAL, OPEN_NETWORK, Endpoint, Handler, make_tool, ok

Serve = Callable[[Handler], Awaitable[Endpoint]]
TENANT = "acme"
WORKER_ENV = {"SENTINAI_DATABASE_URL": "postgresql://postgres:postgres@db/sentinai",
              "ACME_OMS_TOKEN": "acme-token"}


async def _call(url: str, *, secrets: SecretStore | None = None, network: NetworkPolicy = OPEN_NETWORK,
                auth: ToolAuth | dict[str, str] | None = None) -> ToolResult:
    tool = make_tool(url, auth=auth) if isinstance(auth, dict) else make_tool(url)
    if isinstance(auth, ToolAuth):
        tool = tool.model_copy(update={"auth": auth})  # as if validation had been bypassed
    async with ToolInvoker(secrets=secrets, network=network, backoff_seconds=0.01) as tools:
        return await tools.invoke(tenant_id=TENANT, tool_name="oms", tool=tool, arguments={},
                                  idempotency_key="k", policy=LOCAL)


async def test_a_worker_variable_named_as_secret_never_leaves(serve: Serve) -> None:
    capture = await serve(ok)
    secrets = SecretStore(tenant_env={TENANT: {"OMS_TOKEN": "ACME_OMS_TOKEN"}}, environ=WORKER_ENV)
    result = await _call(capture.url("/x"), secrets=secrets,
                         auth={"type": "bearer", "secretRef": "SENTINAI_DATABASE_URL"})
    assert result.error == "refused: secret SENTINAI_DATABASE_URL is not granted to tenant acme"
    assert capture.requests == []


async def test_another_tenants_secret_file_is_not_reachable(serve: Serve, tmp_path: Path) -> None:
    (tmp_path / "globex").mkdir()
    (tmp_path / "globex" / "OMS_TOKEN").write_text("globex-token\n")
    (tmp_path / TENANT).mkdir()
    capture = await serve(ok)
    secrets = SecretStore(directory=tmp_path)
    for ref in ("OMS_TOKEN", "..", "../globex/OMS_TOKEN"):
        result = await _call(capture.url(), secrets=secrets,
                             auth=ToolAuth.model_construct(type="bearer", secret_ref=ref, header=None))
        assert result.error == f"refused: secret {ref} is not granted to tenant acme"
    assert capture.requests == []
    (tmp_path / TENANT / "OMS_TOKEN").write_text("acme-file-token\n")
    granted = await _call(capture.url(), secrets=secrets,
                          auth={"type": "bearer", "secretRef": "OMS_TOKEN"})
    assert granted.succeeded
    assert capture.requests[0].headers["Authorization"] == "Bearer acme-file-token"


@pytest.mark.parametrize("header", ["Host", "Content-Length", "Cookie", "Transfer-Encoding"])
async def test_a_credential_header_cannot_rewrite_the_request(serve: Serve, header: str) -> None:
    capture = await serve(ok)
    secrets = SecretStore(tenant_env={TENANT: {"OMS_TOKEN": "ACME_OMS_TOKEN"}}, environ=WORKER_ENV)
    auth = ToolAuth.model_construct(type="api_key", secret_ref="OMS_TOKEN", header=header)
    result = await _call(capture.url(), secrets=secrets, auth=auth)
    assert result.status == "failed" and result.error is not None
    assert "cannot carry a credential" in result.error
    assert capture.requests == []


async def test_private_and_plain_http_targets_need_the_deployment(serve: Serve) -> None:
    target = await serve(ok)
    # the tenant's own policy (LOCAL) asks for plain http to 127.0.0.1; the deployment decides
    refused_http = await _call(target.url(), network=NetworkPolicy(allow_private=True))
    assert refused_http.error == "refused: scheme http is not allowed (allowed: https)"
    refused_private = await _call(target.url(), network=NetworkPolicy(allow_http=True))
    assert refused_private.error == ("refused: host 127.0.0.1 resolves to a forbidden address: "
                                     "127.0.0.1 is a loopback address")
    assert target.requests == []
    allowed = await _call(target.url(), network=OPEN_NETWORK)
    assert allowed.succeeded and len(target.requests) == 1


async def test_a_redirect_hop_must_match_the_allow_lists_origin(serve: Serve) -> None:
    elsewhere = await serve(ok)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(elsewhere.url("/loot"))  # same host, another port

    redirector = await serve(redirect)
    network = replace(OPEN_NETWORK, allowed_origins=(parse_origin(redirector.url().rstrip("/")),))
    result = await _call(redirector.url("/start"), network=network)
    assert (result.status, result.attempts) == ("failed", 1)
    assert result.error == (f"refused: http://127.0.0.1:{elsewhere.port} is not on the "
                            "deployment's allow list")
    assert len(redirector.requests) == 1 and elsewhere.requests == []


@pytest.mark.parametrize(("entry", "url", "allowed"), [
    ("https://api.example.com", "https://api.example.com/x", True),
    ("https://api.example.com", "https://api.example.com:8443/x", False),
    ("https://api.example.com", "http://api.example.com/x", False),
    ("https://*.example.com", "https://a.b.example.com/x", True),
    ("https://*.example.com", "https://example.com/x", False),
    ("http://10.0.0.5:8080", "http://10.0.0.5:8080/hook", True),
])
def test_origin_entries_match_scheme_host_and_port(entry: str, url: str, allowed: bool) -> None:
    from yarl import URL

    assert parse_origin(entry).matches(URL(url)) is allowed


@pytest.mark.parametrize("entry", ["api.example.com", "ftp://x", "https://x/path", "https://u@x"])
def test_bad_origin_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="origin"):
        parse_origin(entry)
