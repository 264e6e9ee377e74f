"""Publishing a decided exception, for intake and the LLM stage alike.

decide (done by the caller) → one transition (the decision's events, the playbook steps that run at
once, a backpressure change) and one decision record → one state write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sentinai.agents.effects import Effects
from sentinai.agents.outbox import Draft, Outbox
from sentinai.core.models import DecisionOutcome, NormalizedException
from sentinai.core.occurrence import Occurrence
from sentinai.core.packs import TenantPacks
from sentinai.core.sla import start_clock
from sentinai.metrics import BACKPRESSURE
from sentinai.sinks.backpressure import SinkGate
from sentinai.streams import records
from sentinai.streams.envelope import EventEnvelope
from sentinai.tables import exception_state, tenant_state


class Outcomes:
    def __init__(self, *, outbox: Outbox, effects: Effects, exceptions_table: Any, tenants_table: Any,
                 gate: SinkGate) -> None:
        self.outbox = outbox
        self.effects = effects
        self.exceptions = exceptions_table
        self.tenants = tenants_table
        self.gate = gate

    async def publish(self, exception: NormalizedException, outcome: DecisionOutcome, packs: TenantPacks, *,
                      source: tuple[str, int, int], partition: int, occurrence: Occurrence, now: datetime,
                      prelude: Sequence[EventEnvelope] = ()) -> None:
        """The decision's transition and record, then the exception's state (with its SLA clock).

        ``occurrence`` is the exception id's occurrence the decision belongs to
        (:func:`sentinai.tables.exception_state.occurrence_for`). ``prelude`` events go first (the
        LLM's proposal and explanation).
        """
        tenant = exception.tenant_id
        key = exception_state.state_key(tenant, exception.exception_id)
        prior = self.exceptions.get(key)
        replay = exception_state.decided_from(prior, source)
        replaced = exception_state.run_of(prior) if prior is not None and not replay else None
        result = records.decided(exception, outcome, packs, now=now, occurrence=occurrence, replaced=replaced,
                                 prelude=prelude)
        draft = Draft(tenant, exception.exception_id, source, events=list(result.events), stages=list(result.stages),
                      occurrence=occurrence.key)
        await self.effects.carry_out(result.effects, draft, partition=partition)
        run, snapshot = result.run, result.snapshot
        self._note_backpressure(draft, source)
        await self.outbox.publish(draft, partition=partition, snapshot=snapshot, now=now,
                                  approval_required=outcome.approval_required,
                                  actionability=records.actionability(outcome),
                                  source=records.decision_source(outcome))  # type: ignore[arg-type]
        if replay:
            return  # keep what the act agent has done since the decision
        state = exception_state.decided_state(
            source=source, now_epoch=occurrence.first_seen, status=snapshot["status"], severity=outcome.severity.value,
            exception_type=outcome.exception_type, playbook_id=outcome.playbook_id, version=snapshot["version"],
            sla=start_clock(outcome, packs, now), occurrence=occurrence.key)
        self.exceptions[key] = state if run is None else exception_state.with_run(state, run)

    def _note_backpressure(self, draft: Draft, source: tuple[str, int, int]) -> None:
        """When the sink's lag on this worker moved the tenant's level, the transition says so."""
        tenant = draft.tenant_id
        level = self.gate.level()
        BACKPRESSURE.labels(tenant).set(tenant_state.BACKPRESSURE_LEVELS.index(level))
        state = self.tenants.get(tenant)
        before = tenant_state.backpressure(state)
        if level == before:
            return
        draft.events.append(EventEnvelope.create(
            event_type="BackpressureChanged", tenant_id=tenant, exception_id=draft.exception_id,
            occurred_at=draft.events[-1].occurred_at, actor=records.PIPELINE, step=":".join(map(str, source)),
            payload={"from": before, "to": level, "sink_pending": self.gate.pending}))
        self.tenants[tenant] = tenant_state.with_backpressure(state, level)
