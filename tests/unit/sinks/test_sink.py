"""The sink with batches in flight: batches acknowledged in order, only once stored."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sentinai.core.actor import Actor
from sentinai.sinks.backpressure import SinkGate
from sentinai.sinks.errors import BatchRejected, SinkUnavailable
from sentinai.sinks.sink import Sink
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.transition import Transition, transition


def message(offset: int, *, value: bytes | None = None) -> SimpleNamespace:
    envelope = EventEnvelope.create(event_type="ExceptionIngested", tenant_id="t", exception_id=f"E{offset}",
                                    occurred_at=datetime(2026, 11, 25, tzinfo=UTC),
                                    actor=Actor(type="agent", id="intake"), payload={})
    record = transition(tenant_id="t", exception_id=f"E{offset}", events=[envelope])
    return SimpleNamespace(offset=offset, value=record.encode() if value is None else value)


class Stream:
    """The feed's side: batches submitted in order, acknowledgements recorded in order."""

    def __init__(self, batches: list[list[SimpleNamespace]]) -> None:
        self.batches = batches
        self.acked: list[int] = []

    async def acknowledge(self, batch: Sequence[SimpleNamespace]) -> None:
        self.acked.extend(record.offset for record in batch)


class Writer:
    """Takes ``delays[first offset]`` seconds per batch; fails the first ``failures[...]`` attempts.

    ``acked_when_stored`` notes, as each batch is stored, what the stream had acknowledged then.
    """

    def __init__(self, delays: dict[str, float], failures: dict[str, int] | None = None,
                 refused: set[str] | None = None, stream: Stream | None = None) -> None:
        self.delays = delays
        self.failures = dict(failures or {})
        self.refused = refused or set()
        self.stored: list[str] = []
        self.stream = stream
        self.acked_when_stored: dict[str, list[int]] = {}

    async def write_batch(self, transitions: Sequence[Transition]) -> Any:
        first = transitions[0].exception_id
        await asyncio.sleep(self.delays.get(first, 0.0))
        if self.failures.get(first, 0) > 0:
            self.failures[first] -= 1
            raise SinkUnavailable("database down")
        refused = [t.transition_id for t in transitions if t.exception_id in self.refused]
        if refused:
            raise BatchRejected("refused", event_ids=refused)
        self.stored.extend(t.exception_id for t in transitions)
        if self.stream is not None:
            self.acked_when_stored[first] = list(self.stream.acked)
        return None


async def feed(stream: Stream, writer: Writer, *, in_flight: int, until: int,
               dead: list[int] | None = None) -> SinkGate:
    gate = SinkGate(high_water=1_000)
    gate.published(sum(len(b) for b in stream.batches))

    async def dead_letter(record: SimpleNamespace, error: BaseException) -> None:
        (dead if dead is not None else []).append(record.offset)

    sink = Sink(writer=writer, gate=gate, dead_letter=dead_letter, acknowledge=stream.acknowledge,  # type: ignore[arg-type]
                in_flight=in_flight)

    async def consume() -> None:
        for batch in stream.batches:
            await sink.submit(batch)
        await asyncio.Event().wait()  # a live feed: no more input yet

    task = asyncio.create_task(consume())
    try:
        for _ in range(200):
            if len(stream.acked) >= until:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"{len(stream.acked)} of {until} records acknowledged after 10 s: {stream.acked}")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sink.cancel()
    return gate


async def test_a_later_batch_written_first_is_acknowledged_after_the_earlier_one() -> None:
    stream = Stream([[message(0), message(1)], [message(2), message(3)]])
    writer = Writer(delays={"E0": 0.3, "E2": 0.0})
    gate = await feed(stream, writer, in_flight=2, until=4)
    assert writer.stored[:2] == ["E2", "E3"]  # both batches were being written at once
    assert stream.acked == [0, 1, 2, 3]
    assert gate.pending == 0


async def test_a_failing_batch_holds_back_the_acknowledgement_of_the_next_until_it_is_stored() -> None:
    stream = Stream([[message(0), message(1)], [message(2), message(3)]])
    writer = Writer(delays={}, failures={"E0": 2}, stream=stream)  # retried with backoff: 0.1 s, then 0.2 s
    await feed(stream, writer, in_flight=2, until=4)
    assert writer.stored == ["E2", "E3", "E0", "E1"]  # the second batch was stored while the first failed
    assert writer.acked_when_stored == {"E2": [], "E0": []}  # ... and not acknowledged before the first
    assert stream.acked == [0, 1, 2, 3]


async def test_undecodable_and_refused_events_go_to_the_dead_letters_and_the_rest_is_acknowledged() -> None:
    stream = Stream([[message(0, value=b"not json"), message(1)], [message(2), message(3)]])
    writer = Writer(delays={}, refused={"E3"})
    dead: list[int] = []
    await feed(stream, writer, in_flight=2, until=4, dead=dead)
    assert sorted(dead) == [0, 3]
    assert sorted(writer.stored) == ["E1", "E2"]
    assert stream.acked == [0, 1, 2, 3]


async def test_one_in_flight_writes_batch_after_batch() -> None:
    stream = Stream([[message(0), message(1)], [message(2), message(3)]])
    writer = Writer(delays={"E0": 0.2})
    await feed(stream, writer, in_flight=1, until=4)
    assert writer.stored == ["E0", "E1", "E2", "E3"]
    assert stream.acked == [0, 1, 2, 3]
