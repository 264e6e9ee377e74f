"""Benchmark: the Postgres sink against a raw COPY of the same rows.

``python -m sentinai.bench.sink [--n 200000] [--batch-size 500] [--in-flight 2]``

Builds the transitions of N realistic events (20 tenants; each exception goes through its life cycle
in four transitions — decided, approved, tool started, tool finished and resolved — with snapshots,
approvals and tool executions; payloads of ~0.5 KB on average, ~1 KB on ingest), then, each into a
fresh migrated database:

* ``sink``: :class:`~sentinai.sinks.writer.EventWriter` as the sink feed drives it — batches of
  the sink's batch size in transitions, up to the sink's number of batches in flight at once
  (settings ``SINK_BATCH_SIZE`` and ``SINK_IN_FLIGHT``); the events, their duplicate check and the
  three projections, one transaction per batch;
* ``sink, 1 in flight``: the same batches one after the other — for comparison, not the ratio;
* ``sink replay``: the same batches again, one after the other (every event a duplicate), as after
  a consumer rewind;
* ``copy``: one raw asyncpg ``COPY`` of the same rows into ``exception_events`` — the ceiling for
  getting these rows into that table, without duplicate handling or projections.

Both timed paths start from the same transitions and include JSON-encoding the payloads, with the
same encoder (:func:`sentinai.sinks.pool.dumps`, orjson). Uses the server at
``SENTINAI_DATABASE_URL`` when set, otherwise starts an embedded PostgreSQL and stops it on the way
out, error or not.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from sentinai.bench.database import database_server, fresh_database
from sentinai.core.actor import Actor
from sentinai.embedded.process import exit_on_sigterm
from sentinai.settings import load_settings
from sentinai.sinks.pool import dumps, open_pool
from sentinai.sinks.writer import EventWriter
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.transition import Transition, transition

TENANTS = [f"tenant-{i:02d}" for i in range(20)]
_TYPES = [("settlements", "SETTLEMENT_FAIL"), ("reconciliation", "POSITION_BREAK"),
          ("claims", "MISSING_AUTHORIZATION"), ("payments", "PAYMENT_BOUNCED")]
_EVENT_COLUMNS = ("event_id", "tenant_id", "exception_id", "event_type", "actor_type", "actor_id",
                  "payload", "occurred_at", "seq")


def _raw_payload(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "orderId": f"ORD-{n:08d}", "account": f"ACC-{rng.randrange(10**6):06d}",
        "counterparty": rng.choice(["GS", "JPM", "BARC", "DB", "UBS"]),
        "amount": round(rng.uniform(1e3, 5e6), 2), "currency": rng.choice(["USD", "EUR", "GBP"]),
        "failReason": rng.choice(["SSI_MISMATCH", "INSUFFICIENT_SECURITIES", "LATE_AFFIRMATION"]),
        "isin": f"US{rng.randrange(10**10):010d}", "tradeDate": "2026-11-23", "settleDate": "2026-11-25",
        "notes": "".join(rng.choices("abcdefghijklmnopqrstuvwxyz ", k=300)),
    }


def _exception_transitions(rng: random.Random, n: int, t0: datetime) -> Iterator[Transition]:
    """One exception's life: ingest → normalize → triage → policy → playbook (approval, tool) → resolve."""
    tenant = TENANTS[n % len(TENANTS)]
    exception_id = f"EX-{n:08d}"
    source, kind = _TYPES[n % len(_TYPES)]
    raw = _raw_payload(rng, n)
    agent = Actor(type="agent", id="decide")
    state: dict[str, Any] = {
        "status": "NEW", "severity": None, "exception_type": kind, "source_system": source,
        "owner": None, "playbook_id": None, "current_step": None, "sla_deadline": None, "version": 0,
    }
    at = t0 + timedelta(seconds=n)
    evidence = [f"rule {kind.lower()}-{i} matched on {k}" for i, k in enumerate(raw)][:6]
    events: list[EventEnvelope] = []

    def emit(event_type: str, step: str = "", extra: dict[str, Any] | None = None, **changes: Any) -> None:
        state.update(changes, version=state["version"] + 1)
        events.append(EventEnvelope.create(event_type=event_type, tenant_id=tenant, exception_id=exception_id,
                                           occurred_at=at, actor=agent, payload=dict(extra or {}), step=step,
                                           version=state["version"]))

    def cut(**fills: Any) -> Transition:
        nonlocal at
        done = transition(tenant_id=tenant, exception_id=exception_id, events=list(events),
                          snapshot={**state, **fills})
        events.clear()
        at += timedelta(milliseconds=rng.randrange(5, 500))
        return done

    emit("ExceptionIngested")
    emit("ExceptionNormalized")
    severity = rng.choice(["LOW", "MEDIUM", "HIGH", "CRITICAL"])
    emit("TriageCompleted", extra={"triage": {"confidence": 0.92, "evidence": evidence}},
         status="OPEN", severity=severity, sla_deadline=(at + timedelta(hours=2)).isoformat())
    emit("PolicyEvaluated", extra={"policy": {"approval_required": n % 3 == 0, "evidence": evidence}})
    emit("PlaybookAssigned", playbook_id=f"pb-{kind.lower()}", current_step=1, status="IN_PROGRESS",
         owner="ops-desk")
    if n % 3 == 0:
        approval = {"approval_id": f"AP-{n:08d}", "status": "PENDING", "reason": "amount over limit",
                    "requested_at": at.isoformat(), "expires_at": (at + timedelta(hours=1)).isoformat(),
                    "decided_by": None, "decided_at": None, "comment": None, "version": 1}
        emit("ApprovalRequested", extra={"approval": approval}, status="PENDING_APPROVAL")
        yield cut(raw_payload=raw, normalized_context={"slaMinutesRemaining": rng.randrange(10, 240),
                                                       "policyTags": [source]})
        approval = {**approval, "status": "APPROVED", "decided_by": "alice",
                    "decided_at": at.isoformat(), "comment": "ok", "version": 2}
        emit("ApprovalGranted", extra={"approval": approval}, status="IN_PROGRESS")
        yield cut()
    else:
        yield cut(raw_payload=raw, normalized_context={"slaMinutesRemaining": rng.randrange(10, 240),
                                                       "policyTags": [source]})
    execution = {"execution_id": f"TX-{n:08d}", "tool_name": "resend_ssi", "status": "RUNNING",
                 "request": {"orderId": raw["orderId"]}, "response": None, "error": None,
                 "attempts": 1, "started_at": at.isoformat(), "finished_at": None, "version": 1}
    emit("ToolExecutionStarted", step="1", extra={"tool_execution": execution})
    yield cut()
    execution = {**execution, "status": "SUCCEEDED", "response": {"ok": True, "ref": f"R{n}"},
                 "finished_at": at.isoformat(), "version": 2}
    emit("ToolExecutionSucceeded", step="1", extra={"tool_execution": execution})
    emit("PlaybookStepCompleted", step="1", current_step=2)
    emit("ExceptionResolved", status="RESOLVED")
    yield cut()


