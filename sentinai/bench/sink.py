"""Benchmark: the Postgres sink against a raw COPY of the same rows.

``python -m sentinai.bench.sink [--n 200000] [--batch-size 500] [--in-flight 2]``

Builds N realistic envelopes (20 tenants; each exception goes through its life cycle with
snapshots, approvals and tool executions; payloads of ~0.5 KB on average, ~1 KB on ingest), then,
each into a fresh migrated database:

* ``sink``: :class:`~sentinai.sinks.writer.EventWriter` as the sink agent drives it — batches of
  the sink's batch size, up to the sink's number of batches in flight at once (settings
  ``SINK_BATCH_SIZE`` and ``SINK_IN_FLIGHT``); the events, their duplicate check and the three
  projections, one transaction per batch;
* ``sink, 1 in flight``: the same batches one after the other — for comparison, not the ratio;
* ``sink replay``: the same batches again, one after the other (every event a duplicate), as after
  a consumer rewind;
* ``copy``: one raw asyncpg ``COPY`` of the same rows into ``exception_events`` — the ceiling for
  getting these rows into that table, without duplicate handling or projections.

Both timed paths start from the same envelopes and include JSON-encoding the payloads, with the
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
from sentinai.embedded.process import exit_on_sigterm
from sentinai.settings import load_settings
from sentinai.sinks.pool import dumps, open_pool
from sentinai.sinks.writer import EventWriter
from sentinai.streams.envelope import Actor, EventEnvelope

TENANTS = [f"tenant-{i:02d}" for i in range(20)]
_TYPES = [("settlements", "SETTLEMENT_FAIL"), ("reconciliation", "POSITION_BREAK"),
          ("claims", "MISSING_AUTHORIZATION"), ("payments", "PAYMENT_BOUNCED")]
_EVENT_COLUMNS = ("event_id", "tenant_id", "exception_id", "event_type", "actor_type", "actor_id",
                  "payload", "occurred_at")


def _raw_payload(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "orderId": f"ORD-{n:08d}", "account": f"ACC-{rng.randrange(10**6):06d}",
        "counterparty": rng.choice(["GS", "JPM", "BARC", "DB", "UBS"]),
        "amount": round(rng.uniform(1e3, 5e6), 2), "currency": rng.choice(["USD", "EUR", "GBP"]),
        "failReason": rng.choice(["SSI_MISMATCH", "INSUFFICIENT_SECURITIES", "LATE_AFFIRMATION"]),
        "isin": f"US{rng.randrange(10**10):010d}", "tradeDate": "2026-11-23", "settleDate": "2026-11-25",
        "notes": "".join(rng.choices("abcdefghijklmnopqrstuvwxyz ", k=300)),
    }


def _exception_events(rng: random.Random, n: int, t0: datetime) -> Iterator[EventEnvelope]:
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

    def emit(event_type: str, step: str = "", extra: dict[str, Any] | None = None,
             **changes: Any) -> EventEnvelope:
        nonlocal at
        at += timedelta(milliseconds=rng.randrange(5, 500))
        state.update(changes, version=state["version"] + 1)
        payload: dict[str, Any] = {"exception": dict(state), **(extra or {})}
        return EventEnvelope.create(event_type=event_type, tenant_id=tenant, exception_id=exception_id,
                                    occurred_at=at, actor=agent, payload=payload, step=step)

    yield emit("ExceptionIngested", raw_payload=raw)
    state.pop("raw_payload")
    yield emit("ExceptionNormalized", raw_payload=raw,
               normalized_context={"slaMinutesRemaining": rng.randrange(10, 240), "policyTags": [source]})
    state.pop("raw_payload")
    state.pop("normalized_context")
    severity = rng.choice(["LOW", "MEDIUM", "HIGH", "CRITICAL"])
    yield emit("TriageCompleted", extra={"triage": {"confidence": 0.92, "evidence": evidence}},
               status="OPEN", severity=severity,
               sla_deadline=(at + timedelta(hours=2)).isoformat())
    yield emit("PolicyEvaluated", extra={"policy": {"approval_required": n % 3 == 0, "evidence": evidence}})
    yield emit("PlaybookAssigned", playbook_id=f"pb-{kind.lower()}", current_step=1, status="IN_PROGRESS",
               owner="ops-desk")
    if n % 3 == 0:
        approval = {"approval_id": f"AP-{n:08d}", "status": "PENDING", "reason": "amount over limit",
                    "requested_at": at.isoformat(), "expires_at": (at + timedelta(hours=1)).isoformat(),
                    "decided_by": None, "decided_at": None, "comment": None, "version": 1}
        yield emit("ApprovalRequested", extra={"approval": approval}, status="PENDING_APPROVAL")
        approval = {**approval, "status": "APPROVED", "decided_by": "alice",
                    "decided_at": at.isoformat(), "comment": "ok", "version": 2}
        yield emit("ApprovalGranted", extra={"approval": approval}, status="IN_PROGRESS")
    execution = {"execution_id": f"TX-{n:08d}", "tool_name": "resend_ssi", "status": "RUNNING",
                 "request": {"orderId": raw["orderId"]}, "response": None, "error": None,
                 "attempts": 1, "started_at": at.isoformat(), "finished_at": None, "version": 1}
    yield emit("ToolExecutionStarted", step="1", extra={"tool_execution": execution})
    execution = {**execution, "status": "SUCCEEDED", "response": {"ok": True, "ref": f"R{n}"},
                 "finished_at": at.isoformat(), "version": 2}
    yield emit("ToolExecutionSucceeded", step="1", extra={"tool_execution": execution})
    yield emit("PlaybookStepCompleted", step="1", current_step=2)
    yield emit("ExceptionResolved", status="RESOLVED")


def build_events(n: int, *, seed: int = 7) -> list[EventEnvelope]:
    """``n`` envelopes from as many whole life cycles as fit (the last one is cut short)."""
    rng = random.Random(seed)
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    events: list[EventEnvelope] = []
    exception = 0
    while len(events) < n:
        events.extend(_exception_events(rng, exception, t0))
        exception += 1
    return events[:n]


async def _sink_one_by_one(database_url: str, events: list[EventEnvelope], batch_size: int) -> tuple[float, float]:
    """Seconds to write ``events`` through the writer, then seconds to write them all again."""
    batches = [events[i:i + batch_size] for i in range(0, len(events), batch_size)]
    async with open_pool(database_url, max_size=2) as pool:
        writer = EventWriter(pool)
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            for batch in batches:
                await writer.write_batch(batch)
            timings.append(time.perf_counter() - start)
        stored = await pool.fetchval("SELECT count(*) FROM exception_events")
    if stored != len({e.event_id for e in events}):
        raise RuntimeError(f"sink stored {stored} events, expected {len(events)}")
    return timings[0], timings[1]


async def _sink_in_flight(database_url: str, events: list[EventEnvelope], batch_size: int,
                          in_flight: int) -> float:
    """Seconds to write ``events`` with up to ``in_flight`` batches being written at once."""
    async with open_pool(database_url, max_size=in_flight) as pool:
        writer = EventWriter(pool)
        slots = asyncio.Semaphore(in_flight)

        async def write(batch: list[EventEnvelope]) -> None:
            try:
                await writer.write_batch(batch)
            finally:
                slots.release()

        start = time.perf_counter()
        tasks = []
        for i in range(0, len(events), batch_size):
            await slots.acquire()
            tasks.append(asyncio.create_task(write(events[i:i + batch_size])))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        stored = await pool.fetchval("SELECT count(*) FROM exception_events")
    if stored != len({e.event_id for e in events}):
        raise RuntimeError(f"sink stored {stored} events, expected {len(events)}")
    return elapsed


async def _copy(database_url: str, events: list[EventEnvelope]) -> float:
    """Seconds for one raw COPY of the same rows into exception_events."""
    conn = await asyncpg.connect(database_url)
    try:
        start = time.perf_counter()
        records = ((e.event_id, e.tenant_id, e.exception_id, e.event_type, e.actor.type, e.actor.id,
                    dumps(e.payload), e.occurred_at) for e in events)
        await conn.copy_records_to_table("exception_events", records=records, columns=_EVENT_COLUMNS)
        elapsed = time.perf_counter() - start
        stored = await conn.fetchval("SELECT count(*) FROM exception_events")
    finally:
        await conn.close()
    if stored != len(events):
        raise RuntimeError(f"COPY stored {stored} events, expected {len(events)}")
    return elapsed


async def _run(server_url: str, n: int, batch_size: int, in_flight: int) -> dict[str, float]:
    """Seconds per path, each into a fresh database."""
    events = build_events(n)
    size = sum(len(dumps(e.payload)) for e in events[:1000]) / min(n, 1000)
    print(f"{n} events, {len({(e.tenant_id, e.exception_id) for e in events})} exceptions, "
          f"{len(TENANTS)} tenants, mean payload {size:.0f} bytes, sink batch {batch_size}, "
          f"{in_flight} in flight")
    async with fresh_database(server_url) as url:
        sink = await _sink_in_flight(url, events, batch_size, in_flight)
    async with fresh_database(server_url) as url:
        copy = await _copy(url, events)
    async with fresh_database(server_url) as url:
        one_by_one, replay = await _sink_one_by_one(url, events, batch_size)
    return {"sink": sink, "sink, 1 in flight": one_by_one, "sink replay": replay, "copy": copy}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sentinai.bench.sink", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="events to write (default 200000)")
    parser.add_argument("--batch-size", type=int, default=load_settings().sink_batch_size,
                        help="events per sink batch (default: SENTINAI_SINK_BATCH_SIZE, 1000)")
    parser.add_argument("--in-flight", type=int, default=load_settings().sink_in_flight,
                        help="batches written at once (default: SENTINAI_SINK_IN_FLIGHT, 4)")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with database_server() as server_url:
        seconds = asyncio.run(_run(server_url, args.n, args.batch_size, args.in_flight))
    rate = {path: args.n / s for path, s in seconds.items()}
    print()
    print(f"{'path':<20}{'seconds':>10}{'events/s':>12}")
    for path, s in seconds.items():
        print(f"{path:<20}{s:>10.2f}{rate[path]:>12,.0f}")
    print()
    print(f"sink_events_per_second: {rate['sink']:.0f}")
    print(f"sink_replay_events_per_second: {rate['sink replay']:.0f}")
    print(f"sink_1_in_flight_events_per_second: {rate['sink, 1 in flight']:.0f}")
    print(f"copy_events_per_second: {rate['copy']:.0f}")
    print(f"sink_vs_copy_ratio: {rate['sink'] / rate['copy']:.2f}")


if __name__ == "__main__":
    main()
