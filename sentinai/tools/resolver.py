"""DNS for tool calls: we resolve and vet first, then aiohttp may only connect to what we vetted.

aiohttp would otherwise resolve the host again when it connects, and a DNS answer that changes
between our check and that lookup (DNS rebinding) would bypass the check. `PinnedResolver`
answers aiohttp's lookups from the addresses pinned for the current task and refuses any host
that was not pinned.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

from aiohttp.abc import AbstractResolver, ResolveResult

HostResolver = Callable[[str, int], Awaitable[list[str]]]
"""Resolves (host, port) to IP address strings; the invoker's injectable DNS."""

_NO_PINS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({})
_pins: ContextVar[MappingProxyType[str, tuple[str, ...]]] = ContextVar(
    "sentinai_tool_pins", default=_NO_PINS
)


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver returns for `host`, IPv4 and IPv6, without duplicates."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


class PinnedResolver(AbstractResolver):
    """Answers only for hosts pinned with `pinned()` in the calling task's context."""

    @contextmanager
    def pinned(self, host: str, addresses: tuple[str, ...]) -> Iterator[None]:
        token = _pins.set(MappingProxyType({**_pins.get(), host: addresses}))
        try:
            yield
        finally:
            _pins.reset(token)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = _pins.get().get(host)
        if not addresses:
            raise OSError(f"host {host} was not vetted for this tool call")
        return [
            ResolveResult(hostname=host, host=address, port=port, family=_family(address),
                          proto=0, flags=socket.AI_NUMERICHOST)
            for address in addresses
        ]

    async def close(self) -> None:
        return None