def build_transitions(n: int, *, seed: int = 7) -> list[Transition]:
    """Whole life cycles' transitions until they hold at least ``n`` events."""
    rng = random.Random(seed)
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    transitions: list[Transition] = []
    events = exception = 0
    while events < n:
        for item in _exception_transitions(rng, exception, t0):
            transitions.append(item)
            events += len(item.events)
        exception += 1
    return transitions


def _event_count(transitions: list[Transition]) -> int:
    return sum(len(t.events) for t in transitions)


async def _sink_one_by_one(database_url: str, transitions: list[Transition], batch_size: int) -> tuple[float, float]:
    """Seconds to write ``transitions`` through the writer, then seconds to write them all again."""
    batches = [transitions[i:i + batch_size] for i in range(0, len(transitions), batch_size)]
    async with open_pool(database_url, max_size=2) as pool:
        writer = EventWriter(pool)
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            for batch in batches:
                await writer.write_batch(batch)
            timings.append(time.perf_counter() - start)
        stored = await pool.fetchval("SELECT count(*) FROM exception_events")
    if stored != _event_count(transitions):
        raise RuntimeError(f"sink stored {stored} events, expected {_event_count(transitions)}")
    return timings[0], timings[1]


async def _sink_in_flight(database_url: str, transitions: list[Transition], batch_size: int,
                          in_flight: int) -> float:
    """Seconds to write ``transitions`` with up to ``in_flight`` batches being written at once."""
    async with open_pool(database_url, max_size=in_flight) as pool:
        writer = EventWriter(pool)
        slots = asyncio.Semaphore(in_flight)

        async def write(batch: list[Transition]) -> None:
            try:
                await writer.write_batch(batch)
            finally:
                slots.release()

        start = time.perf_counter()
        tasks = []
        for i in range(0, len(transitions), batch_size):
            await slots.acquire()
            tasks.append(asyncio.create_task(write(transitions[i:i + batch_size])))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        stored = await pool.fetchval("SELECT count(*) FROM exception_events")
    if stored != _event_count(transitions):
        raise RuntimeError(f"sink stored {stored} events, expected {_event_count(transitions)}")
    return elapsed


