"""The record of the events topic: a transition, and the earlier release's events read as transitions."""

from datetime import UTC, datetime

import pytest

from sentinai.core.actor import Actor
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.transition import UndecodableTransition, decode, transition

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
ACTOR = Actor(type="agent", id="decide")


def _event(event_type: str, version: int | None) -> EventEnvelope:
    return EventEnvelope.create(event_type=event_type, tenant_id="t", exception_id="E-1", occurred_at=NOW,
                                actor=ACTOR, payload={"n": version}, version=version)


def test_a_transition_round_trips_with_its_events_in_order() -> None:
    events = [_event("A", 1), _event("B", 2), _event("C", None)]
    record = transition(tenant_id="t", exception_id="E-1", events=events, snapshot={"status": "OPEN", "version": 2},
                        source=("in", 3, 42))
    back = decode(record.encode())
    assert back == record
    assert [e.event_type for e in back.events] == ["A", "B", "C"]
    assert back.source is not None and (back.source.topic, back.source.partition, back.source.offset) == ("in", 3, 42)
    assert back.schema_version == 2


def test_an_integer_beyond_64_bits_stays_exact() -> None:
    """The input limits accept integers of up to 40 digits; the sink stores what it decodes."""
    big = 10**39 + 7
    event = EventEnvelope.create(event_type="A", tenant_id="t", exception_id="E-1", occurred_at=NOW, actor=ACTOR,
                                 payload={"account": big, "small": -(2**63) - 1}, version=1)
    back = decode(transition(tenant_id="t", exception_id="E-1", events=[event],
                             snapshot={"raw_payload": {"account": big}}).encode())
    assert back.events[0].payload == {"account": big, "small": -(2**63) - 1}
    assert back.exception == {"raw_payload": {"account": big}}


def test_the_id_depends_on_the_input_not_on_what_followed() -> None:
    first = transition(tenant_id="t", exception_id="E-1", events=[_event("A", 1)])
    more = transition(tenant_id="t", exception_id="E-1", events=[_event("A", 1), _event("Backpressure", None)])
    other = transition(tenant_id="t", exception_id="E-1", events=[_event("B", 1)])
    assert first.transition_id == more.transition_id != other.transition_id


def test_an_event_of_schema_version_1_is_read_as_a_transition_of_one() -> None:
    old = (b'{"event_id":"e1","event_type":"TriageCompleted","tenant_id":"t","exception_id":"E-1",'
           b'"occurred_at":"2026-11-24T09:30:00+00:00","actor":{"type":"agent","id":"decide"},"schema_version":1,'
           b'"payload":{"decision":{"stage":"triage"},"exception":{"status":"TRIAGED","version":2}}}')
    record = decode(old)
    assert (record.tenant_id, record.exception_id, record.transition_id) == ("t", "E-1", "e1")
    assert record.exception == {"status": "TRIAGED", "version": 2}
    assert [(e.event_id, e.version, e.payload) for e in record.events] == [("e1", 2, {"decision": {"stage": "triage"}})]


@pytest.mark.parametrize("data", [None, b"", b"not json", b"[1]", b'{"transition_id": 3}', b'{"payload": 1}'])
def test_anything_else_is_undecodable(data: bytes | None) -> None:
    with pytest.raises(UndecodableTransition):
        decode(data)
