"""Table-driven tests of decide(): the seed's cases on the sample packs, then every rule."""

from datetime import timedelta
from typing import Any

import pytest

from sentinai.core.engine import decide
from sentinai.core.models import Actionability, DecisionOutcome, Severity, Status
from sentinai.core.normalize import normalize
from sentinai.core.packs import PackSet, build_pack_set
from sentinai.core.policy import NOTHING_TO_APPROVE

from .conftest import NOW, mini_docs


def run(pack_set: PackSet, tenant: str, raw: dict[str, Any]) -> DecisionOutcome:
    packs = pack_set.for_tenant(tenant)
    assert packs is not None
    return decide(normalize({"tenant_id": tenant, **raw}, now=NOW), packs, now=NOW)


def mini(raw: dict[str, Any], domain: dict[str, Any] | None = None,
         tenant: dict[str, Any] | None = None) -> DecisionOutcome:
    d, t = mini_docs(domain, tenant)
    return run(build_pack_set([d], [t]), "mini-co", raw)


SEED_CASES = [
    # tenant, type, payload, expected outcome fields
    ("acme-capital", "POSITION_BREAK", {"account": "A-1"},
     {"severity": Severity.CRITICAL, "approval_required": True, "status": Status.PENDING_APPROVAL,
      "playbook_id": "trading-position-break", "escalated": False}),
    ("globex-markets", "POSITION_BREAK", {"account": "A-1"},
     {"severity": Severity.CRITICAL, "approval_required": True}),
    ("acme-capital", "CASH_BREAK", {"account": "A-2"},
     {"severity": Severity.HIGH, "playbook_id": None, "escalated": True, "status": Status.ESCALATED}),
    ("acme-capital", "REG_REPORT_REJECTED", {"reportId": "R-1"},
     {"severity": Severity.HIGH, "playbook_id": "trading-reg-report-rejected"}),
    ("globex-markets", "REG_REPORT_REJECTED", {"reportId": "R-1"},
     {"severity": Severity.MEDIUM}),
    ("acme-capital", "SETTLEMENT_FAIL", {"tradeId": "T-1", "failReason": "LACK_OF_CASH"},
     {"severity": Severity.HIGH, "playbook_id": "trading-settlement-fail", "status": Status.IN_PROGRESS,
      "approval_required": False, "escalated": False}),
    ("acme-capital", "SEC_MASTER_MISMATCH", {"securityId": "S-1", "impact": "ECONOMIC"},
     {"severity": Severity.MEDIUM, "playbook_id": None, "escalated": True}),
    ("acme-capital", "SEC_MASTER_MISMATCH", {"securityId": "S-1", "impact": "STATIC"},
     {"severity": Severity.LOW}),
]


@pytest.mark.parametrize(("tenant", "exception_type", "payload", "expected"), SEED_CASES)
def test_seed_cases(sample_packs: PackSet, tenant: str, exception_type: str,
                    payload: dict[str, Any], expected: dict[str, Any]) -> None:
    outcome = run(sample_packs, tenant, {"exception_type": exception_type, "payload": payload})
    assert {k: getattr(outcome, k) for k in expected} == expected


def test_every_trading_type_but_two_has_a_playbook(sample_packs: PackSet) -> None:
    without = {
        name for name in sample_packs.domains["CapitalMarketsTrading"].exception_types
        if run(sample_packs, "acme-capital", {"exception_type": name, "payload": {}}).playbook_id is None
    }
    assert without == {"CASH_BREAK", "SEC_MASTER_MISMATCH"}


def test_stage_decisions_are_typed_and_ordered(sample_packs: PackSet) -> None:
    outcome = run(sample_packs, "acme-capital", {"exception_type": "POSITION_BREAK", "payload": {}})
    triage, policy, playbook = outcome.decisions
    assert [d.stage for d in outcome.decisions] == ["triage", "policy", "playbook"]
    assert (triage.status, triage.severity, triage.next_step) == (Status.TRIAGED, Severity.CRITICAL, "policy")
    assert "severity rule position-break-critical matched -> CRITICAL" in triage.evidence
    assert policy.approval_required and policy.actionability is Actionability.APPROVED_PLAYBOOK
    assert "approval required: CRITICAL severity always requires approval" in policy.evidence
    assert playbook.playbook_id == "trading-position-break" and playbook.next_step == "await_approval"
    assert all(d.source == "rules" for d in outcome.decisions)
    record = playbook.model_dump(mode="json")
    assert record["severity"] == "CRITICAL" and record["status"] == "PENDING_APPROVAL"


