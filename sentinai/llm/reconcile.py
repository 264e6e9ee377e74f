"""Folding a model's proposal into the rules' outcome: strengthen, never weaken. Pure.

The rules' result is the floor. From a proposal the decision takes:
- the exception type, only when it is a type of the tenant's domain and the rules did not have
  it from the source (a source-given, known type is authoritative); the new type's rules
  severity, playbook, policy and SLA then apply, through the core's own stages;
- the severity, only upwards: the final severity is the highest of the rules' result, the
  rules' severity of the (new) type and the proposal;
- approval and escalation, only upwards: each is required when the rules, the re-run policy
  or the model ask for it; a type the model changed always needs approval, since the type picks
  the playbook and payload text (possibly an injection) must not pick what runs unattended;
- the SLA deadline, only earlier.
Everything the model said that was not applied is written into the evidence, with why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sentinai.core.engine import outcome_from_stages
from sentinai.core.environment import condition_env
from sentinai.core.matching import match_playbook
from sentinai.core.models import Decision, DecisionOutcome, Severity
from sentinai.core.packs import TenantPacks
from sentinai.core.policy import PolicyResult, evaluate_policy
from sentinai.core.triage import CONFIDENCE_DETECTED, CONFIDENCE_GIVEN, TriageResult, severity_for

LLM = "llm"
LLM_FALLBACK = "llm_fallback"

LLM_CONFIDENCE_CAP = CONFIDENCE_DETECTED
"""A model's self-reported confidence in a type it chose counts at most as much as a detection rule's."""

_TEXT_CHARS = 300


@dataclass(frozen=True, slots=True)
class Proposal:
    """A schema-valid assessment answer (see `core/llm_schemas/assessment.json`)."""

    exception_type: str
    severity: Severity
    confidence: float
    root_cause_hypothesis: str
    requires_approval: bool
    escalate: bool
    rationale: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proposal:
        return cls(
            exception_type=data["exception_type"],
            severity=Severity(data["severity"]),
            confidence=float(data["confidence"]),
            root_cause_hypothesis=_clip(data["root_cause_hypothesis"]),
            requires_approval=data["requires_approval"],
            escalate=data["escalate"],
            rationale=_clip(data["rationale"]),
        )


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_CHARS else text[: _TEXT_CHARS - 1] + "…"


def _stage(outcome: DecisionOutcome, stage: str) -> Decision:
    return next(d for d in outcome.decisions if d.stage == stage)


def _rules_triage(rules: DecisionOutcome) -> TriageResult:
    decision = _stage(rules, "triage")
    return TriageResult(rules.exception_type, decision.decision == "classified", rules.severity,
                        decision.confidence, list(decision.evidence))


def with_source(outcome: DecisionOutcome, source: str, note: str | None = None) -> DecisionOutcome:
    """Every stage decision marked with `source`, and `note` appended to each one's evidence."""
    extra = [note] if note else []
    decisions = [d.model_copy(update={"source": source, "evidence": [*d.evidence, *extra]})
                 for d in outcome.decisions]
    return outcome.model_copy(update={"decisions": decisions})


def fallback_outcome(rules: DecisionOutcome, reason: str) -> DecisionOutcome:
    """The rules' result unchanged, marked `llm_fallback` with the reason in every stage's evidence."""
    return with_source(rules, LLM_FALLBACK, f"LLM fallback ({reason}); the rules' result stands")


def _choose_type(rules: TriageResult, proposal: Proposal, packs: TenantPacks,
                 notes: list[str]) -> str:
    proposed, current = proposal.exception_type, rules.exception_type
    if proposed == current:
        return current
    if proposed not in packs.exception_types:
        notes.append(f"LLM type {proposed} is not a type of domain {packs.domain.domain_name}; "
                     f"kept the rules' type {current}")
        return current
    if rules.known_type and rules.confidence >= CONFIDENCE_GIVEN:
        notes.append(f"LLM type {proposed} differs from the type {current} given by the source; "
                     f"kept {current}")
        return current
    notes.append(f"LLM reclassified {current} as {proposed}")
    return proposed


