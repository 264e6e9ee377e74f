"""What a handled input puts on the log and the decision stream: its events, the exception's
snapshot, and the stages of its decision record — for a decision outcome (:func:`decided`) and for
the effects of a later input on the playbook run (:func:`run_events`), and for what a new
occurrence of an exception id leaves of the one it replaces (:func:`superseded`,
:func:`replaced_tool_result`).

Pure: the agents call it, the CLI and the tests can too. Every id is deterministic, so a replayed
outcome publishes the same ids again and every consumer drops the duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sentinai.core import execution, rows
from sentinai.core.actor import TOOLS_AGENT, Actor
from sentinai.core.effects import Effect, EmitEvent
from sentinai.core.ids import approval_id_for
from sentinai.core.models import Decision, DecisionOutcome, NormalizedException
from sentinai.core.occurrence import NO_OCCURRENCE, Occurrence
from sentinai.core.packs import TenantPacks
from sentinai.core.redaction import redact_secrets
from sentinai.core.run import PlaybookRun
from sentinai.streams.decision import DecisionRecord, Stage, decision_record
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.transition import transition_id_for

PIPELINE = Actor(type="agent", id="decide")

_STAGE_EVENT = {"triage": "TriageCompleted", "policy": "PolicyEvaluated", "playbook": "PlaybookAssigned"}

# Events of later inputs that change what a consumer of the decision stream may act on: the stage
# each adds to its input's decision record.
LATER_STAGES = {
    "ApprovalGranted": "approval", "ApprovalRejected": "approval", "ApprovalExpired": "approval",
    "PlaybookStepCompleted": "playbook_step", "PlaybookStepWaiting": "playbook_step",
    "PlaybookStepFailed": "playbook_step", "ExceptionEscalated": "escalation",
    "ExceptionResolved": "resolution", "PlaybookRecalculated": "playbook_recalculated",
    "SLAImminent": "sla", "SLAExpired": "sla",
}


def outcome_events(exception: NormalizedException, outcome: DecisionOutcome, *, now: datetime,
                   approval_timeout_minutes: int = 60, base_version: int = 0,
                   occurrence: str = "") -> list[EventEnvelope]:
    """ExceptionNormalized, one event per stage, and the resulting status change, in order.

    Versions count up from ``base_version``: the exception's version after each event. The ids
    derive from ``occurrence``, the key of the exception id's occurrence.
    """
    tenant, exc_id = exception.tenant_id, exception.exception_id
    events: list[EventEnvelope] = []

    def add(event_type: str, payload: dict[str, Any], step: str = "") -> None:
        events.append(EventEnvelope.create(event_type=event_type, tenant_id=tenant, exception_id=exc_id,
                                           occurred_at=now, actor=PIPELINE, payload=payload, step=step,
                                           occurrence=occurrence, version=base_version + len(events) + 1))

    add("ExceptionNormalized", {})
    for decision in outcome.decisions:
        event_type = _STAGE_EVENT.get(decision.stage, "DecisionMade")
        if decision.stage == "playbook" and not decision.playbook_id:
            event_type = "PlaybookNotFound"
        add(event_type, {"decision": _decision_json(decision)}, step=decision.stage)
    if outcome.approval_required:
        add("ApprovalRequested", {"approval": {
            "approval_id": approval_id_for(tenant, exc_id, occurrence), "status": "PENDING",
            "reason": "policy requires human approval", "requested_at": now.isoformat(),
            "expires_at": (now + timedelta(minutes=approval_timeout_minutes)).isoformat(), "decided_by": None,
            "decided_at": None, "comment": None, "version": 1}})
    if outcome.escalated:
        add("ExceptionEscalated", {"reason": outcome.decisions[-1].decision})
    add("ExceptionStatusChanged", {"from": "OPEN", "to": outcome.status.value})
    return events


def _decision_json(d: Decision) -> dict[str, Any]:
    """``d.model_dump(mode="json")``, written out: a fifth of the cost, three times per exception."""
    return {"stage": d.stage, "decision": d.decision, "confidence": d.confidence, "evidence": list(d.evidence),
            "next_step": d.next_step, "exception_type": d.exception_type,
            "severity": d.severity.value if d.severity is not None else None, "status": d.status.value,
            "actionability": d.actionability.value if d.actionability is not None else None,
            "approval_required": d.approval_required, "playbook_id": d.playbook_id, "source": d.source}


def _stage(decision: Decision) -> Stage:
    return Stage(decision.stage, decision.decision, decision.confidence, list(decision.evidence), decision.next_step)


def outcome_stages(outcome: DecisionOutcome) -> list[Stage]:
    """The decision's stages, triage → policy → playbook, for its decision record."""
    return [_stage(d) for d in outcome.decisions]


def event_stage(event: EventEnvelope, *, next_step: str) -> Stage | None:
    """The stage a later event adds to its input's decision record; None when it adds none."""
    stage = LATER_STAGES.get(event.event_type)
    if stage is None:
        return None
    payload = event.payload
    evidence = str(payload.get("reason") or payload.get("name") or event.event_type)
    return Stage(stage, event.event_type, 1.0, [evidence], next_step)


def decision_source(outcome: DecisionOutcome) -> str:
    """Where the decision came from: ``rules``, ``llm`` or ``llm_fallback`` (the triage stage says)."""
    return next((d.source for d in outcome.decisions if d.stage == "triage"), "rules")


def actionability(outcome: DecisionOutcome) -> str | None:
    values = [d.actionability for d in outcome.decisions if d.actionability is not None]
    return values[-1].value if values else None


def next_step(run: PlaybookRun | None) -> str:
    """What the exception waits for after an input: a person, a tool…, or nothing more."""
    if run is None:
        return "none"
    return run.waiting_for or ("done" if run.completed else "continue")