# --- triage: classification and confidence ---------------------------------------------

@pytest.mark.parametrize(
    ("raw", "exception_type", "confidence", "decision"),
    [
        ({"exception_type": "alpha", "payload": {}}, "ALPHA", 1.0, "classified"),
        ({"payload": {"kind": "alpha"}}, "ALPHA", 0.85, "classified"),
        ({"payload": {"beta": True}}, "BETA", 0.85, "classified"),
        ({"payload": {"kind": "beta"}}, "BETA", 0.6, "classified"),  # BETA and GAMMA both match
        ({"exception_type": "OMEGA", "payload": {"kind": "alpha"}}, "ALPHA", 0.85, "classified"),
        ({"exception_type": "OMEGA", "payload": {}}, "OMEGA", 0.4, "unclassified"),
        ({"payload": {}}, "UNCLASSIFIED", 0.2, "unclassified"),
    ],
)
def test_classification(raw: dict[str, Any], exception_type: str, confidence: float, decision: str) -> None:
    outcome = mini(raw)
    assert outcome.exception_type == exception_type
    assert outcome.decisions[0].confidence == confidence
    assert outcome.decisions[0].decision == decision


def test_detection_evidence_names_the_rule() -> None:
    evidence = mini({"payload": {"kind": "alpha"}}).decisions[0].evidence
    assert "detection rule exceptionTypes.ALPHA.detectionRules[0] matched: payload.kind == 'alpha'" in evidence


# --- triage: severity ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "tenant", "severity", "evidence"),
    [
        ({"exception_type": "ALPHA", "payload": {}}, None, "LOW", "default severity of ALPHA -> LOW"),
        ({"exception_type": "BETA", "payload": {}}, None, "MEDIUM", "no severity rule or default applies -> MEDIUM"),
        ({"exception_type": "ALPHA", "payload": {"amount": 500}}, None, "MEDIUM", "severity rule severityRules[1] matched -> MEDIUM"),
        # highest of several matching rules wins
        ({"exception_type": "ALPHA", "payload": {"amount": 5000}}, None, "HIGH", "severity rule big matched -> HIGH"),
        ({"exception_type": "ALPHA", "payload": {"amount": 5000, "urgent": True}}, None, "CRITICAL", "severity rule alpha-urgent matched -> CRITICAL"),
        # the tenant override wins over rules, even when lower
        ({"exception_type": "ALPHA", "payload": {"amount": 5000}},
         {"customSeverityOverrides": [{"exceptionType": "ALPHA", "severity": "LOW"}]}, "LOW",
         "tenant override for ALPHA -> LOW"),
        ({"exception_type": "BETA", "payload": {}},
         {"customSeverityOverrides": [{"exceptionType": "BETA", "severity": "HIGH"}]}, "HIGH",
         "tenant override for BETA -> HIGH"),
    ],
)
def test_severity(raw: dict[str, Any], tenant: dict[str, Any] | None, severity: str, evidence: str) -> None:
    outcome = mini(raw, tenant=tenant)
    assert outcome.severity == severity
    assert evidence in outcome.decisions[0].evidence


def test_conditions_see_the_triaged_type_and_severity() -> None:
    outcome = mini({"payload": {"kind": "alpha", "urgent": True}})
    assert (outcome.exception_type, outcome.severity) == ("ALPHA", Severity.CRITICAL)


# --- policy: approval ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "domain", "tenant", "reason"),
    [
        ({"exception_type": "ALPHA", "payload": {}}, None,
         {"humanApprovalRules": [{"severity": "LOW", "requireApproval": True}]}, "tenant rule: LOW requires approval"),
        ({"exception_type": "ALPHA", "payload": {"urgent": True}}, None, None, "CRITICAL severity always requires approval"),
        ({"payload": {"kind": "alpha"}}, None, {"customGuardrails": {"humanApprovalThreshold": 0.9}},
         "confidence 0.85 is below the approval threshold 0.90"),
        ({"exception_type": "ALPHA", "payload": {}}, {"guardrails": {"requireHumanApprovalFor": ["ALPHA"]}}, None,
         "ALPHA is listed in requireHumanApprovalFor"),
        ({"exception_type": "ALPHA", "payload": {}}, None, {"customGuardrails": {"requireHumanApprovalFor": ["ALPHA"]}},
         "ALPHA is listed in requireHumanApprovalFor"),
        ({"exception_type": "ALPHA", "payload": {}}, {"guardrails": {"noAutoActionIfSeverityIn": ["LOW"]}}, None,
         "no automatic action at severity LOW"),
        ({"exception_type": "BETA", "payload": {"amount": 5000}}, None, None, "playbook beta-b is not approved"),
        ({"exception_type": "GAMMA", "payload": {}}, None, None, "playbook gamma-risky has risky steps"),
    ],
)
def test_approval_rules(raw: dict[str, Any], domain: dict[str, Any] | None,
                        tenant: dict[str, Any] | None, reason: str) -> None:
    outcome = mini(raw, domain=domain, tenant=tenant)
    assert outcome.approval_required
    assert f"approval required: {reason}" in outcome.decisions[1].evidence
    assert outcome.decisions[1].decision == "require_approval"


