"""A real HTTP tool endpoint for tests: records every call and answers once per Idempotency-Key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sentinai.embedded.process import free_port
from tests.support.background import serving_app


@dataclass
class ToolServer:
    port: int
    delay: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/reruns"

    @property
    def distinct_keys(self) -> set[str]:
        return {c["idempotency_key"] for c in self.calls}

    async def handle(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key", "")
        self.calls.append({"idempotency_key": key, "body": await request.json(),
                           "authorization": request.headers.get("Authorization")})
        if key not in self.answers:
            await asyncio.sleep(self.delay)
            self.answers[key] = {"rerunId": f"RR-{len(self.answers) + 1}", "status": "QUEUED"}
        return web.json_response(self.answers[key])


@contextmanager
def running_tool_server(*, delay: float = 0.0) -> Iterator[ToolServer]:
    """Serve on a free loopback port in a background thread; always stopped."""
    server = ToolServer(port=free_port(), delay=delay)
    app = web.Application()
    app.router.add_post("/reruns", server.handle)
    with serving_app(app, server.port):
        yield server
