"""Acting on decisions: the playbook run of each exception, driven by its inputs.

Inputs are commands on co-partitioned topics (approvals and step completions from the web view,
tool and notification results from the tools agent, approval expiries, SLA ticks, and states and
tool-call outcomes to forget from the timer); each is
applied to the run (or the SLA clock) kept in the exception's state by the pure functions of
``sentinai.core.execution`` (``sentinai.core.sla``), and the effects are carried out *before* the
new state is stored: after a crash the same input is applied again and publishes the same
deterministic ids, instead of a stored state with effects that never happened.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from faust.types import EventT

from sentinai.agents.backpressure import SinkGate
from sentinai.agents.metrics import DECISIONS, EXCEPTION_STATES_FORGOTTEN, NOTIFICATIONS
from sentinai.core import execution
from sentinai.core.execution import (
    NETWORK_CHANNELS,
    EmitEvent,
    Notify,
    PlaybookRun,
    RejectCommand,
    RequestNotify,
    RequestTool,
)
from sentinai.core.models import Status
from sentinai.core.sla import emitted_phase, on_sla_tick
from sentinai.streams import codec
from sentinai.streams.direct_topic import DirectTopic
from sentinai.streams.envelope import Actor, DecisionRecord, EventEnvelope, event_id_for
from sentinai.tables import tool_calls
from sentinai.tables.exception_state import settled, sla_clock, state_key, with_run, with_sla_clock

log = logging.getLogger(__name__)
notifications = logging.getLogger("sentinai.notifications")

# Events that change what a consumer of the decision stream may act on: each becomes a record.
_LATER_DECISIONS = {
    "ApprovalGranted": "approval", "ApprovalRejected": "approval", "ApprovalExpired": "approval",
    "PlaybookStepCompleted": "playbook_step", "PlaybookStepWaiting": "playbook_step",
    "PlaybookStepFailed": "playbook_step", "ExceptionEscalated": "escalation",
    "ExceptionResolved": "resolution", "PlaybookRecalculated": "playbook_recalculated",
}


class CommandRejected(ValueError):
    """A command that cannot apply (unknown exception, no playbook, out of order): dead-lettered."""


@dataclass
class ActTopics:
    events: DirectTopic
    decisions: DirectTopic
    tool_requests: DirectTopic


def later_decision(run: PlaybookRun, effect: EmitEvent, *, now: datetime) -> DecisionRecord | None:
    stage = _LATER_DECISIONS.get(effect.event_type)
    if stage is None:
        return None
    payload = effect.payload
    return DecisionRecord(
        event_id=event_id_for(run.tenant_id, run.exception_id, "decision", f"{effect.event_type}:{effect.step}"),
        tenant_id=run.tenant_id, exception_id=run.exception_id, stage=stage, decision=effect.event_type,
        confidence=1.0, evidence=[str(payload.get("reason") or payload.get("name") or effect.event_type)],
        next_step=run.waiting_for or ("done" if run.completed else "continue"),
        exception_type=run.exception_type, severity=run.severity.value,
        status=payload.get("exception", {}).get("status", run.status.value), actionability=None,
        approval_required=run.approval == "PENDING", playbook_id=run.playbook_id, source="rules", decided_at=now)


class Act:
    def __init__(self, *, topics: ActTopics, exceptions_table: Any, tool_calls_table: Any, gate: SinkGate,
                 dedup_window_seconds: float) -> None:
        self.topics = topics
        self.exceptions = exceptions_table
        self.tool_calls = tool_calls_table
        self.gate = gate
        self.dedup_window_seconds = dedup_window_seconds

    def run_of(self, tenant: str, exception_id: str) -> PlaybookRun | None:
        state = self.exceptions.get(state_key(tenant, exception_id))
        if not state or not state.get("run"):
            return None
        return PlaybookRun.model_validate(state["run"])

    async def carry_out(self, run: PlaybookRun | None, effects: list[execution.Effect], *, tenant: str,
                        exception_id: str, partition: int, now: datetime) -> list[str]:
        """Publish the effects in order; return the reasons of refused commands."""
        key = tenant.encode()
        refused = []
        published = 0
        for effect in effects:
            if isinstance(effect, EmitEvent):
                envelope = EventEnvelope.create(event_type=effect.event_type, tenant_id=tenant,
                                                exception_id=exception_id, occurred_at=now, actor=effect.actor,
                                                payload=effect.payload, step=effect.step)
                await self.topics.events.send(key=key, value=codec.dumps(envelope), partition=partition)
                published += 1
                record = later_decision(run, effect, now=now) if run is not None else None
                if record is not None:
                    await self.topics.decisions.send(key=key, value=codec.dumps(record), partition=partition)
                    DECISIONS.labels(tenant, record.stage, record.source).inc()
            elif isinstance(effect, RequestTool):
                request = {"tenant_id": tenant, "exception_id": exception_id, "step": effect.step,
                           "tool_name": effect.tool_name, "arguments": effect.arguments,
                           "idempotency_key": effect.idempotency_key}
                await self.topics.tool_requests.send(key=key, value=codec.dumps(request), partition=partition)
            elif isinstance(effect, Notify) and effect.channel in NETWORK_CHANNELS:
                await self.request_notices(tenant, exception_id, partition, notices=(effect,))
            elif isinstance(effect, Notify):
                # channels without a connector are the log: one DEBUG line on sentinai.notifications and a count
                NOTIFICATIONS.labels(tenant, effect.channel).inc()
                notifications.debug("%s:%s (tenant %s): %s", effect.channel, effect.target, tenant, effect.message)
            elif isinstance(effect, RequestNotify):
                await self.request_notices(tenant, exception_id, partition, notices=effect.notices, step=effect.step,
                                           attempt=effect.attempt, idempotency_key=effect.idempotency_key)
            elif isinstance(effect, RejectCommand):
                refused.append(effect.reason)
        self.gate.published(published)
        return refused

    async def request_notices(self, tenant: str, exception_id: str, partition: int, *, notices: tuple[Notify, ...],
                              step: int | None = None, attempt: int = 1, idempotency_key: str | None = None) -> None:
        """Network notices go to the tools agent, which posts them; a step's come back as a result."""
        request = {"kind": "notify", "tenant_id": tenant, "exception_id": exception_id, "step": step,
                   "attempt": attempt, "idempotency_key": idempotency_key, "notices": [asdict(n) for n in notices]}
        await self.topics.tool_requests.send(key=tenant.encode(), value=codec.dumps(request), partition=partition)

    def store(self, run: PlaybookRun) -> None:
        key = state_key(run.tenant_id, run.exception_id)
        self.exceptions[key] = with_run(dict(self.exceptions.get(key) or {}), run)

    async def tick_sla(self, tenant: str, exception_id: str, *, partition: int) -> None:
        """SLAImminent / SLAExpired when due, each once: the clock in the state says what was sent.

        Exceptions without a playbook have clocks too. A playbook run is told the phase the SLA
        reached: it may be replaced by a playbook for that phase, or escalate when expired.
        """
        key = state_key(tenant, exception_id)
        state = self.exceptions.get(key)
        clock = sla_clock(state)
        if clock is None:
            raise CommandRejected(f"no SLA clock for exception {exception_id!r} of tenant {tenant!r} "
                                  "on this partition")
        now = datetime.now(UTC)
        new_clock, effects = on_sla_tick(clock, status=Status(state["status"]), now=now)
        run = new_run = self.run_of(tenant, exception_id)
        phase = emitted_phase(effects)
        if run is not None and phase is not None:
            new_run, run_effects = execution.on_sla(run, phase, now=now)
            effects = [*effects, *run_effects]
        await self.carry_out(new_run, effects, tenant=tenant, exception_id=exception_id, partition=partition,
                             now=now)
        if new_clock != clock or new_run is not run:
            updated = with_sla_clock(dict(state), new_clock)
            self.exceptions[key] = updated if new_run is run else with_run(updated, new_run)

    def forget(self, tenant: str, exception_ids: Any) -> None:
        """Drop the states the timer found settled, if they still are (an id may have come back)."""
        if not isinstance(exception_ids, list):
            raise CommandRejected("forget needs a list of exception_ids")
        now_epoch = datetime.now(UTC).timestamp()
        for exception_id in exception_ids:
            key = state_key(tenant, str(exception_id))
            if settled(self.exceptions.get(key), now_epoch=now_epoch, window_seconds=self.dedup_window_seconds):
                del self.exceptions[key]
                EXCEPTION_STATES_FORGOTTEN.labels(tenant).inc()

    def forget_tool_calls(self, tenant: str, keys: Any) -> None:
        """Drop the tenant's tool-call outcomes the timer found older than the dedup window."""
        if not isinstance(keys, list):
            raise CommandRejected("forget_tool_calls needs a list of keys")
        now_epoch = datetime.now(UTC).timestamp()
        for key in map(str, keys):
            entry = self.tool_calls.get(key)
            if (entry and entry.get("tenant_id") == tenant
                    and tool_calls.stale(entry, now_epoch=now_epoch, keep_seconds=self.dedup_window_seconds)):
                del self.tool_calls[key]

    async def handle(self, event: EventT) -> None:
        """One command; raises CommandRejected (or a decoding error) for the caller to dead-letter."""
        command = codec.loads(event.value)
        if not isinstance(command, dict):
            raise CommandRejected("a command must be a JSON object")
        tenant, exception_id = str(command.get("tenant_id") or ""), str(command.get("exception_id") or "")
        if command.get("command") == "sla_tick":
            await self.tick_sla(tenant, exception_id, partition=event.message.partition)
            return
        if command.get("command") == "forget":
            self.forget(tenant, command.get("exception_ids"))
            return
        if command.get("command") == "forget_tool_calls":
            self.forget_tool_calls(tenant, command.get("keys"))
            return
        run = self.run_of(tenant, exception_id)
        if run is None:
            raise CommandRejected(f"no playbook run for exception {exception_id!r} of tenant {tenant!r} "
                                  "on this partition")
        now = datetime.now(UTC)
        kind = command.get("command")
        if kind in ("approve", "reject"):
            new, effects = execution.on_approval(run, granted=kind == "approve", by=str(command.get("by") or ""),
                                                 comment=command.get("comment"), now=now)
        elif kind == "complete_step":
            new, effects = execution.on_step_completed(run, step=int(command["step"]),
                                                       by=Actor(type="user", id=str(command.get("by") or "")),
                                                       now=now)
        elif kind == "tool_result":
            new, effects = execution.on_tool_result(run, step=int(command["step"]),
                                                    succeeded=bool(command["succeeded"]),
                                                    detail=dict(command.get("detail") or {}),
                                                    idempotency_key=str(command["idempotency_key"]), now=now)
        elif kind == "notification_result":
            new, effects = execution.on_notification_result(run, step=int(command["step"]),
                                                            succeeded=bool(command["succeeded"]),
                                                            detail=dict(command.get("detail") or {}),
                                                            idempotency_key=str(command["idempotency_key"]), now=now)
        elif kind == "expire_approval":
            new, effects = execution.on_approval_expired(run, now=now)
        else:
            raise CommandRejected(f"unknown command {kind!r}")
        refused = await self.carry_out(new, effects, tenant=tenant, exception_id=exception_id,
                                       partition=event.message.partition, now=now)
        if new is not run:
            self.store(new)
        if refused:
            raise CommandRejected("; ".join(refused))