def _triage(rules: TriageResult, proposal: Proposal, packs: TenantPacks, env: dict[str, Any],
            notes: list[str]) -> TriageResult:
    exception_type = _choose_type(rules, proposal, packs, notes)
    evidence = list(rules.evidence)
    evidence.append(f"LLM proposed {proposal.exception_type} at {proposal.severity} "
                    f"(confidence {proposal.confidence:.2f}); root cause: {proposal.root_cause_hypothesis}")
    known, confidence, floor = rules.known_type, rules.confidence, rules.severity
    if exception_type != rules.exception_type:
        env["exceptionType"] = exception_type
        type_severity = severity_for(exception_type, packs, env, evidence)
        if type_severity.rank > floor.rank:
            floor = type_severity
        known, confidence = True, min(proposal.confidence, LLM_CONFIDENCE_CAP)
    if proposal.severity.rank < floor.rank:
        notes.append(f"LLM severity {proposal.severity} is below the rules' {floor}; kept {floor}")
        severity = floor
    else:
        if proposal.severity.rank > floor.rank:
            notes.append(f"LLM raised the severity from {floor} to {proposal.severity}")
        severity = proposal.severity
    env["severity"] = severity.value
    evidence.extend(notes)
    return TriageResult(exception_type, known, severity, confidence, evidence)


def _policy(recomputed: PolicyResult, rules: DecisionOutcome, proposal: Proposal,
            reclassified: bool) -> PolicyResult:
    raised: list[str] = []
    approval, escalated = recomputed.approval_required, recomputed.escalated
    if rules.approval_required and not approval:
        raised.append("approval required: the rules required it and the LLM cannot lower that")
    if reclassified and not approval and not rules.approval_required:
        raised.append(f"approval required: the LLM changed the type to {proposal.exception_type}; "
                      "a human confirms before its playbook runs")
    if proposal.requires_approval and not approval and not rules.approval_required:
        raised.append(f"approval required: LLM advice ({proposal.rationale})")
    if rules.escalated and not escalated:
        raised.append("escalate: the rules escalated and the LLM cannot lower that")
    if proposal.escalate and not escalated and not rules.escalated:
        raised.append(f"escalate: LLM advice ({proposal.rationale})")
    approval = approval or rules.approval_required or proposal.requires_approval or reclassified
    escalated = escalated or rules.escalated or proposal.escalate
    ignored = []
    if approval and not proposal.requires_approval:
        ignored.append(f"LLM advised no approval; approval stays required ({proposal.rationale})")
    if escalated and not proposal.escalate:
        ignored.append("LLM advised no escalation; the escalation stands")
    unchanged = not (recomputed.approval_required or recomputed.escalated or recomputed.blocked_tools)
    evidence = [] if unchanged and raised else list(recomputed.evidence)
    return PolicyResult(recomputed.actionability, approval, escalated, list(recomputed.blocked_tools),
                        evidence + raised + ignored)


def apply_proposal(rules: DecisionOutcome, packs: TenantPacks, proposal: Proposal, *,
                   now: datetime) -> tuple[DecisionOutcome, list[str]]:
    """The final outcome (source `llm`) and notes on what of the proposal was changed or clamped."""
    exception = rules.exception
    env = condition_env(exception)
    env["exceptionType"] = rules.exception_type
    notes: list[str] = []
    triaged = _triage(_rules_triage(rules), proposal, packs, env, notes)
    match = match_playbook(packs, triaged.exception_type, triaged.severity, env)
    reclassified = triaged.exception_type != rules.exception_type
    policy = _policy(evaluate_policy(packs, triaged, match), rules, proposal, reclassified)
    outcome = outcome_from_stages(exception, packs, triaged, match, policy, now=now)
    deadlines = [d for d in (rules.sla_deadline, outcome.sla_deadline) if d is not None]
    outcome = outcome.model_copy(update={"sla_deadline": min(deadlines) if deadlines else None})
    return with_source(outcome, LLM), notes
