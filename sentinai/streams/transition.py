"""The record of ``sentinai.events``: one transition per handled input per exception.

A transition carries, all or nothing, what one input (a raw exception, an approval, a step
completion, a tool result, a timer) did to one exception: the ordered events, the exception's
snapshot after them (once; None when the exception row does not change), where the input came
from, and a deterministic id. Events that must be seen together travel in one Kafka record, the
only atomic unit a producer has without transactions, so no consumer ever sees half a step.

The sink still reads the records of the earlier release, one event per record with the
exception's snapshot in ``payload["exception"]`` (schema version 1): :func:`decode` turns each into
a transition of one event, so a worker upgraded over an old events topic loses nothing.

Encoded with orjson (the standard library for what it refuses) and decoded with the standard
library — orjson would read an integer beyond 64 bits as a float, and the input limits accept up
to 40 digits — then by hand (checked field by field): a tenth of pydantic's cost per record on this
path, which every exception takes twice (out of the worker, into the sink).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sentinai.core.actor import Actor
from sentinai.core.ids import event_id_for
from sentinai.streams.codec import dumps
from sentinai.streams.envelope import EventEnvelope

SCHEMA_VERSION = 2
_ACTOR_TYPES = frozenset({"agent", "user", "system"})


@dataclass(frozen=True, slots=True)
class Source:
    """The input a transition handled (topic, partition, offset)."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Transition:
    transition_id: str
    tenant_id: str
    exception_id: str | None
    events: list[EventEnvelope]
    exception: dict[str, Any] | None = None
    source: Source | None = None
    schema_version: int = SCHEMA_VERSION

    def encode(self) -> bytes:
        source = self.source
        return dumps({
            "schema_version": self.schema_version, "transition_id": self.transition_id, "tenant_id": self.tenant_id,
            "exception_id": self.exception_id,
            "source": None if source is None else {"topic": source.topic, "partition": source.partition,
                                                   "offset": source.offset},
            "events": [e.as_json() for e in self.events], "exception": self.exception})


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
    """A transition of ``events`` (at least one)."""
    return Transition(transition_id_for(tenant_id, exception_id, events), tenant_id, exception_id, list(events),
                      snapshot, None if source is None else Source(*source))


def decode(data: bytes | None) -> Transition:
    """A transition from its bytes; an event record of schema version 1 becomes a transition of one."""
    if not data:
        raise UndecodableTransition("the record has no value")
    try:
        raw = json.loads(data)  # not orjson: it reads an integer beyond 64 bits as a float
    except (ValueError, RecursionError) as err:
        raise UndecodableTransition(f"not JSON: {err}") from None
    if not isinstance(raw, dict):
        raise UndecodableTransition("not a JSON object")
    try:
        return _transition(raw) if "transition_id" in raw else _from_version_1(raw)
    except (KeyError, TypeError, ValueError) as err:
        raise UndecodableTransition(f"not a transition: {type(err).__name__}: {err}") from None


def _text(value: Any, name: str) -> str:
    if type(value) is not str:
        raise TypeError(f"{name}: expected a string, got {value!r:.80}")
    return value


@functools.lru_cache(maxsize=4096)
def _actor(kind: str, ident: str) -> Actor:
    """Actors repeat (the agents, a few users): one object each."""
    return Actor(type=kind, id=ident)  # type: ignore[arg-type]


def _event(raw: Any, *, version: Any = None) -> EventEnvelope:
    if type(raw) is not dict:
        raise TypeError("an event must be an object")
    actor = raw["actor"]
    if type(actor) is not dict or actor.get("type") not in _ACTOR_TYPES:
        raise TypeError(f"actor: expected {{type: agent|user|system, id}}, got {actor!r:.80}")
    payload = raw.get("payload", {})
    if type(payload) is not dict:
        raise TypeError("payload: expected an object")
    at = datetime.fromisoformat(_text(raw["occurred_at"], "occurred_at"))
    version = raw.get("version") if version is None else version
    return EventEnvelope(_text(raw["event_id"], "event_id"), _text(raw["event_type"], "event_type"),
                         at if at.tzinfo else at.replace(tzinfo=UTC),
                         _actor(actor["type"], _text(actor.get("id"), "actor.id")),
                         payload, version if type(version) is int else None)


def _transition(raw: dict[str, Any]) -> Transition:
    events = raw["events"]
    if type(events) is not list or not events:
        raise TypeError("events: expected a non-empty list")
    snapshot, source, exception_id = raw.get("exception"), raw.get("source"), raw.get("exception_id")
    if snapshot is not None and type(snapshot) is not dict:
        raise TypeError("exception: expected an object or null")
    if exception_id is not None:
        _text(exception_id, "exception_id")
    if source is not None:
        source = Source(_text(source["topic"], "source.topic"), int(source["partition"]), int(source["offset"]))
    return Transition(_text(raw["transition_id"], "transition_id"), _text(raw["tenant_id"], "tenant_id"),
                      exception_id, [_event(e) for e in events], snapshot, source,
                      int(raw.get("schema_version") or SCHEMA_VERSION))


def _from_version_1(old: dict[str, Any]) -> Transition:
    if type(old.get("payload")) is not dict:
        raise TypeError("neither a transition nor an event of schema version 1")
    payload = dict(old["payload"])
    snapshot = payload.pop("exception", None)
    version = snapshot.get("version") if isinstance(snapshot, dict) else None
    event = _event({**old, "payload": payload}, version=version)
    return Transition(event.event_id, _text(old["tenant_id"], "tenant_id"),
                      _text(old["exception_id"], "exception_id"), [event], snapshot, schema_version=1)
