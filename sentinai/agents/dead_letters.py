"""Dead letters: parked on the DLQ topic with their error, then recorded in Postgres
(``dead_letters``) so operators can see and replay them."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
from faust.types import EventT, StreamT

from sentinai.framework.acking import events_acked_when_handled
from sentinai.metrics import DLQ_MESSAGES
from sentinai.sinks.dead_letters import record_dead_letter
from sentinai.sinks.retry import retry_forever
from sentinai.streams.direct_topic import DirectTopic
from sentinai.streams.dlq import (
    LETTER_HEADER_PREFIXES,
    PREFIX,
    STAGE,
    dlq_headers,
    header_pairs,
    headers_dict,
    kept_headers,
    kept_key,
    kept_value,
)
from sentinai.streams.key_tenant import letter_tenant

log = logging.getLogger(__name__)


async def dead_letter(dlq: DirectTopic, message: Any, error: BaseException, *, stage: str) -> Awaitable[Any]:
    """Park the original message (key, value, partition) on the DLQ with Kafka Connect's error headers.

    ``message`` is faust's ``event.message`` or an aiokafka consumer record (both carry the topic,
    partition, offset and the raw key and value). A value too large for the DLQ is cut
    (:func:`sentinai.streams.dlq.kept_value`): the letter is never lost for its size. Returns the
    send's delivery future: a caller that commits offsets itself (the sink feed) awaits it before
    committing past the message.
    """
    key, key_cut = kept_key(message.key if isinstance(message.key, bytes) else None)
    tenant = letter_tenant(key)
    value, cut = kept_value(message.value if isinstance(message.value, bytes) else None)
    headers = kept_headers(getattr(message, "headers", None)) + dlq_headers(
        topic=message.topic, partition=message.partition, offset=message.offset, error=error, stage=stage,
        tenant_id=tenant) + cut + key_cut
    delivery = await dlq.send(key=key, value=value, partition=message.partition, headers=headers)
    DLQ_MESSAGES.labels(stage).inc()
    return delivery


async def handled_or_dead_lettered(handle: Callable[[EventT], Awaitable[None]], event: EventT, dlq: DirectTopic,
                                   *, stage: str, traceback: bool = False) -> None:
    """Handle ``event``; an input the handler refuses or fails on goes to the DLQ with the reason,
    where an operator sees and can replay it (the agent goes on with the next input)."""
    try:
        await handle(event)
    except asyncio.CancelledError:
        raise
    except Exception as err:
        log.warning("%s: input at %s:%s:%s sent to the DLQ: %s", stage, event.message.topic,
                    event.message.partition, event.message.offset, err, exc_info=traceback)
        await dead_letter(dlq, event.message, err, stage=stage)


def _text(value: str) -> str:
    """PostgreSQL text and JSONB cannot hold NUL characters; a dead letter's key may have them."""
    return value.replace("\x00", "\ufffd")


def _int(value: str | None) -> int:
    try:
        return int(value or -1)
    except ValueError:
        return -1


def _original_headers(headers: object) -> list[list[str]]:
    """The original message's headers the letter carries, as a replay sends them again: in order,
    names repeated, values as bytes (base64), without those the letter added."""
    return [[_text(str(name)), base64.b64encode(value or b"").decode()]
            for name, value in header_pairs(headers) if not str(name).startswith(LETTER_HEADER_PREFIXES)]


async def run_dead_letters(stream: StreamT, *, pool_factory: Callable[[], Awaitable[asyncpg.Pool]]
                           ) -> AsyncIterator[Any]:
    pool = await pool_factory()
    async for event in events_acked_when_handled(stream):
        headers = {_text(name): _text(value) for name, value in headers_dict(event.headers).items()}
        original = _original_headers(event.message.headers)  # event.headers is a dict: one per name
        key = event.key if isinstance(event.key, bytes) else None
        named = letter_tenant(key)
        tenant = headers.get("sentinai.tenant") or (_text(named) if named else None)

        async def store(event: Any = event, headers: dict[str, str] = headers, key: bytes | None = key,
                        tenant: str | None = tenant, original: list[list[str]] = original) -> None:
            await record_dead_letter(
                pool, tenant_id=tenant, source_topic=headers.get(f"{PREFIX}.topic", event.message.topic),
                source_partition=_int(headers.get(f"{PREFIX}.partition")),
                source_offset=_int(headers.get(f"{PREFIX}.offset")), stage=headers.get(STAGE, "unknown"),
                error_class=headers.get(f"{PREFIX}.exception.class.name", "unknown"),
                error_message=headers.get(f"{PREFIX}.exception.message", ""), headers=headers,
                key=key, value=event.value if isinstance(event.value, bytes) else None, original_headers=original)

        await retry_forever(store, what="dead letter write")
        yield event.message.offset
