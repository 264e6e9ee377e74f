"""ToolInvoker against real local aiohttp servers: every guard, bound and retry rule."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web

from sentinai.tools.breaker import CircuitBreaker
from sentinai.tools.invoker import ToolInvoker
from sentinai.tools.policy import ToolPolicy
from sentinai.tools.result import ToolResult
from sentinai.tools.secrets import SecretStore

from .conftest import LOCAL, OPEN_NETWORK, Endpoint, Handler, make_tool, ok, static_dns

Serve = Callable[[Handler], Awaitable[Endpoint]]
SECRET = "s3cret-value-never-shown"
KEY = "idem-key-1"


@pytest.fixture
async def invoker() -> AsyncIterator[ToolInvoker]:
    secrets = SecretStore(tenant_env={"acme": {"OMS_TOKEN": "ACME_OMS_TOKEN"}},
                          environ={"ACME_OMS_TOKEN": SECRET})
    async with ToolInvoker(secrets=secrets, network=OPEN_NETWORK, backoff_seconds=0.01) as tools:
        yield tools


async def call(tools: ToolInvoker, url: str, *, policy: ToolPolicy = LOCAL,
               arguments: dict[str, Any] | None = None, tool_name: str = "oms",
               **fields: Any) -> ToolResult:
    return await tools.invoke(
        tenant_id="acme", tool_name=tool_name, tool=make_tool(url, **fields),
        arguments={"tradeId": "T-1"} if arguments is None else arguments,
        idempotency_key=KEY, policy=policy,
    )


async def test_healthy_call_sends_key_and_bearer_and_redacts_the_response(
        serve: Serve, invoker: ToolInvoker) -> None:
    healthy = await serve(ok)
    result = await call(invoker, healthy.url("/trades"),
                        auth={"type": "bearer", "secretRef": "OMS_TOKEN"})
    assert result.status == "succeeded" and result.succeeded
    assert (result.http_status, result.attempts, result.error) == (200, 1, None)
    assert result.response == {"ok": True, "token": "***", "path": "/trades"}
    [seen] = healthy.requests
    assert (seen.method, seen.body) == ("POST", {"tradeId": "T-1"})
    assert seen.headers["Idempotency-Key"] == KEY
    assert seen.headers["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in json.dumps(result.as_dict())


async def test_api_key_auth_uses_the_named_header(serve: Serve, invoker: ToolInvoker) -> None:
    healthy = await serve(ok)
    await call(invoker, healthy.url(),
               auth={"type": "api_key", "secretRef": "OMS_TOKEN", "header": "X-Api-Key"})
    assert healthy.requests[0].headers["X-Api-Key"] == SECRET
    assert "Authorization" not in healthy.requests[0].headers


async def test_a_secret_not_granted_is_refused_and_nothing_is_sent(
        serve: Serve, invoker: ToolInvoker) -> None:
    healthy = await serve(ok)
    result = await call(invoker, healthy.url(), auth={"type": "bearer", "secretRef": "NOPE_TOKEN"})
    assert (result.status, result.attempts) == ("failed", 0)
    assert result.error == "refused: secret NOPE_TOKEN is not granted to tenant acme"
    assert healthy.requests == []


async def test_get_tool_sends_arguments_as_query(serve: Serve, invoker: ToolInvoker) -> None:
    healthy = await serve(ok)
    result = await call(invoker, healthy.url("/lookup"), method="GET",
                        arguments={"tradeId": "T-9", "deep": True})
    assert result.succeeded
    assert healthy.requests[0].query == {"tradeId": "T-9", "deep": "true"}


async def test_slow_tool_times_out_and_is_retried(serve: Serve, invoker: ToolInvoker) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    endpoint = await serve(slow)
    loop = asyncio.get_running_loop()
    began = loop.time()
    result = await call(invoker, endpoint.url(), timeoutSeconds=0.2, maxRetries=1)
    assert (result.status, result.attempts, result.http_status) == ("failed", 2, None)
    assert result.error == "timed out after 0.2s"
    assert loop.time() - began < 2
    assert len(endpoint.requests) == 2


async def test_500_then_success_is_retried_with_the_same_idempotency_key(
        serve: Serve, invoker: ToolInvoker) -> None:
    calls = 0

    async def flaky(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.json_response({"error": "boom"}, status=500)
        return web.json_response({"done": True})

    endpoint = await serve(flaky)
    result = await call(invoker, endpoint.url(), maxRetries=2)
    assert (result.status, result.attempts, result.response) == ("succeeded", 2, {"done": True})
    assert [r.headers["Idempotency-Key"] for r in endpoint.requests] == [KEY, KEY]


async def test_always_500_fails_after_every_retry(serve: Serve, invoker: ToolInvoker) -> None:
    async def down(request: web.Request) -> web.Response:
        return web.json_response({"error": "down", "password": "p"}, status=500)

    endpoint = await serve(down)
    result = await call(invoker, endpoint.url(), maxRetries=2)
    assert (result.status, result.attempts, result.http_status) == ("failed", 3, 500)
    assert result.error == "HTTP 500"
    assert result.response == {"error": "down", "password": "***"}
    assert len(endpoint.requests) == 3


async def test_4xx_is_not_retried(serve: Serve, invoker: ToolInvoker) -> None:
    async def bad(request: web.Request) -> web.Response:
        return web.json_response({"error": "no such trade"}, status=404)

    endpoint = await serve(bad)
    result = await call(invoker, endpoint.url(), maxRetries=3)
    assert (result.status, result.attempts, result.error) == ("failed", 1, "HTTP 404")
    assert len(endpoint.requests) == 1


async def test_connection_refused_is_retried(serve: Serve, invoker: ToolInvoker) -> None:
    gone = await serve(ok)
    url = gone.url()
    await gone.server.close()
    result = await call(invoker, url, maxRetries=1)
    assert (result.status, result.attempts) == ("failed", 2)
    assert result.error is not None and result.error.startswith("connection failed")


async def test_schema_invalid_arguments_fail_with_the_json_path(
        serve: Serve, invoker: ToolInvoker) -> None:
    healthy = await serve(ok)
    schema = {"type": "object", "required": ["tradeId"],
              "properties": {"tradeId": {"type": "string"}}}
    result = await call(invoker, healthy.url(), arguments={"tradeId": None},
                        inputSchema=schema, maxRetries=3)
    assert (result.status, result.attempts) == ("failed", 0)
    assert result.error == "invalid arguments: $.tradeId: None is not of type 'string'"
    assert healthy.requests == []


async def test_host_not_on_the_allow_list_is_refused(serve: Serve, invoker: ToolInvoker) -> None:
    healthy = await serve(ok)
    policy = replace(LOCAL, allowed_hosts=("api.example.com",))
    result = await call(invoker, healthy.url(), policy=policy)
    assert (result.status, result.attempts) == ("failed", 0)
    assert result.error == "refused: host 127.0.0.1 is not on the tenant's allow list"
    assert healthy.requests == []


async def test_plain_http_is_refused_by_default(serve: Serve, invoker: ToolInvoker) -> None:
    healthy = await serve(ok)
    policy = ToolPolicy(allowed_hosts=("127.0.0.1",), allow_private=True)
    result = await call(invoker, healthy.url(), policy=policy)
    assert result.error == "refused: scheme http is not allowed (allowed: https)"
    assert healthy.requests == []


async def test_loopback_after_real_dns_resolution_is_refused(
        serve: Serve, invoker: ToolInvoker) -> None:
    healthy = await serve(ok)
    policy = ToolPolicy(allowed_hosts=("localhost",), https_only=False)
    result = await call(invoker, healthy.url(host="localhost"), policy=policy)
    assert result.status == "failed"
    assert result.error is not None
    assert "localhost resolves to a forbidden address" in result.error
    assert "loopback" in result.error
    assert healthy.requests == []


async def test_allow_private_needs_an_exact_allow_list_entry(serve: Serve) -> None:
    healthy = await serve(ok)
    dns = static_dns({"api.tools.test": ["127.0.0.1"]})
    async with ToolInvoker(resolve=dns, network=OPEN_NETWORK) as tools:
        policy = ToolPolicy(allowed_hosts=("*.tools.test",), https_only=False, allow_private=True)
        wildcard = await call(tools, healthy.url(host="api.tools.test"), policy=policy)
        exact = await call(tools, healthy.url(host="api.tools.test"),
                           policy=replace(policy, allowed_hosts=("api.tools.test",)))
    assert wildcard.error == ("refused: host api.tools.test resolves to a forbidden address: "
                              "127.0.0.1 is a loopback address")
    assert exact.succeeded
    assert healthy.requests[0].headers["Host"] == f"api.tools.test:{healthy.port}"


@pytest.mark.parametrize("address", ["169.254.169.254", "[fd00:ec2::254]"])
async def test_cloud_metadata_is_refused_even_when_listed(invoker: ToolInvoker,
                                                          address: str) -> None:
    policy = ToolPolicy(allowed_hosts=(address.strip("[]"),), https_only=False, allow_private=True)
    result = await call(invoker, f"http://{address}/latest/meta-data/", policy=policy)
    assert result.error is not None and "cloud metadata address" in result.error
    assert result.attempts == 0


async def test_redirect_to_127_0_0_1_is_refused_when_not_allowed(
        serve: Serve) -> None:
    target = await serve(ok)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(target.url("/ok"))

    redirector = await serve(redirect)
    dns = static_dns({"tools.test": ["127.0.0.1"]})
    policy = ToolPolicy(allowed_hosts=("tools.test",), https_only=False, allow_private=True)
    async with ToolInvoker(resolve=dns, network=OPEN_NETWORK) as tools:
        result = await call(tools, redirector.url(host="tools.test"), policy=policy)
    assert (result.status, result.attempts) == ("failed", 1)
    assert result.error == "refused: host 127.0.0.1 is not on the tenant's allow list"
    assert len(redirector.requests) == 1 and target.requests == []


async def test_redirect_is_resolved_and_vetted_again(serve: Serve) -> None:
    target = await serve(ok)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(target.url("/ok", host="internal.tools.test"))

    redirector = await serve(redirect)
    dns = static_dns({"api.tools.test": ["127.0.0.1"], "internal.tools.test": ["127.0.0.1"]})
    policy = ToolPolicy(allowed_hosts=("api.tools.test", "*.tools.test"), https_only=False,
                        allow_private=True)
    async with ToolInvoker(resolve=dns, network=OPEN_NETWORK) as tools:
        result = await call(tools, redirector.url(host="api.tools.test"), policy=policy)
    assert result.error == ("refused: host internal.tools.test resolves to a forbidden address: "
                            "127.0.0.1 is a loopback address")
    assert target.requests == []


async def test_allowed_redirects_are_followed_and_drop_credentials_off_origin(
        serve: Serve, invoker: ToolInvoker) -> None:
    target = await serve(ok)

    async def redirect(request: web.Request) -> web.Response:
        if request.path == "/start":
            raise web.HTTPSeeOther("/same-origin")
        raise web.HTTPTemporaryRedirect(target.url("/final"))

    redirector = await serve(redirect)
    result = await call(invoker, redirector.url("/start"),
                        auth={"type": "bearer", "secretRef": "OMS_TOKEN"})
    assert result.succeeded and result.response["path"] == "/final"
    first, second = redirector.requests
    assert (first.method, second.method, second.body) == ("POST", "GET", None)
    assert second.headers["Authorization"] == f"Bearer {SECRET}"
    [final] = target.requests
    assert "Authorization" not in final.headers
    assert final.headers["Idempotency-Key"] == KEY


async def test_more_than_three_redirects_are_refused(serve: Serve, invoker: ToolInvoker) -> None:
    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/again")

    endpoint = await serve(loop)
    result = await call(invoker, endpoint.url(), maxRetries=2)
    assert result.error == "refused: more than 3 redirects"
    assert (result.attempts, len(endpoint.requests)) == (1, 4)


async def test_huge_streamed_body_stops_at_the_cap(serve: Serve, invoker: ToolInvoker) -> None:
    sent = 0

    async def huge(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse()
        response.content_type = "application/json"
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            for _ in range(64):  # 4 MiB, chunked: no Content-Length to trust
                await response.write(chunk)
                sent += len(chunk)
        except ConnectionError:
            pass
        return response

    endpoint = await serve(huge)
    result = await call(invoker, endpoint.url(), maxRetries=2)
    assert (result.status, result.attempts) == ("failed", 1)
    assert result.error == "response too large (over 1048576 bytes)"
    assert len(endpoint.requests) == 1


async def test_declared_content_length_over_the_cap_is_not_read(
        serve: Serve, invoker: ToolInvoker) -> None:
    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"y" * 5000, content_type="text/plain")

    endpoint = await serve(big)
    result = await call(invoker, endpoint.url(), policy=replace(LOCAL, max_response_bytes=4096))
    assert result.error == "response too large (over 4096 bytes)"
    small = await call(invoker, endpoint.url(), policy=replace(LOCAL, max_response_bytes=5000))
    assert small.succeeded and small.response == "y" * 5000


async def test_circuit_opens_after_consecutive_failures_and_half_opens(serve: Serve) -> None:
    async def down(request: web.Request) -> web.Response:
        return web.Response(status=503)

    endpoint = await serve(down)
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, reset_seconds=30, clock=lambda: now[0])
    async with ToolInvoker(breaker=breaker, backoff_seconds=0.01, network=OPEN_NETWORK) as tools:
        first = await call(tools, endpoint.url())
        second = await call(tools, endpoint.url())
        blocked = await call(tools, endpoint.url())
        other_tenant = await tools.invoke(
            tenant_id="globex", tool_name="oms", tool=make_tool(endpoint.url()),
            arguments={}, idempotency_key=KEY, policy=LOCAL)
        now[0] = 31.0
        trial = await call(tools, endpoint.url())
        after_trial = await call(tools, endpoint.url())
    assert [first.error, second.error] == ["HTTP 503", "HTTP 503"]
    assert (blocked.error, blocked.attempts) == ("circuit open for tool oms", 0)
    assert other_tenant.error == "HTTP 503"
    assert trial.error == "HTTP 503" and trial.attempts == 1
    assert after_trial.error == "circuit open for tool oms"
    assert len(endpoint.requests) == 4


async def test_pinned_addresses_defeat_dns_rebinding(serve: Serve) -> None:
    healthy = await serve(ok)
    lookups: list[str] = []
    answers = iter([["127.0.0.1"], ["169.254.169.254"], ["169.254.169.254"]])

    async def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    policy = ToolPolicy(allowed_hosts=("api.tools.test",), https_only=False, allow_private=True)
    async with ToolInvoker(resolve=rebinding, network=OPEN_NETWORK) as tools:
        result = await call(tools, healthy.url(host="api.tools.test"), policy=policy)
    assert result.succeeded
    assert lookups == ["api.tools.test"]
    assert len(healthy.requests) == 1


async def test_retries_stop_when_the_call_runs_out_of_time(serve: Serve) -> None:
    """timeoutSeconds × (maxRetries + 1) is bounded: a black hole does not hold the call for
    every retry's full timeout."""
    async def black_hole(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.json_response({})

    endpoint = await serve(black_hole)
    async with ToolInvoker(network=OPEN_NETWORK, backoff_seconds=0.01, max_call_seconds=0.5) as bounded:
        result = await call(bounded, endpoint.url(), timeoutSeconds=0.3, maxRetries=10)
    assert result.status == "failed" and result.attempts in (1, 2), result  # 0.5 s holds two 0.3 s tries at most
    assert result.error is not None and "no further retries: a call ends within 0.5s" in result.error
    assert len(endpoint.requests) == result.attempts
