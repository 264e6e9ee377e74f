"""A tenant's exception history written the way the pipeline writes it, for similar-case and copilot tests.

Each exception is normalized and decided by the real core on the sample packs; its transition
(:func:`~sentinai.streams.records.decided`) is written by the sink's
:class:`~sentinai.sinks.writer.EventWriter`; a resolved one gets a second transition with its
ExceptionResolved event. Then the worker's two search jobs run once: the queued search documents
are built and the term counts refreshed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import asyncpg

from sentinai.core.actor import Actor
from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.core.packs import PackSet, load_pack_dir
from sentinai.sinks.search_index import index_queued
from sentinai.sinks.search_terms import refresh_all
from sentinai.sinks.writer import EventWriter
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.records import decided
from sentinai.streams.transition import Transition, transition

PACKS = Path(__file__).resolve().parents[2] / "packs"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


@cache
def sample_packs() -> PackSet:
    return load_pack_dir(PACKS)


def case_transitions(tenant: str, exception_id: str, exception_type: str, payload: dict[str, Any], *,
                     at: datetime, resolve_after: timedelta | None = None) -> list[Transition]:
    """The transitions of one exception as the pipeline records them (resolved if ``resolve_after``)."""
    packs = sample_packs().for_tenant(tenant)
    assert packs is not None, tenant
    raw = {"tenant_id": tenant, "exception_id": exception_id, "source_system": "settlements",
           "exception_type": exception_type, "occurred_at": at.isoformat(), "payload": payload}
    exception = normalize(raw, now=at)
    result = decided(exception, decide(exception, packs, now=at), packs, now=at)
    out = [transition(tenant_id=tenant, exception_id=exception_id, events=result.events,
                      snapshot=result.snapshot)]
    if resolve_after is not None:
        version = result.snapshot["version"] + 1
        resolved = EventEnvelope.create(
            event_type="ExceptionResolved", tenant_id=tenant, exception_id=exception_id,
            occurred_at=at + resolve_after, actor=Actor(type="user", id="ops"),
            payload={"resolution": "fixed"}, version=version)
        out.append(transition(tenant_id=tenant, exception_id=exception_id, events=[resolved],
                              snapshot={**result.snapshot, "status": "RESOLVED", "version": version}))
    return out


async def write_history(pool: asyncpg.Pool, transitions: list[Transition]) -> None:
    """Write through the sink, then run the search jobs the workers run on their timers."""
    await EventWriter(pool).write_batch(transitions)
    await index_queued(pool)
    await refresh_all(pool, now=datetime.now(UTC))
