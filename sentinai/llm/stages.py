"""The core's downstream stages, re-entered after the LLM changed the triage result.

`engine.decide` runs triage → playbook match → policy → status as one function; the LLM path
needs to start after triage, with its own triage result. This module is the only place that
reaches into core internals to do so, reusing the engine's decision builders and the triage
stage's severity grading instead of copying them. Once the core exposes the two entry points
(see docs/llm.md, "Core changes"), these become re-exports.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sentinai.core.engine import (
    _final_status,
    _playbook_decision,
    _policy_decision,
    _sla_deadline,
    _triage_decision,
)
from sentinai.core.matching import PlaybookMatch
from sentinai.core.models import DecisionOutcome, NormalizedException, Severity, Status
from sentinai.core.packs import TenantPacks
from sentinai.core.policy import PolicyResult
from sentinai.core.status import transition
from sentinai.core.triage import TriageResult, _severity


def severity_for(exception_type: str, packs: TenantPacks, env: dict[str, Any],
                 evidence: list[str]) -> Severity:
    """The rules' severity of `exception_type` (rules, tenant override, type default), with evidence."""
    return _severity(exception_type, packs, env, evidence)


def outcome_from_stages(exception: NormalizedException, packs: TenantPacks, triaged: TriageResult,
                        match: PlaybookMatch | None, policy: PolicyResult, *,
                        now: datetime) -> DecisionOutcome:
    """The tail of `engine.decide`: the three stage decisions and the resulting state."""
    status = transition(transition(Status.OPEN, Status.TRIAGED), _final_status(policy))
    return DecisionOutcome(
        exception=exception,
        decisions=[
            _triage_decision(triaged),
            _policy_decision(triaged, policy, match),
            _playbook_decision(triaged, policy, match, status),
        ],
        exception_type=triaged.exception_type,
        severity=triaged.severity,
        status=status,
        approval_required=policy.approval_required,
        escalated=policy.escalated,
        playbook_id=match.playbook_id if match else None,
        sla_deadline=_sla_deadline(exception, packs, triaged.exception_type, now),
        blocked_tools=policy.blocked_tools,
    )
