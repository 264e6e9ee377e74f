"""A broker that tests can cut off: its own Tansu, reached only through a TCP proxy the test controls.

Tansu listens on one port and advertises the proxy's port, so every client — bootstrap and the
connections that metadata sends it to — goes through the proxy. :meth:`CuttableBroker.cut` closes
every proxied connection and stops listening (new connections are refused); :meth:`restore`
listens again. Topics live as long as this Tansu process (memory storage).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from sentinai.embedded.broker import EmbeddedBroker
from sentinai.embedded.process import free_port

HOST = "127.0.0.1"


class TcpProxy:
    """Forwards ``HOST:port`` to ``HOST:target_port``; runs on the loop it is started on."""

    def __init__(self, port: int, target_port: int) -> None:
        self.port = port
        self.target_port = target_port
        self.connections = 0
        self._server: asyncio.AbstractServer | None = None
        self._transports: set[Any] = set()

    async def listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, HOST, self.port, reuse_address=True)

    async def cut(self) -> None:
        """Refuse new connections and abort every open one (both sides see a reset)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        if server is not None:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        if self._server is None:  # cut while connecting
            writer.transport.abort()
            upstream_writer.transport.abort()
            return
        self.connections += 1
        pair = {writer.transport, upstream_writer.transport}
        self._transports |= pair
        try:
            await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        finally:
            for transport in pair:
                transport.abort()
            self._transports -= pair

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()


class CuttableBroker:
    """A Tansu broker behind a :class:`TcpProxy`, both owned by this object; use as a context manager."""

    def __init__(self, log_dir: Path) -> None:
        self.broker_port = free_port()
        self.port = free_port()
        self._broker = EmbeddedBroker(host=HOST, port=self.broker_port, advertised_port=self.port,
                                      log_dir=log_dir)
        self.proxy = TcpProxy(self.port, self.broker_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)

    @property
    def url(self) -> str:
        return self._broker.url  # the advertised address: the proxy's

    @property
    def bootstrap(self) -> str:
        return self._broker.bootstrap_servers

    def _run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(30)

    def cut(self) -> None:
        self._run(self.proxy.cut())

    def restore(self) -> None:
        self._run(self.proxy.listen())

    def start(self) -> CuttableBroker:
        self._thread.start()
        try:
            self._broker.start()
            self.restore()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            if self._thread.is_alive():
                with contextlib.suppress(Exception):
                    self._run(self.proxy.cut())
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(5)
        finally:
            self._broker.stop()
            if not self._thread.is_alive():
                self._loop.close()

    def __enter__(self) -> CuttableBroker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def cuttable_broker(log_dir: Path) -> Iterator[CuttableBroker]:
    with CuttableBroker(log_dir) as broker:
        yield broker
