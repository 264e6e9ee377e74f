"""EventWriter: duplicates dropped, projections versioned, replays change nothing."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from sentinai.core import rows
from sentinai.core.actor import TOOLS_AGENT
from sentinai.core.redaction import redact_secrets
from sentinai.sinks.errors import BatchRejected
from sentinai.sinks.repositories import get_exception
from sentinai.sinks.writer import EventWriter
from sentinai.streams import records
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.transition import Transition, transition
from tests.sinks.conftest import T0, event, lifecycle
from tests.support.db import fingerprint


def approval_events(tenant: str, exception_id: str) -> list[Transition]:
    base = {"approval_id": f"AP-{exception_id}", "reason": "amount over limit",
            "requested_at": "2026-11-24T09:40:00Z", "expires_at": "2026-11-24T10:40:00Z",
            "decided_by": None, "decided_at": None, "comment": None}
    return [
        event(tenant, exception_id, "ApprovalRequested", minutes=10,
              payload={"approval": {**base, "status": "PENDING", "version": 1}}),
        event(tenant, exception_id, "ApprovalGranted", minutes=12,
              payload={"approval": {**base, "status": "APPROVED", "decided_by": "alice",
                                    "decided_at": "2026-11-24T09:42:00Z", "comment": "ok", "version": 2}}),
    ]


def tool_events(tenant: str, exception_id: str) -> list[Transition]:
    base = {"execution_id": f"TX-{exception_id}", "tool_name": "resend_ssi",
            "request": {"orderId": "ORD-1"}, "error": None, "started_at": "2026-11-24T09:45:00Z"}
    return [
        event(tenant, exception_id, "ToolExecutionStarted", minutes=15, step="1",
              payload={"tool_execution": {**base, "status": "RUNNING", "response": None,
                                          "attempts": 1, "finished_at": None, "version": 1}}),
        event(tenant, exception_id, "ToolExecutionSucceeded", minutes=16, step="1",
              payload={"tool_execution": {**base, "status": "SUCCEEDED", "response": {"ok": True},
                                          "attempts": 1, "finished_at": "2026-11-24T09:46:00Z",
                                          "version": 2}}),
    ]


def history(tenant: str = "acme", exceptions: int = 20) -> list[Transition]:
    events = []
    for i in range(exceptions):
        events += lifecycle(tenant, f"EX-{i}", start_minutes=i)
        if i % 2 == 0:
            events += approval_events(tenant, f"EX-{i}") + tool_events(tenant, f"EX-{i}")
    return events


async def test_writes_events_and_projects_the_newest_snapshot(pool: asyncpg.Pool) -> None:
    events = lifecycle("acme", "EX-1")
    result = await EventWriter(pool).write_batch(events)
    assert (result.inserted, result.duplicates, result.exceptions_upserted) == (7, 0, 1)
    row = await get_exception(pool, "acme", "EX-1")
    assert row is not None
    assert (row["status"], row["version"], row["playbook_id"], row["current_step"]) == (
        "RESOLVED", 7, "pb-settlement", 3)
    assert row["raw_payload"] == {"orderId": "ORD-EX-1", "amount": 125000.0}
    assert row["normalized_context"] == {"slaMinutesRemaining": 95}
    assert row["created_at"] == events[0].events[0].occurred_at  # event times, not wall-clock times
    assert row["updated_at"] == events[-1].events[0].occurred_at


async def test_duplicates_are_dropped_within_and_across_batches(pool: asyncpg.Pool) -> None:
    writer = EventWriter(pool)
    events = lifecycle("acme", "EX-1")
    first = await writer.write_batch(events + events[:3])
    assert (first.inserted, first.duplicates) == (7, 3)
    again = await writer.write_batch(events)
    assert (again.inserted, again.duplicates, again.exceptions_upserted) == (0, 7, 0)
    assert await pool.fetchval("SELECT count(*) FROM exception_events") == 7


async def test_a_partly_stored_batch_after_fresh_ones_stores_only_the_new_events(pool: asyncpg.Pool) -> None:
    writer = EventWriter(pool)  # fresh batches: it COPYs without probing first
    assert (await writer.write_batch(lifecycle("acme", "EX-1"))).inserted == 7
    assert (await writer.write_batch(lifecycle("acme", "EX-2")[:4])).inserted == 4
    mixed = lifecycle("acme", "EX-2") + lifecycle("acme", "EX-3")  # 4 of EX-2 already stored
    result = await writer.write_batch(mixed)
    assert (result.inserted, result.duplicates, result.exceptions_upserted) == (10, 4, 2)
    assert (await writer.write_batch(lifecycle("acme", "EX-4"))).inserted == 7
    assert await pool.fetchval("SELECT count(*) FROM exception_events") == 28
    counts = await pool.fetch("SELECT exception_id, version FROM exceptions ORDER BY exception_id")
    assert [(r[0], r[1]) for r in counts] == [("EX-1", 7), ("EX-2", 7), ("EX-3", 7), ("EX-4", 7)]


async def test_replaying_everything_leaves_the_database_unchanged(pool: asyncpg.Pool) -> None:
    writer = EventWriter(pool)
    events = history()
    for i in range(0, len(events), 37):
        await writer.write_batch(events[i:i + 37])
    before = await fingerprint(pool)
    assert before["exceptions"][0] == 20 and before["approvals"][0] == 10
    replay = events[:]
    random.Random(3).shuffle(replay)
    for i in range(0, len(replay), 50):
        result = await writer.write_batch(replay[i:i + 50])
        assert result.inserted == 0
    assert await fingerprint(pool) == before


async def _rows(pool: asyncpg.Pool, tenant: str) -> dict[str, list[tuple[object, ...]]]:
    """Every projected row of a tenant, without the tenant column, for comparing two tenants."""
    out = {}
    for table, key in (("exceptions", "exception_id"), ("approvals", "approval_id"),
                       ("tool_executions", "execution_id")):
        rows = await pool.fetch(f"SELECT * FROM {table} WHERE tenant_id = $1 ORDER BY {key}", tenant)
        out[table] = [tuple(v for k, v in r.items() if k != "tenant_id") for r in rows]
    return out


def _as_tenant(events: list[Transition], tenant: str) -> list[Transition]:
    return [replace(t, tenant_id=tenant, transition_id=f"{tenant}:{t.transition_id}",
                    events=[replace(e, event_id=f"{tenant}:{e.event_id}") for e in t.events]) for t in events]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_reordered_batches_converge_and_never_move_backwards(pool: asyncpg.Pool, seed: int) -> None:
    writer = EventWriter(pool)
    events = history(exceptions=8)
    await writer.write_batch(_as_tenant(events, "in-order"))

    rng = random.Random(seed)
    shuffled = _as_tenant(events, "shuffled")
    rng.shuffle(shuffled)
    seen: dict[str, int] = {}
    i = 0
    while i < len(shuffled):
        size = rng.randint(1, 25)
        await writer.write_batch(shuffled[i:i + size] + shuffled[max(0, i - 5):i])  # with re-sends
        i += size
        for r in await pool.fetch("SELECT exception_id, version FROM exceptions WHERE tenant_id = 'shuffled'"):
            assert r["version"] >= seen.get(r["exception_id"], 0), "an exception moved backwards"
            seen[r["exception_id"]] = r["version"]
    assert await _rows(pool, "shuffled") == await _rows(pool, "in-order")


async def test_raw_payload_is_never_erased_and_late_events_fill_it(pool: asyncpg.Pool) -> None:
    writer = EventWriter(pool)
    raw = {"orderId": "ORD-1"}
    older = event("acme", "EX-1", "ExceptionNormalized", version=2, raw_payload=raw,
                  normalized_context={"k": 1})
    newer = event("acme", "EX-1", "TriageCompleted", version=3, minutes=1, status="TRIAGED",
                  raw_payload=None)
    await writer.write_batch([newer])
    await writer.write_batch([older])  # arrives late: fills the payload, keeps the newer state
    row = await get_exception(pool, "acme", "EX-1")
    assert row is not None
    assert (row["version"], row["status"], row["raw_payload"], row["normalized_context"]) == (
        3, "TRIAGED", raw, {"k": 1})
    assert row["created_at"] == older.events[0].occurred_at and row["updated_at"] == newer.events[0].occurred_at
    later = event("acme", "EX-1", "ExceptionResolved", version=4, minutes=2, status="RESOLVED")
    await writer.write_batch([later])
    row = await get_exception(pool, "acme", "EX-1")
    assert row is not None and (row["status"], row["raw_payload"]) == ("RESOLVED", raw)


def occurrences() -> tuple[list[Transition], list[Transition], Transition]:
    """One exception id twice: a legacy row (no first_seen_at) and the first occurrence up to version 5,
    the id sent again a day later (a second occurrence, versions from 1), and a late event of the first."""
    first_seen = {"first_seen_at": (T0 + timedelta(minutes=2)).isoformat()}
    legacy = [event("acme", "EX-1", "ExceptionIngested", version=1, step="legacy", raw_payload={"n": 0})]
    first = legacy + [event("acme", "EX-1", kind, version=v, minutes=v, step="first", status=status,
                            raw_payload={"n": 1} if v == 2 else None, **first_seen)
                      for kind, v, status in (("ExceptionNormalized", 2, "OPEN"), ("TriageCompleted", 3, "TRIAGED"),
                                              ("PlaybookAssigned", 4, "IN_PROGRESS"),
                                              ("ExceptionResolved", 5, "RESOLVED"))]
    again_seen = {"first_seen_at": (T0 + timedelta(days=1)).isoformat()}
    again = [event("acme", "EX-1", kind, version=v, minutes=1440 + v, step="again", status=status,
                   raw_payload={"n": 2} if v == 1 else None, **again_seen)
             for kind, v, status in (("ExceptionNormalized", 1, "OPEN"), ("TriageCompleted", 2, "TRIAGED"))]
    late = event("acme", "EX-1", "CommentAdded", version=6, minutes=1500, step="first", status="CLOSED", **first_seen)
    return first, again, late


@pytest.mark.parametrize("batches", ["one by one", "all at once", "late first"])
async def test_a_newer_occurrence_replaces_the_row_and_the_older_ones_events_never_move_it(
        pool: asyncpg.Pool, batches: str) -> None:
    """An exception id sent again after its dedup window is decided afresh, versions from 1: its row
    follows the new occurrence (state, payload, created_at), whatever the older one still sends."""
    first, again, late = occurrences()
    writer = EventWriter(pool)
    if batches == "one by one":
        for t in [*first, *again, late]:
            await writer.write_batch([t])
    elif batches == "all at once":
        await writer.write_batch([*first, late, *again])
    else:
        await writer.write_batch([*first, late])
        row = await get_exception(pool, "acme", "EX-1")
        assert row is not None and (row["status"], row["version"]) == ("CLOSED", 6)
        await writer.write_batch(again)
    await writer.write_batch([first[1], late])  # replayed: changes nothing
    row = await get_exception(pool, "acme", "EX-1")
    assert row is not None
    assert (row["status"], row["version"], row["raw_payload"]) == ("TRIAGED", 2, {"n": 2})
    assert row["first_seen_at"] == T0 + timedelta(days=1)
    assert row["created_at"] == again[0].events[0].occurred_at and row["updated_at"] == again[1].events[0].occurred_at
    assert await pool.fetchval("SELECT count(*) FROM exception_events WHERE exception_id = 'EX-1'") == 8


async def test_an_occurrence_replaces_a_row_written_before_occurrences(pool: asyncpg.Pool) -> None:
    first, _, _ = occurrences()
    writer = EventWriter(pool)
    await writer.write_batch(first[:1])
    row = await get_exception(pool, "acme", "EX-1")
    assert row is not None and (row["version"], row["first_seen_at"], row["raw_payload"]) == (1, None, {"n": 0})
    await writer.write_batch(first[1:2])
    row = await get_exception(pool, "acme", "EX-1")
    assert row is not None and (row["version"], row["raw_payload"]) == (2, {"n": 1})
    assert row["created_at"] == first[1].events[0].occurred_at


async def test_approvals_and_tool_executions_are_versioned(pool: asyncpg.Pool) -> None:
    writer = EventWriter(pool)
    approvals, tools = approval_events("acme", "EX-1"), tool_events("acme", "EX-1")
    result = await writer.write_batch([approvals[1], tools[1]])
    assert (result.approvals_upserted, result.tool_executions_upserted) == (1, 1)
    result = await writer.write_batch([approvals[0], tools[0]])  # older versions arrive late
    assert (result.approvals_upserted, result.tool_executions_upserted) == (0, 0)
    approval = await pool.fetchrow("SELECT * FROM approvals WHERE tenant_id = 'acme'")
    assert (approval["approval_id"], approval["status"], approval["decided_by"], approval["version"]) == (
        "AP-EX-1", "APPROVED", "alice", 2)
    execution = await pool.fetchrow("SELECT * FROM tool_executions WHERE tenant_id = 'acme'")
    assert (execution["status"], execution["response"], execution["request"], execution["attempts"]) == (
        "SUCCEEDED", {"ok": True}, {"orderId": "ORD-1"}, 1)


@pytest.mark.parametrize("order", ["in order", "finish first", "one batch each"])
async def test_a_finished_tool_execution_keeps_the_time_it_started(pool: asyncpg.Pool, order: str) -> None:
    # as the pipeline writes them (sentinai.core.rows): only the tools agent's "started" snapshot
    # (version 2) knows when the call started; the request (1) and the finish (3) carry null
    base = {"execution_id": "TX-1", "tool_name": "recon_rerun", "request": {"account": "A1"}, "error": None}
    requested, started, finished = (
        event("acme", "EX-1", event_type, minutes=minutes, step=str(version), payload={"tool_execution": {
            **base, "status": status, "response": None, "attempts": 0, "started_at": started_at,
            "finished_at": finished_at, "version": version}})
        for event_type, minutes, version, status, started_at, finished_at in (
            ("ToolExecutionRequested", 15, 1, "REQUESTED", None, None),
            ("ToolExecutionStarted", 15, 2, "STARTED", "2026-11-24T09:45:00Z", None),
            ("ToolExecutionSucceeded", 16, 3, "SUCCEEDED", None, "2026-11-24T09:46:00Z")))
    writer = EventWriter(pool)
    batches = {"in order": [[requested, started, finished]], "finish first": [[finished, started, requested]],
               "one batch each": [[requested], [started], [finished]]}[order]
    for batch in batches:
        await writer.write_batch(batch)
    row = await pool.fetchrow("SELECT * FROM tool_executions WHERE tenant_id = 'acme'")
    assert (row["status"], row["version"]) == ("SUCCEEDED", 3)
    assert (row["started_at"], row["finished_at"]) == (
        datetime(2026, 11, 24, 9, 45, tzinfo=UTC), datetime(2026, 11, 24, 9, 46, tzinfo=UTC))


async def test_a_tool_result_of_a_replaced_occurrence_finishes_its_row_and_leaves_the_exception_row(
        pool: asyncpg.Pool) -> None:
    """The call of an occurrence that a newer one replaced (the id sent again after its dedup window)
    finished: the act agent's event (no exception snapshot) turns its STARTED row into the finished
    one, and neither it nor its replay moves the exceptions row, which follows the new occurrence."""
    first, again, _ = occurrences()
    execution_id, arguments = "TX-first", {"orderId": "O-1", "apiKey": "s3cret"}
    started_at = T0 + timedelta(minutes=4)
    requested, started = (
        transition(tenant_id="acme", exception_id="EX-1", events=[EventEnvelope.create(
            event_type=event_type, tenant_id="acme", exception_id="EX-1", occurred_at=at, actor=TOOLS_AGENT,
            step=execution_id, payload={"tool_execution": row})])
        for event_type, at, row in (
            ("ToolExecutionRequested", T0 + timedelta(minutes=3), rows.tool_row(
                execution_id=execution_id, tool_name="resend_ssi", arguments=arguments, status="REQUESTED",
                now=T0)),
            ("ToolExecutionStarted", started_at, rows.tool_started_snapshot(
                execution_id=execution_id, tool_name="resend_ssi", arguments=arguments, now=started_at))))
    writer = EventWriter(pool)
    await writer.write_batch([*first[:4], requested, started, *again])
    exception = await get_exception(pool, "acme", "EX-1")
    finished_at = T0 + timedelta(days=1, minutes=5)
    event = records.replaced_tool_result(
        tenant_id="acme", exception_id="EX-1", occurrence="t.exceptions:0:5", step=0, execution_id=execution_id,
        tool_name="resend_ssi", request=redact_secrets(arguments), succeeded=True,
        detail={"status": "succeeded", "response": {"ok": True}, "error": None, "attempts": 1}, now=finished_at)
    finish = transition(tenant_id="acme", exception_id="EX-1", events=[event], snapshot=None,
                        source=("t.tool-results", 0, 7))
    result = await writer.write_batch([finish])
    assert (result.inserted, result.exceptions_upserted, result.tool_executions_upserted) == (1, 0, 1)
    row = await pool.fetchrow("SELECT * FROM tool_executions WHERE tenant_id = 'acme'")
    assert (row["execution_id"], row["tool_name"], row["status"], row["version"], row["attempts"]) == (
        execution_id, "resend_ssi", "SUCCEEDED", 3, 1)
    assert (row["response"], row["request"]) == ({"ok": True}, {"orderId": "O-1", "apiKey": "***"})
    assert (row["started_at"], row["finished_at"]) == (started_at, finished_at)
    assert await get_exception(pool, "acme", "EX-1") == exception
    replayed = await writer.write_batch([finish])
    assert (replayed.inserted, replayed.duplicates) == (0, 1)
    assert await get_exception(pool, "acme", "EX-1") == exception


async def test_a_large_batch_in_one_call(pool: asyncpg.Pool) -> None:
    events = [e for i in range(715) for e in lifecycle(f"t{i % 7}", f"EX-{i}")][:5000]
    result = await EventWriter(pool).write_batch(events)
    assert (result.inserted, result.duplicates) == (5000, 0)
    assert result.exceptions_upserted == 715
    assert await pool.fetchval("SELECT count(*) FROM exception_events") == 5000
    assert await pool.fetchval("SELECT count(*) FROM exceptions WHERE version = 7") == 714


async def test_malformed_snapshots_are_named_and_nothing_is_written(pool: asyncpg.Pool) -> None:
    good = lifecycle("acme", "EX-1")
    bad_version = event("acme", "EX-2", "TriageCompleted", version=1)
    bad_version.exception["version"] = "three"
    bad_time = event("acme", "EX-3", "TriageCompleted", version=1, sla_deadline="tomorrow")
    bad_approval = event("acme", "EX-4", "ApprovalRequested", payload={"approval": {"status": "PENDING"}})
    with pytest.raises(BatchRejected) as caught:
        await EventWriter(pool).write_batch(good + [bad_version, bad_time, bad_approval])
    assert set(caught.value.event_ids) == {bad_version.transition_id, bad_time.transition_id,
                                           bad_approval.transition_id}
    assert await pool.fetchval("SELECT count(*) FROM exception_events") == 0


async def test_what_postgres_refuses_is_traced_to_its_events(pool: asyncpg.Pool) -> None:
    writer = EventWriter(pool)
    good = lifecycle("acme", "EX-1")
    nul = event("acme", "EX-2", "CommentAdded", payload={"comment": "a\x00b"})
    with pytest.raises(BatchRejected) as caught:
        await writer.write_batch(good + [nul])
    assert caught.value.event_ids == (nul.transition_id,)
    assert await pool.fetchval("SELECT count(*) FROM exception_events") == 0
    assert (await writer.write_batch(good)).inserted == 7  # the caller dead-letters it, writes the rest


async def test_overlapping_concurrent_writers_store_each_event_once(pool: asyncpg.Pool) -> None:
    events = history(exceptions=30)
    first, second = events[: len(events) * 2 // 3], events[len(events) // 3:]
    writers = [EventWriter(pool), EventWriter(pool)]
    results = await asyncio.gather(*(w.write_batch(b) for w, b in zip(writers, (first, second), strict=True)))
    assert sum(r.inserted for r in results) == len(events)
    assert await pool.fetchval("SELECT count(*) FROM exception_events") == len(events)
    assert await pool.fetchval("SELECT count(*) FROM exceptions WHERE version = 7") == 30


async def test_naive_event_times_are_utc(pool: asyncpg.Pool) -> None:
    stored = event("acme", "EX-1", "ExceptionIngested", version=1)
    naive = replace(stored, events=[replace(stored.events[0], occurred_at=T0.replace(tzinfo=None))])
    await EventWriter(pool).write_batch([naive])
    row = await get_exception(pool, "acme", "EX-1")
    assert row is not None and row["created_at"] == T0


async def test_a_stored_event_is_not_judged_again_after_fresh_batches(pool: asyncpg.Pool) -> None:
    writer = EventWriter(pool)
    stored = event("acme", "EX-1", "TriageCompleted", version=1)
    await writer.write_batch([stored])
    await writer.write_batch(lifecycle("acme", "EX-2"))  # fresh: the writer stops probing first
    # the same event again, its snapshot now unreadable: stored already, so a duplicate, not refused
    resent = replace(stored, exception={"status": "OPEN", "version": "one"})
    result = await writer.write_batch([resent, *lifecycle("acme", "EX-3")])
    assert (result.inserted, result.duplicates) == (7, 1)


async def test_a_transition_stores_every_event_and_its_snapshot_once(pool: asyncpg.Pool) -> None:
    base = lifecycle("acme", "EX-1")
    whole = transition(tenant_id="acme", exception_id="EX-1",
                       events=[e for t in base for e in t.events], snapshot=base[-1].exception)
    result = await EventWriter(pool).write_batch([whole])
    assert (result.inserted, result.duplicates, result.exceptions_upserted) == (7, 0, 1)
    row = await get_exception(pool, "acme", "EX-1")
    assert row is not None and (row["status"], row["version"]) == ("RESOLVED", 7)
    stored = await pool.fetch("SELECT event_type, seq FROM exception_events ORDER BY seq")
    assert [(r["event_type"], r["seq"]) for r in stored] == [(e.event_type, e.version) for e in whole.events]
    again = await EventWriter(pool).write_batch([whole])
    assert (again.inserted, again.duplicates) == (0, 7)
