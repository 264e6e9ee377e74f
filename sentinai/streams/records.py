"""What one decision outcome publishes: the events of the log and the decision records.

Pure: the agents call it, the CLI and the tests can too. Every id is deterministic, so a replayed
outcome publishes the same ids again and every consumer drops the duplicates.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sentinai.core.models import Decision, DecisionOutcome, NormalizedException
from sentinai.streams.envelope import Actor, DecisionRecord, EventEnvelope, event_id_for

PIPELINE = Actor(type="agent", id="decide")


def exception_snapshot(outcome: DecisionOutcome, *, version: int, current_step: int | None = None,
                       owner: str | None = None) -> dict[str, Any]:
    """The exception's state after an event, as the sink projects it into ``exceptions``."""
    exc = outcome.exception
    return {
        "source_system": exc.source_system,
        "exception_type": outcome.exception_type,
        "severity": outcome.severity.value,
        "status": outcome.status.value,
        "owner": owner,
        "playbook_id": outcome.playbook_id,
        "current_step": current_step,
        "sla_deadline": outcome.sla_deadline.isoformat() if outcome.sla_deadline else None,
        "version": version,
    }


def _decision_payload(decision: Decision) -> dict[str, Any]:
    return {"decision": decision.model_dump(mode="json")}


_STAGE_EVENT = {"triage": "TriageCompleted", "policy": "PolicyEvaluated", "playbook": "PlaybookAssigned"}


def outcome_events(exception: NormalizedException, outcome: DecisionOutcome, *, now: datetime,
                   approval_timeout_minutes: int = 60, base_version: int = 0) -> list[EventEnvelope]:
    """ExceptionNormalized, one event per stage, and the resulting status change, in order.

    Versions count up from ``base_version`` so that the sink's versioned upsert keeps the newest.
    """
    tenant, exc_id = exception.tenant_id, exception.exception_id
    events: list[EventEnvelope] = []
    version = base_version

    def add(event_type: str, payload: dict[str, Any], step: str = "", **snapshot_extra: Any) -> None:
        nonlocal version
        version += 1
        payload["exception"] = {**exception_snapshot(outcome, version=version), **snapshot_extra}
        events.append(EventEnvelope.create(event_type=event_type, tenant_id=tenant, exception_id=exc_id,
                                           occurred_at=now, actor=PIPELINE, payload=payload, step=step))

    add("ExceptionNormalized", {}, raw_payload=exception.payload,
        normalized_context={**exception.context, "occurred_at": exception.occurred_at.isoformat(),
                            "source_system": exception.source_system,
                            "exception_type": exception.exception_type})
    for decision in outcome.decisions:
        event_type = _STAGE_EVENT.get(decision.stage, "DecisionMade")
        if decision.stage == "playbook" and not decision.playbook_id:
            event_type = "PlaybookNotFound"
        add(event_type, _decision_payload(decision), step=decision.stage)
    if outcome.approval_required:
        add("ApprovalRequested", {"approval": {
            "approval_id": event_id_for(tenant, exc_id, "approval"), "status": "PENDING",
            "reason": "policy requires human approval", "requested_at": now.isoformat(),
            "expires_at": (now + timedelta(minutes=approval_timeout_minutes)).isoformat(), "decided_by": None, "decided_at": None, "comment": None, "version": 1}})
    if outcome.escalated:
        add("ExceptionEscalated", {"reason": outcome.decisions[-1].decision})
    add("ExceptionStatusChanged", {"from": "OPEN", "to": outcome.status.value})
    return events


def decision_records(exception: NormalizedException, outcome: DecisionOutcome, *,
                     now: datetime) -> list[DecisionRecord]:
    """One record per stage, for ``sentinai.decisions``."""
    return [
        DecisionRecord(
            event_id=event_id_for(exception.tenant_id, exception.exception_id, "decision", d.stage),
            tenant_id=exception.tenant_id, exception_id=exception.exception_id, stage=d.stage,
            decision=d.decision, confidence=d.confidence, evidence=list(d.evidence), next_step=d.next_step,
            exception_type=d.exception_type, severity=d.severity.value if d.severity else None,
            status=d.status.value, actionability=d.actionability.value if d.actionability else None,
            approval_required=d.approval_required, playbook_id=d.playbook_id, source=d.source,  # type: ignore[arg-type]
            decided_at=now,
        )
        for d in outcome.decisions
    ]
