"""Exceptions seeded the way the pipeline makes them, for tests of what reads PostgreSQL.

The decision core decides each exception on the sample packs of ``acme-capital`` (whatever tenant
it is seeded under), the pipeline's own builders make its transitions (the intake's
``records.decided``, the act agent's playbook run: ``on_approval``, ``on_tool_result`` through
``records.run_events``), and the sink's :class:`~sentinai.sinks.writer.EventWriter` stores them.
So every row and status a test reads is one the pipeline writes.

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

from sentinai.core import execution, rows
from sentinai.core.effects import Effect, RequestTool
from sentinai.core.engine import decide
from sentinai.core.ids import approval_id_for
from sentinai.core.normalize import normalize
from sentinai.core.packs.loader import load_pack_dir
from sentinai.core.run import PlaybookRun
from sentinai.sinks.pool import open_pool
from sentinai.sinks.writer import EventWriter
from sentinai.streams import records
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.transition import Transition, transition

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
    """One exception as the pipeline left it: its transitions so far and its playbook run."""

    tenant_id: str
    exception_id: str
    exception_type: str
    severity: str
    status: str
    created_at: datetime
    run: PlaybookRun | None
    transitions: list[Transition] = field(default_factory=list)

    @property
    def events(self) -> list[EventEnvelope]:
        return [e for t in self.transitions for e in t.events]

    @property
    def approval_id(self) -> str:
        return approval_id_for(self.tenant_id, self.exception_id)


def _after(seeded: Seeded, run: PlaybookRun, effects: list[Effect], at: datetime) -> list[EventEnvelope]:
    """The act agent's transition for these effects, added to ``seeded``; its events."""
    events, _ = records.run_events(run, effects, tenant_id=seeded.tenant_id, exception_id=seeded.exception_id,
                                   occurrence=run.occurrence.key, now=at)
    if events:
        seeded.transitions.append(transition(tenant_id=seeded.tenant_id, exception_id=seeded.exception_id,
                                             events=events, snapshot=rows.exception_snapshot(run)))
    return events


def decided(tenant_id: str, exception_id: str, exception_type: str, *, at: datetime,
            payload: dict[str, Any] | None = None, context: dict[str, Any] | None = None) -> Seeded:
    """The exception decided at ``at``: the intake's transition, the playbook run's first steps in it."""
    raw = {"tenant_id": tenant_id, "exception_id": exception_id, "source_system": "settlements",
           "exception_type": exception_type, "occurred_at": at.isoformat(),
           "payload": payload or {"orderId": f"ORD-{exception_id}", "amount": 125000.0}, "context": context or {}}
    exception = normalize(raw, now=at, known_tenants={tenant_id})
    outcome = decide(exception, DECIDING_PACKS, now=at)
    result = records.decided(exception, outcome, DECIDING_PACKS, now=at)
    seeded = Seeded(tenant_id, exception_id, exception_type, outcome.severity.value, result.snapshot["status"],
                    at, result.run, [transition(tenant_id=tenant_id, exception_id=exception_id,
                                                events=result.events, snapshot=result.snapshot)])
    assert seeded.status == STATUS_OF.get(exception_type, seeded.status), seeded.status
    return seeded


def approved(seeded: Seeded, *, by: str, at: datetime, tools_succeed: bool = True) -> list[EventEnvelope]:
    """An operator approves it at ``at``; its tools answer with success: the events that follow."""
    assert seeded.run is not None
    run, effects = execution.on_approval(seeded.run, granted=True, by=by, comment="fine", now=at)
    events = _after(seeded, run, effects, at)
    while tools_succeed and (requests := [e for e in effects if isinstance(e, RequestTool)]):
        request = requests[0]
        run, effects = execution.on_tool_result(run, step=request.step, succeeded=True,
                                                detail={"status": 200, "response": {"ok": True}},
                                                idempotency_key=request.idempotency_key, now=at)
        events += _after(seeded, run, effects, at)
    seeded.run, seeded.status = run, run.status.value
    return events


def expired(seeded: Seeded, *, at: datetime) -> list[EventEnvelope]:
    """Nobody answers its approval: the timer expires it at ``at`` (after its timeout)."""
    assert seeded.run is not None
    run, effects = execution.on_approval_expired(seeded.run, now=at)
    events = _after(seeded, run, effects, at)
    seeded.run, seeded.status = run, run.status.value
    return events


async def store(database_url: str, *seeded: Seeded) -> None:
    """Write every transition of these exceptions through the sink's writer, on a pool made as the sink's is."""
    async with open_pool(database_url, max_size=1) as pool:
        await EventWriter(pool).write_batch([t for s in seeded for t in s.transitions])
