"""Typed values the decision core takes and returns.

Everything a later stage needs is a structured field: no consumer ever parses the
human-readable `decision`, `evidence` or `next_step` text.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

UNCLASSIFIED = "UNCLASSIFIED"
"""The exception type of an exception that no rule could classify."""


class Severity(StrEnum):
    """Severity of an exception, ordered from LOW to CRITICAL (see `rank`)."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK: dict[Severity, int] = {s: i for i, s in enumerate(Severity)}


def severity_rank(severity: Severity | str) -> int:
    """Position of a severity in LOW < MEDIUM < HIGH < CRITICAL (0..3)."""
    return _SEVERITY_RANK[Severity(severity)]


class Status(StrEnum):
    """Lifecycle status of an exception; the legal moves are in `sentinai.core.status`."""

    OPEN = "OPEN"
    TRIAGED = "TRIAGED"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    IN_PROGRESS = "IN_PROGRESS"
    ESCALATED = "ESCALATED"
    REJECTED = "REJECTED"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


class Actionability(StrEnum):
    APPROVED_PLAYBOOK = "APPROVED_PLAYBOOK"
    NON_APPROVED_PLAYBOOK = "NON_APPROVED_PLAYBOOK"
    INFO_ONLY = "INFO_ONLY"


class NormalizedException(BaseModel):
    """An exception after `normalize`: canonical names, upper-case type, aware timestamp."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    exception_id: str
    source_system: str | None
    exception_type: str | None
    occurred_at: datetime
    payload: dict[str, Any]
    context: dict[str, Any]


class Decision(BaseModel):
    """The typed result of one stage (`triage`, `policy` or `playbook`)."""

    model_config = ConfigDict(frozen=True)

    stage: str
    decision: str
    confidence: float
    evidence: list[str]
    next_step: str
    exception_type: str | None
    severity: Severity | None
    status: Status
    actionability: Actionability | None
    approval_required: bool
    playbook_id: str | None
    source: str = "rules"


class DecisionOutcome(BaseModel):
    """All stage decisions for one exception plus the resulting state, flattened."""

    model_config = ConfigDict(frozen=True)

    exception: NormalizedException
    decisions: list[Decision]
    exception_type: str
    severity: Severity
    status: Status
    approval_required: bool
    escalated: bool
    playbook_id: str | None
    sla_deadline: datetime | None
    blocked_tools: list[str]
