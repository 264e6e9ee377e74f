"""A real HTTP webhook receiver for tests: records every POST; paths under /broken answer 500."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sentinai.embedded.process import free_port
from tests.support.background import serving_app


@dataclass
class WebhookServer:
    port: int
    calls: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str = "/hook") -> list[dict[str, Any]]:
        return [c for c in self.calls if c["path"] == path]

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append({"path": request.path, "idempotency_key": request.headers.get("Idempotency-Key"),
                           "body": await request.json()})
        if request.path.startswith("/broken"):
            return web.json_response({"error": "down for maintenance"}, status=500)
        return web.json_response({"ok": True})


@contextmanager
def running_webhook_server() -> Iterator[WebhookServer]:
    """Serve on a free loopback port in a background thread; always stopped."""
    server = WebhookServer(port=free_port())
    app = web.Application()
    app.router.add_post("/{tail:.*}", server.handle)
    with serving_app(app, server.port):
        yield server
