"""The record of ``sentinai.events``: one transition per handled input per exception.

A transition carries, all or nothing, what one input (a raw exception, an approval, a step
completion, a tool result, a timer) did to one exception: the ordered events, the exception's
snapshot after them (once; None when the exception row does not change), where the input came
from, and a deterministic id. Events that must be seen together travel in one Kafka record, the
only atomic unit a producer has without transactions, so no consumer ever sees half a step.

The sink still reads the records of the earlier release, one event per record with the
exception's snapshot in ``payload["exception"]`` (schema version 1): :func:`decode` turns each into
a transition of one event, so a worker upgraded over an old events topic loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from sentinai.streams.envelope import Actor, EventEnvelope, event_id_for

SCHEMA_VERSION = 2


class Source(BaseModel):
    """The input a transition handled (topic, partition, offset)."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


class Transition(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    transition_id: str
    tenant_id: str
    exception_id: str | None
    source: Source | None = None
    events: list[EventEnvelope]
    exception: dict[str, Any] | None = None

    def encode(self) -> bytes:
        return self.model_dump_json().encode()


class UndecodableTransition(ValueError):
    """The bytes are not a transition, nor an event of the earlier release."""


def transition_id_for(tenant_id: str, exception_id: str | None, events: Sequence[EventEnvelope]) -> str:
    """Deterministic, from the first event's id: every input's first event is its own (the
    exception normalized, the approval granted, the tool result of that attempt…), so a replay
    of the input gets the same id even when what follows differs (a backpressure change, a
    model's explanation)."""
    return event_id_for(tenant_id, exception_id or "", "transition", events[0].event_id)


def transition(*, tenant_id: str, exception_id: str | None, events: Sequence[EventEnvelope],
               snapshot: dict[str, Any] | None = None,
               source: tuple[str, int, int] | None = None) -> Transition:
    """A transition of ``events`` (at least one), built without re-validating its parts."""
    return Transition.model_construct(
        schema_version=SCHEMA_VERSION,
        transition_id=transition_id_for(tenant_id, exception_id, events),
        tenant_id=tenant_id, exception_id=exception_id,
        source=Source.model_construct(topic=source[0], partition=source[1], offset=source[2]) if source else None,
        events=list(events), exception=snapshot,
    )


def decode(data: bytes | None) -> Transition:
    """A transition from its bytes; an event record of schema version 1 becomes a transition of one."""
    if data is None:
        raise UndecodableTransition("the record has no value")
    try:
        if b'"transition_id"' in data:
            return Transition.model_validate_json(data)
        return _from_version_1(orjson.loads(data))
    except UndecodableTransition:
        raise
    except Exception as err:  # pydantic's ValidationError, orjson's JSONDecodeError, a wrong type
        raise UndecodableTransition(f"not a transition: {err}") from None


def _from_version_1(old: Any) -> Transition:
    if not isinstance(old, dict) or not isinstance(old.get("payload"), dict):
        raise UndecodableTransition("neither a transition nor an event of schema version 1")
    payload = dict(old["payload"])
    snapshot = payload.pop("exception", None)
    version = snapshot.get("version") if isinstance(snapshot, dict) else None
    event = EventEnvelope.model_validate({
        "event_id": old.get("event_id"), "event_type": old.get("event_type"), "occurred_at": old.get("occurred_at"),
        "actor": Actor.model_validate(old.get("actor")), "payload": payload,
        "version": version if type(version) is int else None})
    return Transition(transition_id=event.event_id, tenant_id=old.get("tenant_id"),
                      exception_id=old.get("exception_id"), events=[event], exception=snapshot)
