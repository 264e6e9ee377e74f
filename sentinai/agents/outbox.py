"""Where a handled input's result goes: one transition on the events topic and at most one
decision record on the decisions topic, on the input's own partition.

:class:`Draft` collects what the input did while it is handled (its events, in order, and the
stages of its decision record); :meth:`Outbox.publish` sends it as one transition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sentinai.metrics import DECISIONS
from sentinai.sinks.backpressure import SinkGate
from sentinai.streams.decision import DecisionRecord, DecisionSource, Stage, decision_record
from sentinai.streams.direct_topic import DirectTopic
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.transition import Transition, transition


@dataclass
class Draft:
    """One input's transition while it is being handled; ``occurrence`` is the key of the exception
    id's occurrence it belongs to (``sentinai.core.occurrence``), for the requests it sends."""

    tenant_id: str
    exception_id: str
    source: tuple[str, int, int] | None
    events: list[EventEnvelope] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    occurrence: str = ""


@dataclass
class Outbox:
    events: DirectTopic
    decisions: DirectTopic
    gate: SinkGate

    async def publish(self, draft: Draft, *, partition: int, snapshot: dict[str, Any] | None, now: datetime,
                      state: dict[str, Any] | None = None, approval_required: bool = False,
                      actionability: str | None = None,
                      source: DecisionSource = "rules") -> tuple[Transition, DecisionRecord | None] | None:
        """Send the draft as one transition, and a decision record when it has stages.

        ``snapshot`` is the exception's row after the input (None: the row does not change);
        the decision record shows it, or ``state`` (the exception as it stands) when it is None.
        Nothing is sent for a draft without events (an input that changed nothing, a replay).
        """
        if not draft.events:
            return None
        tenant = draft.tenant_id
        key = tenant.encode()
        record = transition(tenant_id=tenant, exception_id=draft.exception_id, events=draft.events,
                            snapshot=snapshot, source=draft.source)
        await self.events.send(key=key, value=record.encode(), partition=partition)
        self.gate.published(1)
        decision = None
        shown = snapshot if snapshot is not None else state
        if draft.stages and shown is not None:
            decision = decision_record(tenant_id=tenant, exception_id=draft.exception_id,
                                       transition_id=record.transition_id, decided_at=now, snapshot=shown,
                                       stages=draft.stages, approval_required=approval_required,
                                       actionability=actionability, source=source)
            await self.decisions.send(key=key, value=decision.encode(), partition=partition)
            DECISIONS.labels(tenant, draft.stages[-1].stage, source).inc()
        return record, decision
