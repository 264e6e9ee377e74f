"""A minimal SSE reader for tests."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class SseEvent:
    event: str
    data: str
    id: str | None

    def json(self) -> Any:
        return json.loads(self.data)


async def read_events(resp: aiohttp.ClientResponse, *, want: int, event: str = "decision",
                      timeout: float = 15.0) -> list[SseEvent]:
    """Read until ``want`` events of type ``event`` arrived (others, e.g. hello, are skipped)."""
    out: list[SseEvent] = []
    fields: dict[str, str] = {}
    data: list[str] = []

    async def run() -> None:
        nonlocal fields, data
        while len(out) < want:
            raw = await resp.content.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            if line == "":
                if data:
                    ev = SseEvent(event=fields.get("event", "message"), data="\n".join(data), id=fields.get("id"))
                    if ev.event == event:
                        out.append(ev)
                fields, data = {}, []
            elif line.startswith(":"):
                continue
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    data.append(value)
                else:
                    fields[name] = value

    try:
        await asyncio.wait_for(run(), timeout)
    except TimeoutError:
        pass
    return out
