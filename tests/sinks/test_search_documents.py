"""The similar-case search documents follow the exceptions the sink writes, off its path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from sentinai.sinks.retention import apply_retention
from sentinai.sinks.search_index import index_queued
from sentinai.sinks.search_terms import refresh_all
from sentinai.sinks.similar_cases import similar_to_exception, similar_to_text
from sentinai.sinks.writer import EventWriter
from tests.sinks.conftest import T0, event, lifecycle

PAYLOAD = {"counterparty": "Harborstone Partners", "failReason": "SSI_MISMATCH", "amount": 2343290.55,
           "notes": {"text": "instructions mismatched at CLEARSTREAM"}}


async def _queued(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    rows = await pool.fetch("SELECT tenant_id, exception_id FROM exception_search_queue ORDER BY 1, 2")
    return [(r["tenant_id"], r["exception_id"]) for r in rows]


async def _document(pool: asyncpg.Pool, tenant: str, exception_id: str) -> str | None:
    return await pool.fetchval("SELECT document FROM exception_search WHERE tenant_id = $1 "
                               "AND exception_id = $2", tenant, exception_id)


async def test_the_sink_queues_and_the_job_builds_the_document(pool: asyncpg.Pool) -> None:
    writer = EventWriter(pool)
    await writer.write_batch([event("acme", "EX-1", "ExceptionNormalized", version=1, raw_payload=PAYLOAD)])
    assert await _queued(pool) == [("acme", "EX-1")]
    assert await _document(pool, "acme", "EX-1") is None  # nothing built in the sink's transaction
    assert await index_queued(pool) == 1
    document = await _document(pool, "acme", "EX-1")
    assert document is not None and await _queued(pool) == []
    for value in ("SETTLEMENT_FAIL", "HIGH", "settlements", "Harborstone Partners", "SSI_MISMATCH",
                  "2343290.55", "instructions mismatched at CLEARSTREAM"):
        assert value in document
    assert "counterparty" not in document and "failReason" not in document  # values, not keys


async def test_only_changes_of_the_documents_inputs_queue_it_again(pool: asyncpg.Pool) -> None:
    writer = EventWriter(pool)
    await writer.write_batch([event("acme", "EX-1", "ExceptionNormalized", version=1, raw_payload=PAYLOAD)])
    await index_queued(pool)
    await writer.write_batch([event("acme", "EX-1", "ExceptionStatusChanged", version=2, minutes=1,
                                    status="IN_PROGRESS")])
    assert await _queued(pool) == []  # a status change: no text work
    reordered = dict(reversed(list(PAYLOAD.items())))
    await writer.write_batch([event("acme", "EX-1", "ExceptionNormalized", version=3, minutes=2,
                                    step="corrected", raw_payload={**reordered, "amount": 10.0})])
    assert await _queued(pool) == [("acme", "EX-1")]
    await index_queued(pool)
    assert "10.0" in (await _document(pool, "acme", "EX-1") or "")


async def test_field_order_does_not_change_the_document(pool: asyncpg.Pool) -> None:
    reordered = dict(reversed(list(PAYLOAD.items())))
    await EventWriter(pool).write_batch([
        event("acme", "EX-1", "ExceptionNormalized", version=1, raw_payload=PAYLOAD),
        event("acme", "EX-2", "ExceptionNormalized", version=1, raw_payload=reordered)])
    await index_queued(pool)
    assert await _document(pool, "acme", "EX-1") == await _document(pool, "acme", "EX-2")


async def test_retention_deletes_the_document_with_its_exception(pool: asyncpg.Pool) -> None:
    await EventWriter(pool).write_batch(lifecycle("acme", "EX-OLD") + lifecycle("acme", "EX-NEW", start_minutes=60 * 24 * 40))
    await index_queued(pool)
    await apply_retention(pool, ttl_days_by_tenant={"acme": 30}, now=T0 + timedelta(days=45))
    rows = await pool.fetch("SELECT exception_id FROM exception_search WHERE tenant_id = 'acme'")
    assert [r["exception_id"] for r in rows] == ["EX-NEW"]


async def test_searches_never_leave_the_tenant(pool: asyncpg.Pool) -> None:
    same = [event(t, i, "ExceptionNormalized", version=1, raw_payload=PAYLOAD)
            for t, i in (("acme", "EX-1"), ("acme", "EX-2"), ("globex", "GX-1"), ("globex", "GX-2"))]
    await EventWriter(pool).write_batch(same)
    await index_queued(pool)
    await refresh_all(pool, now=datetime.now(UTC))
    found = await similar_to_exception(pool, "acme", "EX-1", limit=10)
    assert found is not None and [c.exception_id for c in found] == ["EX-2"]
    assert found[0].score == 1.0 and "harborston" in found[0].shared_terms
    assert await similar_to_exception(pool, "acme", "GX-1") is None
    by_text = await similar_to_text(pool, "globex", "Harborstone SSI mismatch", limit=10)
    assert sorted(c.exception_id for c in by_text) == ["GX-1", "GX-2"]