async def _copy(database_url: str, transitions: list[Transition]) -> float:
    """Seconds for one raw COPY of the same event rows into exception_events."""
    conn = await asyncpg.connect(database_url)
    try:
        start = time.perf_counter()
        records = ((e.event_id, t.tenant_id, t.exception_id, e.event_type, e.actor.type, e.actor.id,
                    dumps(e.payload), e.occurred_at, e.version) for t in transitions for e in t.events)
        await conn.copy_records_to_table("exception_events", records=records, columns=_EVENT_COLUMNS)
        elapsed = time.perf_counter() - start
        stored = await conn.fetchval("SELECT count(*) FROM exception_events")
    finally:
        await conn.close()
    if stored != _event_count(transitions):
        raise RuntimeError(f"COPY stored {stored} events, expected {_event_count(transitions)}")
    return elapsed


async def _run(server_url: str, n: int, batch_size: int, in_flight: int) -> dict[str, float]:
    """Seconds per path, each into a fresh database."""
    transitions = build_transitions(n)
    sample = transitions[:1000]
    size = sum(len(dumps(e.payload)) + len(dumps(t.exception)) / len(t.events)
               for t in sample for e in t.events) / _event_count(sample)
    print(f"{_event_count(transitions)} events in {len(transitions)} transitions, "
          f"{len({(t.tenant_id, t.exception_id) for t in transitions})} exceptions, {len(TENANTS)} tenants, "
          f"mean payload {size:.0f} bytes per event (snapshots included), sink batch {batch_size} transitions, "
          f"{in_flight} in flight")
    async with fresh_database(server_url) as url:
        sink = await _sink_in_flight(url, transitions, batch_size, in_flight)
    async with fresh_database(server_url) as url:
        copy = await _copy(url, transitions)
    async with fresh_database(server_url) as url:
        one_by_one, replay = await _sink_one_by_one(url, transitions, batch_size)
    return {"sink": sink, "sink, 1 in flight": one_by_one, "sink replay": replay, "copy": copy,
            "events": _event_count(transitions)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sentinai.bench.sink", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="events to write (default 200000)")
    parser.add_argument("--batch-size", type=int, default=load_settings().sink_batch_size,
                        help="transitions per sink batch (default: SENTINAI_SINK_BATCH_SIZE)")
    parser.add_argument("--in-flight", type=int, default=load_settings().sink_in_flight,
                        help="batches written at once (default: SENTINAI_SINK_IN_FLIGHT, 4)")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with database_server() as server_url:
        seconds = asyncio.run(_run(server_url, args.n, args.batch_size, args.in_flight))
    rate = {path: seconds["events"] / s for path, s in seconds.items() if path != "events"}
    print()
    print(f"{'path':<20}{'seconds':>10}{'events/s':>12}")
    for path, r in rate.items():
        print(f"{path:<20}{seconds[path]:>10.2f}{r:>12,.0f}")
    print()
    print(f"sink_events_per_second: {rate['sink']:.0f}")
    print(f"sink_replay_events_per_second: {rate['sink replay']:.0f}")
    print(f"sink_1_in_flight_events_per_second: {rate['sink, 1 in flight']:.0f}")
    print(f"copy_events_per_second: {rate['copy']:.0f}")
    print(f"sink_vs_copy_ratio: {rate['sink'] / rate['copy']:.2f}")


if __name__ == "__main__":
    main()