def test_confidence_below_threshold_needs_approval() -> None:
    # detected ambiguously (0.6) < 0.7 approval threshold, >= 0.5 escalation threshold
    outcome = mini({"payload": {"kind": "beta", "amount": 5}})
    assert outcome.approval_required and not outcome.escalated
    assert "approval required: confidence 0.60 is below the approval threshold 0.70" in outcome.decisions[1].evidence


def test_tenant_rule_can_say_no_approval_but_critical_still_needs_it() -> None:
    outcome = mini({"exception_type": "ALPHA", "payload": {"urgent": True}},
                   tenant={"humanApprovalRules": [{"severity": "CRITICAL", "requireApproval": False}]})
    assert outcome.approval_required


def test_no_approval_needed() -> None:
    outcome = mini({"exception_type": "ALPHA", "payload": {}})
    assert not outcome.approval_required and outcome.status is Status.IN_PROGRESS
    assert outcome.decisions[1].decision == "auto_execute"
    assert outcome.decisions[1].evidence == ["no guardrail requires approval or escalation"]
    assert outcome.decisions[2].next_step == "execute_playbook"


# --- policy: escalation, actionability, blocked tools -------------------------------------

@pytest.mark.parametrize(
    ("raw", "tenant", "reason"),
    [
        ({"payload": {}}, None, "no playbook applies to UNCLASSIFIED"),
        ({"payload": {}}, None, "confidence 0.20 is below the escalation threshold 0.50"),
        ({"exception_type": "OMEGA", "payload": {}}, None, "confidence 0.40 is below the escalation threshold 0.50"),
        ({"payload": {"kind": "beta"}}, {"customGuardrails": {"escalateIfConfidenceBelow": 0.7}},
         "confidence 0.60 is below the escalation threshold 0.70"),
    ],
)
def test_escalation(raw: dict[str, Any], tenant: dict[str, Any] | None, reason: str) -> None:
    outcome = mini(raw, tenant=tenant)
    assert outcome.escalated and outcome.status is Status.ESCALATED
    assert f"escalate: {reason}" in outcome.decisions[1].evidence
    assert outcome.decisions[1].status is Status.ESCALATED
    assert outcome.decisions[2].next_step == "escalate_to_human"


@pytest.mark.parametrize(
    ("raw", "actionability"),
    [
        ({"exception_type": "ALPHA", "payload": {}}, Actionability.APPROVED_PLAYBOOK),
        ({"exception_type": "BETA", "payload": {"amount": 5000}}, Actionability.NON_APPROVED_PLAYBOOK),
        ({"payload": {}}, Actionability.INFO_ONLY),
    ],
)
def test_actionability(raw: dict[str, Any], actionability: Actionability) -> None:
    outcome = mini(raw)
    assert outcome.decisions[1].actionability is actionability
    assert outcome.decisions[2].actionability is actionability


def test_blocked_tools_are_reported() -> None:
    outcome = mini({"exception_type": "ALPHA", "payload": {}},
                   tenant={"customGuardrails": {"blockLists": {"tools": ["lookup"]}}})
    assert outcome.blocked_tools == ["lookup"]
    assert "tool lookup is blocked by guardrails or not approved" in outcome.decisions[1].evidence


