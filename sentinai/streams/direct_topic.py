"""A topic the worker sends encoded bytes to, straight through faust's producer.

faust's ``Topic.send`` wraps every message in a ``FutureMessage``, runs the (raw) serializers and
every sensor, and registers callbacks: about 40 % of a send's cost in the worker's profile, for
nothing we use (docs/performance.md, "Direct sends"). An exception publishes about fifteen
messages, so the agents send through :class:`DirectTopic` instead.

Delivery is unchanged: the message goes to the same producer, and faust flushes that producer
before it commits input offsets, so an input is never committed before its outputs are delivered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any

from faust.types import TopicT


class DirectTopic:
    """Sends to ``topic``'s name through its app's producer (the app must be started)."""

    def __init__(self, topic: TopicT) -> None:
        self._app = topic.app
        self._name = topic.get_topic_name()

    def get_topic_name(self) -> str:
        return self._name

    async def send(self, *, key: bytes | None, value: bytes, partition: int | None = None,
                   headers: Sequence[tuple[str, bytes]] | None = None) -> Awaitable[Any]:
        """Queue the message; return its delivery future (awaiting it waits for the broker's ack)."""
        return await self._app.producer.send(self._name, key, value, partition, None,
                                             list(headers) if headers is not None else None)
