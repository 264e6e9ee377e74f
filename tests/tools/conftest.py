"""Real local HTTP servers (aiohttp, free ports, always stopped) as tool endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sentinai.core.packs import Tool
from sentinai.tools.network import NetworkPolicy
from sentinai.tools.policy import ToolPolicy
from sentinai.tools.resolver import HostResolver

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LOCAL = ToolPolicy(allowed_hosts=("127.0.0.1",), https_only=False, allow_private=True)
"""The test policy: plain HTTP to an explicitly allowed 127.0.0.1."""

OPEN_NETWORK = NetworkPolicy(allow_private=True, allow_http=True)
"""A deployment that lets tenants reach local plain-http servers (as these tests' servers are)."""


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Endpoint:
    """A running server: its base URL and every request it received."""

    server: TestServer
    requests: list[Seen] = field(default_factory=list)

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[Endpoint]]]:
    """Start a server whose every path is answered by `handler`; stopped after the test."""
    started: list[TestServer] = []

    async def start(handler: Handler) -> Endpoint:
        endpoint: Endpoint

        async def recording(request: web.Request) -> web.StreamResponse:
            body = await request.json() if request.can_read_body else None
            endpoint.requests.append(Seen(request.method, request.path, dict(request.query),
                                          dict(request.headers), body))
            return await handler(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", recording)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        started.append(server)
        endpoint = Endpoint(server)
        return endpoint

    yield start
    for server in started:
        await server.close()


def static_dns(table: Mapping[str, list[str]], calls: list[str] | None = None) -> HostResolver:
    """A fixed host table (like /etc/hosts) as the invoker's DNS; records lookups in `calls`."""

    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise OSError(f"unknown host {host}")
        return list(table[host])

    return resolve


def make_tool(url: str, **fields: Any) -> Tool:
    return Tool.model_validate({"endpoint": url, "timeoutSeconds": 2, "maxRetries": 0, **fields})


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "token": "tok-from-server", "path": request.path})
