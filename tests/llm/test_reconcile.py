"""apply_proposal() over every proposal: the final decision is never weaker than the rules'."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sentinai.core.models import Severity
from sentinai.core.packs import PackSet, load_pack_dir
from sentinai.llm.reconcile import Proposal, apply_proposal

from .conftest import NOW, PACKS_DIR, case, packs_for

PACK_SET: PackSet = load_pack_dir(PACKS_DIR)

RAWS: list[dict[str, Any]] = [
    {"tenant": "paystream", "payload": {"paymentId": "P-9", "amount": 250, "rateAgeSeconds": 900}},
    {"tenant": "paystream", "payload": {"fileId": "F-1"}},
    {"tenant": "paystream", "payload": {"chargebackId": "CB-1", "amount": 9000}},
    {"tenant": "paystream", "exception_type": "SANCTIONS_HIT", "payload": {"paymentId": "P-1"}},
    {"tenant": "acme-capital", "exception_type": "SETTLEMENT_FAIL",
     "payload": {"tradeId": "T-1", "failReason": "LACK_OF_CASH"}},
    {"tenant": "acme-capital", "payload": {"securityId": "S-1", "impact": "STATIC"}},
    {"tenant": "mercy-health", "payload": {"claimId": "C-11", "editType": "NCCI", "billedAmount": 180}},
    {"tenant": "mercy-health", "payload": {"claimId": "C-9", "eligibilityStatus": "LAPSED"}},
]
TYPES = sorted({t for d in PACK_SET.domains.values() for t in d.exception_types} | {"UNCLASSIFIED", "MADE_UP"})


@settings(max_examples=300, deadline=None)
@given(raw=st.sampled_from(RAWS), exception_type=st.sampled_from(TYPES),
       severity=st.sampled_from(list(Severity)), confidence=st.floats(0, 1),
       approval=st.booleans(), escalate=st.booleans())
def test_never_weaker(raw: dict[str, Any], exception_type: str, severity: Severity,
                      confidence: float, approval: bool, escalate: bool) -> None:
    fields = {k: v for k, v in raw.items() if k != "tenant"}
    packs = packs_for(PACK_SET, raw["tenant"], model=None)
    _, rules = case(packs, fields)
    proposal = Proposal(exception_type, severity, confidence, "hypothesis", approval, escalate, "why")
    final, _ = apply_proposal(rules, packs, proposal, now=NOW)
    assert final.severity.rank >= max(rules.severity.rank, severity.rank)
    # a human decides whenever the rules or the LLM asked for one: by an approval of the playbook,
    # or, when no playbook applies (nothing to approve), by the escalation
    human = final.approval_required or (final.playbook_id is None and final.escalated)
    assert final.playbook_id is not None or not final.approval_required
    assert human >= max(rules.approval_required, approval)
    assert final.escalated >= max(rules.escalated, escalate)
    assert final.exception_type in (rules.exception_type, exception_type)
    assert final.exception_type == rules.exception_type or human
    assert final.exception_type in packs.exception_types or final.exception_type == rules.exception_type
    if rules.sla_deadline is not None:
        assert final.sla_deadline is not None and final.sla_deadline <= rules.sla_deadline
    assert {d.source for d in final.decisions} == {"llm"}
    assert [d.stage for d in final.decisions] == ["triage", "policy", "playbook"]
    assert all(d.severity is final.severity for d in final.decisions)
    assert final.decisions[-1].status is final.status
