"""Exceptions seeded the way the pipeline makes them, for tests of what reads PostgreSQL.

The decision core decides each exception on the sample packs of ``acme-capital`` (whatever tenant
it is seeded under), the pipeline's own builders make its events (the intake's
``outcome_events``, the act agent's playbook run: ``execution.start``, ``on_approval``,
``on_tool_result``), and the sink's :class:`~sentinai.sinks.writer.EventWriter` stores them. So
every row and status a test reads is one the pipeline writes.

What the sample packs make of the exception types named here (``decided`` checks it):

* ``SETTLEMENT_FAIL`` (HIGH): a playbook of low-risk steps, RESOLVED at once, by the agents alone;
* ``POSITION_BREAK`` (CRITICAL): policy asks for approval, PENDING_APPROVAL; once approved (and its
  tool answered) RESOLVED;
* ``MISMATCHED_TRADE_DETAILS`` (MEDIUM): IN_PROGRESS, its first step waiting on a tool call;
* ``CASH_BREAK`` (HIGH): no playbook, ESCALATED.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sentinai.core import execution
from sentinai.core.engine import decide
from sentinai.core.execution import EmitEvent, PlaybookRun, RequestTool
from sentinai.core.normalize import normalize
from sentinai.core.packs.loader import load_pack_dir
from sentinai.sinks.pool import open_pool
from sentinai.sinks.writer import EventWriter
from sentinai.streams.envelope import EventEnvelope, event_id_for
from sentinai.streams.records import outcome_events

SAMPLE_PACKS = load_pack_dir(Path(__file__).resolve().parents[2] / "packs")
DECIDING_PACKS = SAMPLE_PACKS.for_tenant("acme-capital")

RESOLVED_AT_ONCE = "SETTLEMENT_FAIL"
NEEDS_APPROVAL = "POSITION_BREAK"
WAITS_ON_A_TOOL = "MISMATCHED_TRADE_DETAILS"
ESCALATED_AT_ONCE = "CASH_BREAK"
STATUS_OF = {RESOLVED_AT_ONCE: "RESOLVED", NEEDS_APPROVAL: "PENDING_APPROVAL", WAITS_ON_A_TOOL: "IN_PROGRESS",
             ESCALATED_AT_ONCE: "ESCALATED"}


@dataclass
class Seeded:
    """One exception as the pipeline left it: its events so far and its playbook run."""

    tenant_id: str
    exception_id: str
    exception_type: str
    severity: str
    status: str
    created_at: datetime
    run: PlaybookRun | None
    events: list[EventEnvelope] = field(default_factory=list)

    @property
    def approval_id(self) -> str:
        return event_id_for(self.tenant_id, self.exception_id, "approval")


def _envelopes(seeded: Seeded, effects: list[Any], at: datetime) -> list[EventEnvelope]:
    """The events the act agent publishes for these effects."""
    return [EventEnvelope.create(event_type=e.event_type, tenant_id=seeded.tenant_id,
                                 exception_id=seeded.exception_id, occurred_at=at, actor=e.actor,
                                 payload=e.payload, step=e.step)
            for e in effects if isinstance(e, EmitEvent)]


def decided(tenant_id: str, exception_id: str, exception_type: str, *, at: datetime,
            payload: dict[str, Any] | None = None) -> Seeded:
    """The exception decided at ``at``: the intake's events, then the playbook run's first ones."""
    raw = {"tenant_id": tenant_id, "exception_id": exception_id, "source_system": "settlements",
           "exception_type": exception_type, "occurred_at": at.isoformat(),
           "payload": payload or {"orderId": f"ORD-{exception_id}", "amount": 125000.0}, "context": {}}
    exception = normalize(raw, now=at, known_tenants={tenant_id})
    outcome = decide(exception, DECIDING_PACKS, now=at)
    events = outcome_events(exception, outcome, now=at,
                            approval_timeout_minutes=DECIDING_PACKS.tenant.approval_timeout_minutes)
    run, effects = execution.start(outcome, DECIDING_PACKS, now=at, base_version=len(events))
    seeded = Seeded(tenant_id, exception_id, exception_type, outcome.severity.value,
                    (run.status if run else outcome.status).value, at, run, events)
    seeded.events += _envelopes(seeded, effects, at)
    assert seeded.status == STATUS_OF.get(exception_type, seeded.status), seeded.status
    return seeded


def approved(seeded: Seeded, *, by: str, at: datetime, tools_succeed: bool = True) -> list[EventEnvelope]:
    """An operator approves it at ``at``; its tools answer with success: the events that follow."""
    assert seeded.run is not None
    run, effects = execution.on_approval(seeded.run, granted=True, by=by, comment="fine", now=at)
    events = _envelopes(seeded, effects, at)
    while tools_succeed and (requests := [e for e in effects if isinstance(e, RequestTool)]):
        request = requests[0]
        run, effects = execution.on_tool_result(run, step=request.step, succeeded=True,
                                                detail={"status": 200, "response": {"ok": True}},
                                                idempotency_key=request.idempotency_key, now=at)
        events += _envelopes(seeded, effects, at)
    seeded.run, seeded.status = run, run.status.value
    seeded.events += events
    return events


async def store(database_url: str, *seeded: Seeded) -> None:
    """Write every event of these exceptions through the sink's writer, on a pool made as the sink's is."""
    async with open_pool(database_url, max_size=1) as pool:
        await EventWriter(pool).write_batch([event for s in seeded for event in s.events])
