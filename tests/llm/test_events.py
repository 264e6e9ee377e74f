"""The LLMDecisionProposed event: shape, deterministic id, fallbacks included."""

from __future__ import annotations

from sentinai.core.ids import event_id_for
from sentinai.core.packs import PackSet
from sentinai.llm.client import LLMClient
from sentinai.llm.events import explanation_event, proposal_event
from sentinai.llm.explanation import explain
from sentinai.llm.triage import assess
from tests.support.openai_server import OpenAIServer, Reply

from .conftest import NOW, PLENTY, case, packs_for

DUPLICATE = {"exception_id": "DP-1", "exception_type": "DUPLICATE_PAYMENT",
             "payload": {"paymentId": "P-8", "duplicateOf": "P-7", "amount": 75}}
ANSWER = {"exception_type": "DUPLICATE_PAYMENT", "severity": "CRITICAL", "confidence": 0.9,
          "root_cause_hypothesis": "retry", "requires_approval": True, "escalate": False,
          "rationale": "large exposure"}


async def test_proposal_event(server: OpenAIServer, client: LLMClient, sample_packs: PackSet) -> None:
    packs = packs_for(sample_packs, "paystream", model="m")
    exception, rules = case(packs, DUPLICATE)
    server.script("m", Reply.json(ANSWER))
    result = await assess(client, exception, rules, packs, now=NOW, tokens_available=PLENTY)
    event = proposal_event(result, now=NOW, occurrence="sentinai.exceptions:0:7")
    assert event.event_type == "LLMDecisionProposed"
    assert event.event_id == event_id_for("paystream", "DP-1", "LLMDecisionProposed", "llm", "sentinai.exceptions:0:7")
    assert event.event_id != proposal_event(result, now=NOW, occurrence="sentinai.exceptions:0:9").event_id
    assert event.actor.id == "llm"
    assert event.payload == {
        "source": "llm", "model": "m", "proposal": ANSWER,
        "reason": "LLM raised the severity from HIGH to CRITICAL", "tokens": result.tokens,
        "final": {"exception_type": "DUPLICATE_PAYMENT", "severity": "CRITICAL",
                  "status": "PENDING_APPROVAL", "approval_required": True, "escalated": False,
                  "playbook_id": "payments-duplicate"}}
    assert event.as_json()["event_id"] == event.event_id


async def test_fallback_event(server: OpenAIServer, client: LLMClient, sample_packs: PackSet) -> None:
    packs = packs_for(sample_packs, "paystream", model="m")
    exception, rules = case(packs, DUPLICATE)
    server.script("m", Reply(status=500))
    result = await assess(client, exception, rules, packs, now=NOW, tokens_available=PLENTY)
    payload = proposal_event(result, now=NOW, occurrence="").payload
    assert payload["source"] == "llm_fallback" and payload["proposal"] is None
    assert payload["reason"].startswith("provider_error: m answered HTTP 500")
    assert payload["final"]["severity"] == "HIGH"


async def test_explanation_event(server: OpenAIServer, client: LLMClient, sample_packs: PackSet) -> None:
    packs = packs_for(sample_packs, "paystream", model="m")
    _, rules = case(packs, DUPLICATE)
    server.script("default", Reply.json({"explanation": "Sent twice; waiting for approval."}))
    explanation = await explain(client, rules, model=None)
    event = explanation_event(rules, explanation, now=NOW, occurrence="sentinai.exceptions:0:7")
    assert event is not None
    assert event.event_type == "DecisionExplained"
    assert event.event_id == event_id_for("paystream", "DP-1", "DecisionExplained", "explanation",
                                          "sentinai.exceptions:0:7")
    assert event.payload == {"explanation": "Sent twice; waiting for approval.", "model": "default",
                             "tokens": explanation.tokens, "status": "PENDING_APPROVAL"}
    server.script("default", Reply(status=500))
    assert explanation_event(rules, await explain(client, rules, model=None), now=NOW, occurrence="") is None
