"""The record of ``sentinai.decisions``: one per handled input that changes what a consumer acts on.

It holds the exception's resulting state and the ordered stages that produced it. The first
record of an exception carries triage → policy → playbook (and the playbook steps that ran in the
same pass); a later input (an approval, a step completed, a tool result, an escalation, an SLA
phase, the resolution) gives one record with its own stages. The SSE stream, the status page and
``sentinai decide`` show the same record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sentinai.core.ids import event_id_for
from sentinai.streams.codec import dumps

DecisionSource = Literal["rules", "llm", "llm_fallback"]


@dataclass(frozen=True, slots=True)
class Stage:
    stage: str
    decision: str
    confidence: float
    evidence: list[str]
    next_step: str


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    event_id: str
    tenant_id: str
    exception_id: str
    decided_at: datetime
    exception_type: str | None
    severity: str | None
    status: str
    actionability: str | None
    approval_required: bool
    playbook_id: str | None
    current_step: int | None
    source: DecisionSource
    confidence: float
    stages: list[Stage]

    def as_json(self) -> dict[str, Any]:
        """The record as it travels (``dataclasses.asdict`` deep-copies: several times the cost)."""
        return {"event_id": self.event_id, "tenant_id": self.tenant_id, "exception_id": self.exception_id,
                "decided_at": self.decided_at.isoformat(), "exception_type": self.exception_type,
                "severity": self.severity, "status": self.status, "actionability": self.actionability,
                "approval_required": self.approval_required, "playbook_id": self.playbook_id,
                "current_step": self.current_step, "source": self.source, "confidence": self.confidence,
                "stages": [{"stage": s.stage, "decision": s.decision, "confidence": s.confidence,
                            "evidence": s.evidence, "next_step": s.next_step} for s in self.stages]}

    def encode(self) -> bytes:
        return dumps(self)


def decision_record(*, tenant_id: str, exception_id: str, transition_id: str, decided_at: datetime,
                    snapshot: dict[str, Any], stages: list[Stage], approval_required: bool,
                    actionability: str | None = None, source: DecisionSource = "rules") -> DecisionRecord:
    """The record of one handled input: the state after it (``snapshot``) and its ``stages``.

    Its id derives from the transition's, so a replayed input gives the same record id.
    """
    return DecisionRecord(
        event_id=event_id_for(tenant_id, exception_id, "decision", transition_id),
        tenant_id=tenant_id, exception_id=exception_id, decided_at=decided_at,
        exception_type=snapshot.get("exception_type"), severity=snapshot.get("severity"),
        status=snapshot["status"], actionability=actionability, approval_required=approval_required,
        playbook_id=snapshot.get("playbook_id"), current_step=snapshot.get("current_step"), source=source,
        confidence=min((s.confidence for s in stages), default=1.0), stages=stages,
    )


_FIRST_RELEASE_STAGE = ("stage", "decision", "evidence", "next_step")


def in_stages_shape(record: dict[str, Any]) -> dict[str, Any]:
    """A decision record of the first release — one stage, its ``stage``, ``decision``,
    ``evidence`` and ``next_step`` at the top, no ``stages`` — in this release's shape (its
    ``confidence`` is the stage's too); any other record as it is. Such records stay on the
    decisions topic after an upgrade, and the web view's stream shows the one shape its schema has."""
    if "stages" in record or "stage" not in record:
        return record
    stage = {"stage": record["stage"], "decision": record.get("decision"), "confidence": record.get("confidence"),
             "evidence": record.get("evidence") or [], "next_step": record.get("next_step")}
    return {**{k: v for k, v in record.items() if k not in _FIRST_RELEASE_STAGE}, "stages": [stage]}
