"""assess(): each server scenario with the decision it must produce.

The tenant is PayStream (LLM enabled); the pack's model is set to the scenario's name.
"""

from __future__ import annotations

from typing import Any

import pytest

from sentinai.core.models import DecisionOutcome, Severity, Status
from sentinai.core.packs import PackSet
from sentinai.llm.client import LLMClient
from sentinai.llm.triage import LLMAssessment, assess
from tests.support.openai_server import OpenAIServer, Reply

from .conftest import NOW, PLENTY, case, packs_for

DUPLICATE = {"exception_type": "DUPLICATE_PAYMENT",
             "payload": {"paymentId": "P-8", "duplicateOf": "P-7", "amount": 75}}
"""Rules: given type, HIGH (tenant override), risky playbook → PENDING_APPROVAL."""
FX_SMALL = {"payload": {"paymentId": "P-9", "amount": 250, "rateAgeSeconds": 900}}
"""Rules: detected FX_RATE_STALE (0.85), LOW, tenant playbook, IN_PROGRESS without approval."""
UNKNOWN = {"payload": {"fileId": "F-1", "note": "the bank bounced our file"}}
"""Rules: UNCLASSIFIED, MEDIUM, no playbook → ESCALATED."""


def proposal(exception_type: str, severity: str, *, confidence: float = 0.9,
             approval: bool = False, escalate: bool = False) -> dict[str, Any]:
    return {"exception_type": exception_type, "severity": severity, "confidence": confidence,
            "root_cause_hypothesis": "the payment was submitted twice by a retry",
            "requires_approval": approval, "escalate": escalate, "rationale": "looks routine"}


async def run(server: OpenAIServer, client: LLMClient, sample_packs: PackSet, raw: dict[str, Any],
              reply: Reply, *, tokens: float = PLENTY) -> tuple[LLMAssessment, DecisionOutcome]:
    server.script("scenario", reply)
    packs = packs_for(sample_packs, "paystream", model="scenario")
    exception, rules = case(packs, raw)
    return await assess(client, exception, rules, packs, now=NOW, tokens_available=tokens), rules


def evidence(outcome: DecisionOutcome, stage: str) -> list[str]:
    return next(d.evidence for d in outcome.decisions if d.stage == stage)


def sources(outcome: DecisionOutcome) -> set[str]:
    return {d.source for d in outcome.decisions}


async def test_valid_answer_raises_severity(server: OpenAIServer, client: LLMClient,
                                            sample_packs: PackSet) -> None:
    answer = proposal("DUPLICATE_PAYMENT", "CRITICAL", approval=True)
    result, rules = await run(server, client, sample_packs, DUPLICATE, Reply.json(answer))
    out = result.outcome
    assert (result.source, sources(out)) == ("llm", {"llm"})
    assert (out.exception_type, out.severity, out.status) == ("DUPLICATE_PAYMENT", Severity.CRITICAL,
                                                              Status.PENDING_APPROVAL)
    assert out.playbook_id == "payments-duplicate" and out.blocked_tools == ["payment_reverse"]
    assert result.proposal == answer
    assert result.tokens > 0 and result.model == "scenario"
    assert result.reason == "LLM raised the severity from HIGH to CRITICAL"
    assert "LLM raised the severity from HIGH to CRITICAL" in evidence(out, "triage")
    assert any("root cause: the payment was submitted twice" in e for e in evidence(out, "triage"))
    assert "approval required: CRITICAL severity always requires approval" in evidence(out, "policy")
    assert all(d.severity is Severity.CRITICAL for d in out.decisions)
    assert out.sla_deadline == rules.sla_deadline


async def test_agreeing_answer_keeps_the_rules_result(server: OpenAIServer, client: LLMClient,
                                                      sample_packs: PackSet) -> None:
    answer = proposal("DUPLICATE_PAYMENT", "HIGH", approval=True)
    result, rules = await run(server, client, sample_packs, DUPLICATE, Reply.json(answer))
    assert result.source == "llm" and result.reason is None
    out = result.outcome
    assert [d.model_dump(exclude={"source", "evidence"}) for d in out.decisions] == [
        d.model_dump(exclude={"source", "evidence"}) for d in rules.decisions]
    assert evidence(out, "triage") == [*evidence(rules, "triage"),
                                       "LLM proposed DUPLICATE_PAYMENT at HIGH (confidence 0.90); "
                                       "root cause: the payment was submitted twice by a retry"]
    assert evidence(out, "policy") == evidence(rules, "policy")
    assert evidence(out, "playbook") == evidence(rules, "playbook")


