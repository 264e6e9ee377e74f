"""The web process's one aiokafka producer: ingest, commands and DLQ replays.

It starts in the background and keeps retrying, so the web view comes up (and reports the broker
as unreachable on /health) when the broker is down; producing while it is down is a 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaProducer

from sentinai.api.errors import ApiError
from sentinai.streams.client_start import start_client

log = logging.getLogger(__name__)


async def _stopped(producer: AIOKafkaProducer) -> None:
    with contextlib.suppress(Exception):
        await producer.stop()


class CommandProducer:
    def __init__(self, bootstrap: str, *, max_request_size: int = 1_048_576, send_timeout: float = 10.0,
                 ensure_topics: Callable[[], Awaitable[object]] | None = None) -> None:
        """``ensure_topics``: creates the pipeline topics that do not exist, before the first send
        (else the broker's auto-create would make them with its own partition count)."""
        self._bootstrap = bootstrap
        self._ensure_topics = ensure_topics
        self._max_request_size = max_request_size
        self._send_timeout = send_timeout
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self.started = asyncio.Event()

    async def start(self, wait: float = 5.0) -> None:
        """Start connecting; wait up to ``wait`` seconds for the first connection, then go on."""
        self._task = asyncio.create_task(self._connect(), name="sentinai-web-producer")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.started.wait()), wait)

    async def _connect(self) -> None:
        delay = 0.5
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap, acks="all", enable_idempotence=False,
                max_request_size=self._max_request_size, request_timeout_ms=int(self._send_timeout * 1000),
                client_id="sentinai-web",
            )
            try:
                await start_client(producer.start, producer.stop)
                if self._ensure_topics is not None:
                    try:
                        await self._ensure_topics()
                    except Exception as err:  # a count that disagrees, no right to create: workers say it too
                        log.error("web producer: cannot make sure the pipeline topics exist: %s", err)
            except Exception as err:
                log.warning("web producer cannot reach the broker (%s); retrying in %.1fs", err, delay)
                await _stopped(producer)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            except asyncio.CancelledError:  # the web view stops while connecting: close what is open
                await _stopped(producer)
                raise
            self._producer = producer
            self.started.set()
            return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None

    async def send_many(self, topic: str, messages: Sequence[tuple[bytes | None, bytes, list[tuple[str, bytes]] | None]]) -> None:
        """Produce every (key, value, headers) and wait for all acks; 503 when the broker fails."""
        if self._producer is None:
            raise ApiError(503, "broker_unavailable", "the Kafka broker is not reachable; try again later", "broker")
        try:
            futures = [await self._producer.send(topic, value=value, key=key, headers=headers)
                       for key, value, headers in messages]
            await asyncio.wait_for(asyncio.gather(*futures), self._send_timeout)
        except ApiError:
            raise
        except Exception as err:
            log.warning("produce to %s failed: %s", topic, err)
            raise ApiError(503, "broker_unavailable", f"producing to the broker failed: {type(err).__name__}",
                           "broker") from None

    async def send(self, topic: str, key: bytes | None, value: bytes,
                   headers: list[tuple[str, bytes]] | None = None) -> None:
        await self.send_many(topic, [(key, value, headers)])

    async def check(self, timeout: float = 2.0) -> bool:
        """True when the broker answers a metadata request now."""
        if self._producer is None:
            return False
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout)
            return True
        except Exception:
            return False