def run_events(run: PlaybookRun | None, effects: Sequence[Effect], *, tenant_id: str, exception_id: str,
               occurrence: str, now: datetime) -> tuple[list[EventEnvelope], list[Stage]]:
    """The events among a run's effects, and the stages they add; ``run`` is the run after them,
    ``occurrence`` the key of the exception id's occurrence they belong to."""
    events, stages = [], []
    waiting = next_step(run)
    for effect in effects:
        if isinstance(effect, EmitEvent):
            event = EventEnvelope.create(event_type=effect.event_type, tenant_id=tenant_id, exception_id=exception_id,
                                         occurred_at=now, actor=effect.actor, payload=effect.payload,
                                         step=effect.step, occurrence=occurrence, version=effect.version)
            events.append(event)
            stage = event_stage(event, next_step=waiting)
            if stage is not None:
                stages.append(stage)
    return events, stages


@dataclass(frozen=True)
class Decided:
    """A decided exception's first transition: its events and stages, the playbook run started
    (and the effects still to carry out), and the exception's snapshot after all of it."""

    events: list[EventEnvelope]
    stages: list[Stage]
    run: PlaybookRun | None
    effects: list[Effect]
    snapshot: dict[str, Any]


SUPERSEDED = "the exception id was sent again after its dedup window: a new occurrence replaces this one"


def superseded(replaced: PlaybookRun | None, *, occurrence: str, now: datetime) -> list[EventEnvelope]:
    """What a new occurrence of an exception id closes of the occurrence it replaces, whose run
    stops: its approval, when it still waits for one (no operator should answer it any more)."""
    if replaced is None or replaced.approval != "PENDING":
        return []
    closed = replaced.copy()
    closed.approval, closed.approval_comment = "EXPIRED", SUPERSEDED
    return [EventEnvelope.create(event_type="ApprovalExpired", tenant_id=replaced.tenant_id,
                                 exception_id=replaced.exception_id, occurred_at=now, actor=PIPELINE,
                                 step=f"superseded:{replaced.approval_id()}", occurrence=occurrence,
                                 payload={"approval": rows.approval_snapshot(closed, now), "reason": SUPERSEDED})]


REPLACED_RESULT = "its occurrence was replaced (the exception id was sent again after its dedup window)"


def replaced_tool_result(*, tenant_id: str, exception_id: str, occurrence: str, step: Any, execution_id: str,
                         tool_name: str, request: Any, succeeded: bool, detail: dict[str, Any],
                         now: datetime) -> EventEnvelope:
    """The finish of a tool call made for an occurrence a newer one replaced, whose run is gone: the
    event the run would have recorded it with (ToolExecutionSucceeded / ToolExecutionFailed, the tool
    execution row at version 3), marked as not applied. It changes no exception row (no version).

    Its id derives from the call's key and the replaced ``occurrence``, so a replay of the result, or
    the tools agent re-sending it, gives the same event, which consumers drop.
    """
    status = "SUCCEEDED" if succeeded else "FAILED"
    row = rows.tool_row(execution_id=execution_id, tool_name=tool_name, arguments=request, status=status, now=now,
                        detail=redact_secrets(detail))
    return EventEnvelope.create(event_type=f"ToolExecution{status.title()}", tenant_id=tenant_id,
                                exception_id=exception_id, occurred_at=now, actor=TOOLS_AGENT,
                                step=f"replaced:{execution_id}", occurrence=occurrence,
                                payload={"step": step, "tool_execution": row, "applied": False,
                                         "reason": REPLACED_RESULT})


def decided(exception: NormalizedException, outcome: DecisionOutcome, packs: TenantPacks, *, now: datetime,
            occurrence: Occurrence = NO_OCCURRENCE, replaced: PlaybookRun | None = None,
            prelude: Sequence[EventEnvelope] = ()) -> Decided:
    """The decision's events, then the playbook run's first steps, as one transition's contents.

    ``occurrence`` is the occurrence of the exception id this decision starts (the default, for
    decisions that are not kept: the CLI's, what-if's); ``replaced`` the run of the earlier
    occurrence it replaces, if there is one (:func:`superseded`, last). ``prelude`` events go first
    (the LLM's proposal and explanation).
    """
    outcome_part = outcome_events(exception, outcome, now=now, occurrence=occurrence.key,
                                  approval_timeout_minutes=packs.tenant.approval_timeout_minutes)
    run, effects = execution.start(outcome, packs, now=now, base_version=len(outcome_part), occurrence=occurrence)
    steps, step_stages = run_events(run, effects, tenant_id=exception.tenant_id,
                                    exception_id=exception.exception_id, occurrence=occurrence.key, now=now)
    if run is None:
        snapshot = rows.decided_snapshot(outcome, version=len(outcome_part), occurrence=occurrence)
    else:
        snapshot = {**rows.exception_snapshot(run), **rows.input_fields(exception)}
    closed = superseded(replaced, occurrence=occurrence.key, now=now)
    return Decided(events=[*prelude, *outcome_part, *steps, *closed], stages=[*outcome_stages(outcome), *step_stages],
                   run=run, effects=effects, snapshot=snapshot)


def first_record(exception: NormalizedException, outcome: DecisionOutcome, result: Decided, *,
                 now: datetime) -> DecisionRecord:
    """The decision record of a decided exception, as the decisions topic carries it."""
    return decision_record(
        tenant_id=exception.tenant_id, exception_id=exception.exception_id,
        transition_id=transition_id_for(exception.tenant_id, exception.exception_id, result.events),
        decided_at=now, snapshot=result.snapshot, stages=result.stages,
        approval_required=outcome.approval_required, actionability=actionability(outcome),
        source=decision_source(outcome))  # type: ignore[arg-type]
