"""decide(): triage -> policy -> playbook, one typed Decision per stage."""

from __future__ import annotations

from datetime import datetime

from sentinai.core.environment import condition_env
from sentinai.core.matching import PlaybookMatch, match_playbook
from sentinai.core.models import Decision, DecisionOutcome, NormalizedException, Status
from sentinai.core.packs import TenantPacks
from sentinai.core.policy import PolicyResult, evaluate_policy, with_nothing_to_approve
from sentinai.core.sla import sla_window
from sentinai.core.status import transition
from sentinai.core.triage import TriageResult, triage


def _final_status(policy: PolicyResult) -> Status:
    if policy.escalated:
        return Status.ESCALATED
    if policy.approval_required:
        return Status.PENDING_APPROVAL
    return Status.IN_PROGRESS


def _next_step(policy: PolicyResult) -> str:
    if policy.escalated:
        return "escalate_to_human"
    if policy.approval_required:
        return "await_approval"
    return "execute_playbook"


def _sla_deadline(
    exception: NormalizedException, packs: TenantPacks, exception_type: str, now: datetime
) -> datetime | None:
    """The context's `slaDeadline`, else `slaMinutesRemaining`, else the type's `slaMinutes`."""
    window = sla_window(exception, exception_type, packs, now)
    return window[1] if window else None


def _triage_decision(result: TriageResult) -> Decision:
    return Decision(
        stage="triage",
        decision="classified" if result.known_type else "unclassified",
        confidence=result.confidence,
        evidence=result.evidence,
        next_step="policy",
        exception_type=result.exception_type,
        severity=result.severity,
        status=Status.TRIAGED,
        actionability=None,
        approval_required=False,
        playbook_id=None,
        source="rules",
    )


def _policy_decision(
    result: TriageResult, policy: PolicyResult, match: PlaybookMatch | None
) -> Decision:
    if policy.escalated:
        verdict = "escalate"
    elif policy.approval_required:
        verdict = "require_approval"
    else:
        verdict = "auto_execute"
    return Decision(
        stage="policy",
        decision=verdict,
        confidence=result.confidence,
        evidence=policy.evidence,
        next_step="escalate_to_human" if policy.escalated else "playbook",
        exception_type=result.exception_type,
        severity=result.severity,
        status=Status.ESCALATED if policy.escalated else Status.TRIAGED,
        actionability=policy.actionability,
        approval_required=policy.approval_required,
        playbook_id=match.playbook_id if match else None,
        source="rules",
    )


def _playbook_decision(
    result: TriageResult, policy: PolicyResult, match: PlaybookMatch | None, status: Status
) -> Decision:
    return Decision(
        stage="playbook",
        decision="assigned" if match else "none",
        confidence=result.confidence,
        evidence=match.reasons if match else [f"no playbook applies to {result.exception_type}"],
        next_step=_next_step(policy),
        exception_type=result.exception_type,
        severity=result.severity,
        status=status,
        actionability=policy.actionability,
        approval_required=policy.approval_required,
        playbook_id=match.playbook_id if match else None,
        source="rules",
    )


def outcome_from_stages(exception: NormalizedException, packs: TenantPacks, triaged: TriageResult,
                        match: PlaybookMatch | None, policy: PolicyResult, *, now: datetime) -> DecisionOutcome:
    """The three stage decisions and the resulting state, from the stages' results.

    ``decide`` ends here; the LLM path re-enters here with its own (never weaker) triage result.
    """
    policy = with_nothing_to_approve(policy, match)
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


def decide(exception: NormalizedException, packs: TenantPacks, *, now: datetime) -> DecisionOutcome:
    """Run every stage for one exception. Pure: the same inputs give the same outcome."""
    env = condition_env(exception)
    triaged = triage(packs, exception.exception_type, env)
    match = match_playbook(packs, triaged.exception_type, triaged.severity, env)
    policy = evaluate_policy(packs, triaged, match)
    return outcome_from_stages(exception, packs, triaged, match, policy, now=now)
