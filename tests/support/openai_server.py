"""A local OpenAI-compatible chat completions server (aiohttp) for tests: no network, no mocks.

Each model name is a scenario: `server.script(model, Reply(...))` says what the server answers
to requests for that model (content, HTTP status, delay, usage or none). Every request is
recorded (`server.requests`), so tests can assert on what a real client really sent.
Unknown models get a 404 in OpenAI's error shape.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `content=None` with status 200 sends an empty message."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    usage: bool = True
    refusal: str | None = None

    @classmethod
    def json(cls, data: Any, **kwargs: Any) -> Reply:
        return cls(content=json.dumps(data), **kwargs)


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str = field(repr=False)

    @property
    def model(self) -> str:
        return str(self.body.get("model"))

    def message(self, role: str) -> str:
        return next(str(m["content"]) for m in self.body["messages"] if m["role"] == role)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class OpenAIServer:
    def __init__(self) -> None:
        self.scripts: dict[str, Reply] = {}
        self.requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, model: str, reply: Reply) -> None:
        self.scripts[model] = reply

    def requests_for(self, model: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.model == model]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release slow answers still waiting, then close; safe to call twice."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OpenAIServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def _complete(self, request: web.Request) -> web.Response:
        raw = await request.text()
        body = json.loads(raw)
        self.requests.append(RecordedRequest(request.path, dict(request.headers), body, raw))
        model = str(body.get("model"))
        reply = self.scripts.get(model)
        if reply is None:
            return self._error(404, f"The model `{model}` does not exist", "invalid_request_error")
        if reply.delay:
            try:
                await asyncio.wait_for(self._stopping.wait(), reply.delay)
            except TimeoutError:
                pass
        if reply.status != 200:
            return self._error(reply.status, "scripted failure", "server_error")
        return web.json_response(self._completion(body, model, reply))

    def _completion(self, body: dict[str, Any], model: str, reply: Reply) -> dict[str, Any]:
        prompt = sum(_tokens(str(m.get("content", ""))) for m in body.get("messages", []))
        completion = _tokens(reply.content or "")
        answer: dict[str, Any] = {
            "id": f"chatcmpl-test-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": reply.refusal},
                "finish_reason": "stop",
                "logprobs": None,
            }],
        }
        if reply.usage:
            answer["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion,
                               "total_tokens": prompt + completion}
        return answer

    @staticmethod
    def _error(status: int, message: str, kind: str) -> web.Response:
        return web.json_response({"error": {"message": message, "type": kind, "param": None,
                                            "code": None}}, status=status)