async def test_reclassifying_a_detected_type_reruns_playbook_and_policy(
        server: OpenAIServer, client: LLMClient, sample_packs: PackSet) -> None:
    answer = proposal("DUPLICATE_PAYMENT", "MEDIUM", confidence=0.99)
    result, rules = await run(server, client, sample_packs, FX_SMALL, Reply.json(answer))
    out = result.outcome
    assert rules.exception_type == "FX_RATE_STALE" and rules.status is Status.IN_PROGRESS
    assert result.source == "llm"
    assert out.exception_type == "DUPLICATE_PAYMENT"
    assert out.severity is Severity.HIGH, "the tenant's override of the new type is a floor"
    assert out.playbook_id == "payments-duplicate" and out.blocked_tools == ["payment_reverse"]
    assert out.approval_required and out.status is Status.PENDING_APPROVAL
    assert out.decisions[0].confidence == 0.85, "the model's confidence is capped"
    triage = evidence(out, "triage")
    assert "LLM reclassified FX_RATE_STALE as DUPLICATE_PAYMENT" in triage
    assert "tenant override for DUPLICATE_PAYMENT -> HIGH" in triage
    assert "LLM severity MEDIUM is below the rules' HIGH; kept HIGH" in triage
    assert "approval required: playbook payments-duplicate has risky steps" in evidence(out, "policy")
    assert out.sla_deadline is not None and rules.sla_deadline is not None
    assert out.sla_deadline <= rules.sla_deadline, "the SLA deadline only comes closer"


async def test_classifying_an_unclassified_exception_keeps_the_escalation(
        server: OpenAIServer, client: LLMClient, sample_packs: PackSet) -> None:
    answer = proposal("SETTLEMENT_FILE_REJECTED", "MEDIUM")
    result, rules = await run(server, client, sample_packs, UNKNOWN, Reply.json(answer))
    out = result.outcome
    # no playbook applies to UNCLASSIFIED: the rules escalate, with nothing to approve
    assert rules.exception_type == "UNCLASSIFIED" and rules.escalated and not rules.approval_required
    assert (out.exception_type, out.severity) == ("SETTLEMENT_FILE_REJECTED", Severity.HIGH)
    assert out.playbook_id == "payments-settlement-file"
    assert out.escalated and out.approval_required and out.status is Status.ESCALATED
    policy = evidence(out, "policy")
    assert "escalate: the rules escalated and the LLM cannot lower that" in policy
    assert ("approval required: the LLM changed the type to SETTLEMENT_FILE_REJECTED; a human confirms "
            "before its playbook runs") in policy
    assert "LLM advised no escalation; the escalation stands" in policy


async def test_out_of_taxonomy_type_is_replaced_by_the_rules_type(
        server: OpenAIServer, client: LLMClient, sample_packs: PackSet) -> None:
    answer = proposal("WIRE_FRAUD", "HIGH")
    result, _ = await run(server, client, sample_packs, FX_SMALL, Reply.json(answer))
    out = result.outcome
    note = "LLM type WIRE_FRAUD is not a type of domain Payments; kept the rules' type FX_RATE_STALE"
    assert result.source == "llm"
    assert (out.exception_type, out.severity) == ("FX_RATE_STALE", Severity.HIGH)
    assert note in evidence(out, "triage") and note in (result.reason or "")
    assert out.playbook_id == "paystream-fx-stale-minor" and out.status is Status.IN_PROGRESS


async def test_severity_below_the_rules_is_clamped(server: OpenAIServer, client: LLMClient,
                                                   sample_packs: PackSet) -> None:
    result, rules = await run(server, client, sample_packs, DUPLICATE,
                              Reply.json(proposal("DUPLICATE_PAYMENT", "LOW")))
    out = result.outcome
    assert out.severity is Severity.HIGH and out.status is rules.status
    assert "LLM severity LOW is below the rules' HIGH; kept HIGH" in evidence(out, "triage")
    assert out.approval_required
    assert any(e.startswith("LLM advised no approval; approval stays required")
               for e in evidence(out, "policy"))


async def test_a_source_given_type_is_not_overridden(server: OpenAIServer, client: LLMClient,
                                                     sample_packs: PackSet) -> None:
    result, _ = await run(server, client, sample_packs, DUPLICATE,
                          Reply.json(proposal("CHARGEBACK_RECEIVED", "HIGH")))
    assert result.outcome.exception_type == "DUPLICATE_PAYMENT"
    assert ("LLM type CHARGEBACK_RECEIVED differs from the type DUPLICATE_PAYMENT given by the "
            "source; kept DUPLICATE_PAYMENT") in evidence(result.outcome, "triage")


@pytest.mark.parametrize(("approval", "escalate", "status"), [
    (True, False, Status.PENDING_APPROVAL),
    (False, True, Status.ESCALATED),
])
async def test_policy_advice_raises_approval_or_escalation(
        server: OpenAIServer, client: LLMClient, sample_packs: PackSet, approval: bool,
        escalate: bool, status: Status) -> None:
    answer = proposal("FX_RATE_STALE", "LOW", approval=approval, escalate=escalate)
    result, rules = await run(server, client, sample_packs, FX_SMALL, Reply.json(answer))
    out = result.outcome
    assert rules.status is Status.IN_PROGRESS
    assert (out.approval_required, out.escalated, out.status) == (approval, escalate, status)
    policy = evidence(out, "policy")
    kind = "approval required" if approval else "escalate"
    assert policy[0] == f"{kind}: LLM advice (looks routine)"
    assert "no guardrail requires approval or escalation" not in policy
    assert out.decisions[1].decision == ("require_approval" if approval else "escalate")