# --- playbook matching -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "tenant", "playbook"),
    [
        ({"exception_type": "ALPHA", "payload": {}}, None, "alpha-basic"),
        # higher priority wins when its condition holds
        ({"exception_type": "ALPHA", "payload": {"amount": 5000}}, None, "alpha-big"),
        # equal priority: lowest id wins (beta-a), when its severities hold
        ({"exception_type": "BETA", "payload": {}}, None, "beta-a"),
        # beta-a is for LOW/MEDIUM only; HIGH falls to beta-b
        ({"exception_type": "BETA", "payload": {"amount": 5000}}, None, "beta-b"),
        ({"exception_type": "GAMMA", "payload": {}}, None, "gamma-risky"),
        # a tenant playbook beats a higher-priority domain playbook
        ({"exception_type": "ALPHA", "payload": {"amount": 5000}},
         {"customPlaybooks": [{"id": "mine", "name": "Mine", "priority": -1,
                               "conditions": {"exceptionTypes": ["ALPHA"]},
                               "steps": [{"name": "n", "action": "notify"}]}]}, "mine"),
        # a tenant playbook with a domain id replaces it
        ({"exception_type": "ALPHA", "payload": {}},
         {"customPlaybooks": [{"id": "alpha-basic", "name": "Mine", "conditions": "payload.never == true",
                               "steps": [{"name": "n", "action": "notify"}]}]}, None),
    ],
)
def test_playbook_matching(raw: dict[str, Any], tenant: dict[str, Any] | None, playbook: str | None) -> None:
    assert mini(raw, tenant=tenant).playbook_id == playbook


def test_playbook_reason_names_the_conditions() -> None:
    decision = mini({"exception_type": "ALPHA", "payload": {"amount": 5000}}).decisions[2]
    assert decision.decision == "assigned"
    assert decision.evidence == [
        "domain playbook alpha-big (priority 5)",
        "exceptionType ALPHA is one of its exceptionTypes",
        "condition holds: payload.amount > 1000",
    ]
    severity_reason = mini({"exception_type": "BETA", "payload": {}}).decisions[2].evidence
    assert "severity MEDIUM is one of its severities" in severity_reason


def test_playbook_without_conditions_applies_to_everything() -> None:
    outcome = mini({"payload": {}}, tenant={"customPlaybooks": [
        {"id": "catch-all", "name": "All", "approved": True, "steps": [{"name": "n", "action": "notify"}]}]})
    assert outcome.playbook_id == "catch-all"
    assert "it has no conditions, so it applies to every exception" in outcome.decisions[2].evidence


# --- SLA and purity --------------------------------------------------------------------------

def test_sla_deadline() -> None:
    at = "2026-11-24T09:00:00Z"
    by_type = mini({"exception_type": "ALPHA", "occurred_at": at, "payload": {}})
    assert by_type.sla_deadline == NOW - timedelta(hours=1) + timedelta(minutes=30)
    by_context = mini({"exception_type": "ALPHA", "occurred_at": at, "payload": {}, "context": {"slaMinutesRemaining": 95}})
    assert by_context.sla_deadline == NOW + timedelta(minutes=95)
    assert mini({"exception_type": "BETA", "payload": {}}).sla_deadline is None
    assert mini({"exception_type": "BETA", "payload": {}, "context": {"slaMinutesRemaining": True}}).sla_deadline is None
    by_deadline = mini({"exception_type": "ALPHA", "occurred_at": at, "payload": {},
                        "context": {"slaDeadline": "2026-11-24T12:00:00Z", "slaMinutesRemaining": 95}})
    assert by_deadline.sla_deadline == NOW + timedelta(hours=2)  # the context's deadline wins
    overdue = mini({"exception_type": "ALPHA", "payload": {}, "context": {"slaMinutesRemaining": -5}})
    assert overdue.sla_deadline == NOW - timedelta(minutes=5)  # due 5 minutes ago (docs/playbooks.md)


def test_decide_is_deterministic(sample_packs: PackSet) -> None:
    raw = {"exception_type": "SETTLEMENT_FAIL", "payload": {"failReason": "SSI_MISMATCH"}}
    assert run(sample_packs, "acme-capital", raw) == run(sample_packs, "acme-capital", raw)


def test_no_playbook_means_nothing_to_approve_and_an_escalation(sample_packs: PackSet) -> None:
    """CASH_BREAK has no playbook; globex requires approval at HIGH. An approval would gate no run —
    nobody could grant it and it would never expire — so the exception escalates without one."""
    outcome = run(sample_packs, "globex-markets", {"exception_type": "CASH_BREAK", "payload": {"account": "A-2"}})
    assert (outcome.playbook_id, outcome.approval_required, outcome.escalated) == (None, False, True)
    assert outcome.status is Status.ESCALATED
    policy = outcome.decisions[1]
    assert not policy.approval_required and not any(e.startswith("approval required") for e in policy.evidence)
    assert "escalate: no playbook applies to CASH_BREAK" in policy.evidence
    assert NOTHING_TO_APPROVE in policy.evidence
