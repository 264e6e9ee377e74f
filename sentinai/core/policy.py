"""Policy: may the playbook run on its own, does it need a human, or must it escalate."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sentinai.core.matching import PlaybookMatch
from sentinai.core.models import Actionability, Severity
from sentinai.core.packs import TenantPacks
from sentinai.core.triage import TriageResult


@dataclass(frozen=True, slots=True)
class PolicyResult:
    actionability: Actionability
    approval_required: bool
    escalated: bool
    blocked_tools: list[str]
    evidence: list[str]


def _approval_reasons(
    packs: TenantPacks, triage: TriageResult, match: PlaybookMatch | None
) -> list[str]:
    severity = triage.severity
    guardrails = packs.guardrails
    reasons: list[str] = []
    if packs.approval_by_severity.get(severity):
        reasons.append(f"tenant rule: {severity} requires approval")
    if severity is Severity.CRITICAL:
        reasons.append("CRITICAL severity always requires approval")
    if triage.confidence < guardrails.human_approval_threshold:
        reasons.append(
            f"confidence {triage.confidence:.2f} is below the approval threshold "
            f"{guardrails.human_approval_threshold:.2f}"
        )
    if triage.exception_type in packs.approval_types:
        reasons.append(f"{triage.exception_type} is listed in requireHumanApprovalFor")
    if severity in packs.no_auto_action:
        reasons.append(f"no automatic action at severity {severity}")
    if match is not None and not match.compiled.playbook.approved:
        reasons.append(f"playbook {match.playbook_id} is not approved")
    if match is not None and match.compiled.risky:
        reasons.append(f"playbook {match.playbook_id} has risky steps")
    return reasons


def _escalation_reasons(
    packs: TenantPacks, triage: TriageResult, match: PlaybookMatch | None
) -> list[str]:
    reasons: list[str] = []
    if match is None:
        reasons.append(f"no playbook applies to {triage.exception_type}")
    threshold = packs.guardrails.escalate_if_confidence_below
    if triage.confidence < threshold:
        reasons.append(
            f"confidence {triage.confidence:.2f} is below the escalation threshold {threshold:.2f}"
        )
    return reasons


def evaluate_policy(
    packs: TenantPacks, triage: TriageResult, match: PlaybookMatch | None
) -> PolicyResult:
    approval = _approval_reasons(packs, triage, match)
    escalation = _escalation_reasons(packs, triage, match)
    if match is None:
        actionability = Actionability.INFO_ONLY
    elif match.compiled.playbook.approved:
        actionability = Actionability.APPROVED_PLAYBOOK
    else:
        actionability = Actionability.NON_APPROVED_PLAYBOOK
    blocked = list(match.compiled.blocked_tools) if match is not None else []
    evidence = [f"approval required: {r}" for r in approval]
    evidence += [f"escalate: {r}" for r in escalation]
    evidence += [f"tool {t} is blocked by guardrails or not approved" for t in blocked]
    if not evidence:
        evidence.append("no guardrail requires approval or escalation")
    return PolicyResult(actionability, bool(approval), bool(escalation), blocked, evidence)


NOTHING_TO_APPROVE = "no approval: no playbook applies, so nothing waits for one; a human takes the escalation"


def with_nothing_to_approve(policy: PolicyResult, match: PlaybookMatch | None) -> PolicyResult:
    """``policy`` as it stands when a playbook applies; without one, no approval is required.

    An approval gates a playbook run: with no run nothing could be granted, rejected or expire, and
    an approval requested anyway stayed pending for ever. The exception escalates instead (no
    playbook is an escalation reason of its own). The rules' and the LLM's outcomes both end here.
    """
    if match is not None or not policy.approval_required:
        return policy
    evidence = [e for e in policy.evidence if not e.startswith("approval required: ")]
    return replace(policy, approval_required=False, evidence=[*evidence, NOTHING_TO_APPROVE])