FALLBACKS = [
    pytest.param(Reply(content="I think this is a duplicate payment, severity high."),
                 "invalid_json: answer is not JSON", id="prose"),
    pytest.param(Reply.json({"exception_type": "DUPLICATE_PAYMENT", "severity": "SEVERE"}),
                 "schema_violation: answer violates the schema", id="schema-violation"),
    pytest.param(Reply.json({**proposal("DUPLICATE_PAYMENT", "LOW"), "confidence": 7}),
                 "schema_violation: answer violates the schema at confidence", id="out-of-range"),
    pytest.param(Reply(content="{}", delay=30), "timeout: no answer from scenario within 0.5s",
                 id="slow"),
    pytest.param(Reply(status=500), "provider_error: scenario answered HTTP 500", id="http-500"),
]


@pytest.mark.parametrize(("reply", "reason"), FALLBACKS)
async def test_failures_fall_back_to_the_rules_result(
        server: OpenAIServer, client: LLMClient, sample_packs: PackSet, reply: Reply,
        reason: str) -> None:
    result, rules = await run(server, client, sample_packs, DUPLICATE, reply)
    assert_fallback(result, rules, reason)


def assert_fallback(result: LLMAssessment, rules: DecisionOutcome, reason: str) -> None:
    out = result.outcome
    assert result.source == "llm_fallback" and result.proposal is None
    assert result.reason is not None and result.reason.startswith(reason)
    assert sources(out) == {"llm_fallback"}
    fields = ("exception_type", "severity", "status", "approval_required", "escalated",
              "playbook_id", "sla_deadline", "blocked_tools")
    assert {f: getattr(out, f) for f in fields} == {f: getattr(rules, f) for f in fields}
    for final, original in zip(out.decisions, rules.decisions, strict=True):
        assert final.evidence[:-1] == original.evidence
        assert final.evidence[-1].startswith(f"LLM fallback ({reason}")
        assert final.evidence[-1].endswith("; the rules' result stands")


async def test_an_open_circuit_falls_back_without_a_call(
        server: OpenAIServer, client: LLMClient, sample_packs: PackSet) -> None:
    for _ in range(3):
        result, _ = await run(server, client, sample_packs, DUPLICATE, Reply(status=502))
        assert result.source == "llm_fallback"
    result, rules = await run(server, client, sample_packs, DUPLICATE, Reply(status=502))
    assert_fallback(result, rules, "circuit_open: circuit open after repeated failures")
    assert result.tokens == 0
    assert len(server.requests) == 3


async def test_an_exhausted_token_budget_means_rules_only(
        server: OpenAIServer, client: LLMClient, sample_packs: PackSet) -> None:
    answer = Reply.json(proposal("DUPLICATE_PAYMENT", "CRITICAL"))
    result, rules = await run(server, client, sample_packs, DUPLICATE, answer, tokens=500)
    assert_fallback(result, rules, "token quota: the call needs up to")
    assert "500 available" in (result.reason or "")
    assert result.tokens == 0 and server.requests == []


async def test_a_timeout_is_charged_the_prompt(server: OpenAIServer, client: LLMClient,
                                               sample_packs: PackSet) -> None:
    result, _ = await run(server, client, sample_packs, DUPLICATE, Reply(content="{}", delay=30))
    assert result.tokens > 0


async def test_a_tenant_without_llm_is_not_called(server: OpenAIServer, client: LLMClient,
                                                  sample_packs: PackSet) -> None:
    packs = packs_for(sample_packs, "paystream", model="scenario", enabled=False)
    exception, rules = case(packs, DUPLICATE)
    result = await assess(client, exception, rules, packs, now=NOW, tokens_available=PLENTY)
    assert_fallback(result, rules, "LLM assistance is not enabled for this tenant")
    assert server.requests == []


async def test_the_tenant_model_is_asked_with_the_assessment_schema(
        server: OpenAIServer, client: LLMClient, sample_packs: PackSet) -> None:
    await run(server, client, sample_packs, DUPLICATE, Reply.json(proposal("DUPLICATE_PAYMENT", "HIGH")))
    [request] = server.requests
    assert request.model == "scenario"
    assert request.body["response_format"]["json_schema"]["name"] == "assessment"
    user = request.message("user")
    for name in ("PAYMENT_RETURNED", "DUPLICATE_PAYMENT", "SANCTIONS_HIT", "FX_RATE_STALE"):
        assert f"- {name}:" in user
    assert "- severity: HIGH" in user and "- approval_required: true" in user
