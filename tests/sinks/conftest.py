"""Fixtures for the sink tests: a JSON-aware pool on this test's database and event builders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from sentinai.core.actor import Actor
from sentinai.sinks.pool import open_pool
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.transition import Transition, transition

T0 = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
AGENT = Actor(type="agent", id="decide")

LIFECYCLE = ("ExceptionIngested", "ExceptionNormalized", "TriageCompleted", "PolicyEvaluated",
             "PlaybookAssigned", "PlaybookStepCompleted", "ExceptionResolved")


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with open_pool(database_url, max_size=4) as pool:
        yield pool


def snapshot(version: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": "OPEN", "severity": "HIGH", "exception_type": "SETTLEMENT_FAIL",
        "source_system": "settlements", "owner": None, "playbook_id": None, "current_step": None,
        "sla_deadline": "2026-11-24T11:05:00+00:00", "version": version,
    }
    base.update(fields)
    return base


def event(tenant: str, exception_id: str, event_type: str, *, version: int | None = None,
          minutes: float = 0, step: str = "", payload: dict[str, Any] | None = None,
          **fields: Any) -> Transition:
    """A transition of one event; with ``version`` it carries an exception snapshot of that version."""
    envelope = EventEnvelope.create(event_type=event_type, tenant_id=tenant, exception_id=exception_id,
                                    occurred_at=T0 + timedelta(minutes=minutes), actor=AGENT,
                                    payload=dict(payload or {}), step=step, version=version)
    return transition(tenant_id=tenant, exception_id=exception_id, events=[envelope],
                      snapshot=None if version is None else snapshot(version, **fields))


def lifecycle(tenant: str, exception_id: str, *, start_minutes: float = 0) -> list[Transition]:
    """The transitions of one exception from ingestion to resolution, one event each, versions 1..7."""
    statuses = ["OPEN", "OPEN", "TRIAGED", "TRIAGED", "IN_PROGRESS", "IN_PROGRESS", "RESOLVED"]  # as the pipeline moves
    events = []
    for i, (kind, status) in enumerate(zip(LIFECYCLE, statuses, strict=True), start=1):
        extra: dict[str, Any] = {"status": status}
        if kind == "ExceptionIngested":
            extra["raw_payload"] = {"orderId": f"ORD-{exception_id}", "amount": 125000.0}
        if kind == "ExceptionNormalized":
            extra["raw_payload"] = {"orderId": f"ORD-{exception_id}", "amount": 125000.0}
            extra["normalized_context"] = {"slaMinutesRemaining": 95}
        if i >= 5:
            extra.update(playbook_id="pb-settlement", current_step=i - 4, owner="ops")
        events.append(event(tenant, exception_id, kind, version=i, minutes=start_minutes + i, **extra))
    return events
