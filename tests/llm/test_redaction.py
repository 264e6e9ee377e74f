"""Personal data never reaches the model: unit cases, then the request body the server got."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sentinai.core.packs import PackSet
from sentinai.llm.client import LLMClient
from sentinai.llm.explanation import explain
from sentinai.llm.redaction import redact
from sentinai.llm.triage import assess
from tests.support.openai_server import OpenAIServer, Reply

from .conftest import NOW, PLENTY, case, packs_for


@pytest.mark.parametrize(("key", "kind"), [
    ("email", "email"), ("contactEmail", "email"), ("phone", "phone"), ("mobile_number", "phone"),
    ("name", "name"), ("firstName", "name"), ("patient_name", "name"), ("debtorName", "name"),
    ("matchedName", "name"), ("cardholder", "name"), ("beneficiary", "name"),
    ("memberId", "patient"), ("patientId", "patient"), ("MRN", "patient"),
    ("account", "account"), ("accountNumber", "account"), ("debtorIban", "account"),
    ("ssn", "personal"), ("dateOfBirth", "personal"), ("address", "personal"),
])
def test_personal_keys_are_replaced_whole(key: str, kind: str) -> None:
    assert redact({key: {"any": "value"}}) == {key: f"[REDACTED:{kind}]"}


@pytest.mark.parametrize("key", ["orderId", "amount", "fileName", "hostname", "claimId",
                                 "failReason", "currency", "exceptionTypeName", "tradeId"])
def test_business_keys_are_kept(key: str) -> None:
    assert redact({key: "ORD-9"}) == {key: "ORD-9"}


@pytest.mark.parametrize(("text", "expected"), [
    ("mail jane.doe@example.org now", "mail [REDACTED:email] now"),
    ("call +44 20 7946 0958", "call [REDACTED:phone]"),
    ("call (555) 123-4567 or 555.123.4567", "call [REDACTED:phone] or [REDACTED:phone]"),
    ("ssn 123-45-6789", "ssn [REDACTED:ssn]"),
    ("card 4111 1111 1111 1111", "card [REDACTED:card]"),
    ("iban DE89 3704 0044 0532 0130 00", "iban [REDACTED:iban]"),
    ("acct 000123456789", "acct [REDACTED:account]"),
    ("chart MRN-0045521", "chart [REDACTED:patient]"),
    ("failed at 2026-11-24T09:30:00Z for 125000.00 USD on ORD-9", None),
])
def test_values_are_scanned_in_free_text(text: str, expected: str | None) -> None:
    assert redact({"note": text}) == {"note": expected or text}


def test_a_personal_value_is_removed_where_it_reappears() -> None:
    data = {"patient": {"fullName": "Maria Lopez", "memberId": "M-77123"},
            "note": "Maria Lopez (member M-77123) called; Lopez disputes the claim."}
    assert redact(data) == {
        "patient": {"fullName": "[REDACTED:name]", "memberId": "[REDACTED:patient]"},
        "note": "[REDACTED:name] (member [REDACTED:patient]) called; [REDACTED:name] disputes "
                "the claim.",
    }


def test_tenant_fields_by_name_and_by_path() -> None:
    data = {"payload": {"merchantRef": "MR-1", "bank": {"bic": "DEUTDEFF"}, "bic": "KEEP"},
            "merchant_ref": "MR-2"}
    assert redact(data, extra_fields=["merchantRef", "payload.bank.bic"]) == {
        "payload": {"merchantRef": "[REDACTED:field]", "bank": {"bic": "[REDACTED:field]"},
                    "bic": "KEEP"},
        "merchant_ref": "[REDACTED:field]"}


def test_lists_and_scalars_and_the_input_is_not_mutated() -> None:
    data: dict[str, Any] = {"parties": [{"name": "Ann Lee"}, {"email": "a@b.io"}], "n": 3,
                            "ok": True, "none": None}
    before = json.dumps(data)
    assert redact(data) == {"parties": [{"name": "[REDACTED:name]"}, {"email": "[REDACTED:email]"}],
                            "n": 3, "ok": True, "none": None}
    assert json.dumps(data) == before


PERSONAL = ["Jane Doe", "jane.doe@example.org", "+1 415 555 0134", "(415) 555-0199",
            "MEM-00912", "MRN-0045521", "DE89370400440532013000", "000123456789"]
RAW = {
    "exception_type": "DUPLICATE_PAYMENT",
    "payload": {"paymentId": "P-8", "duplicateOf": "P-7", "amount": 75,
                "debtor": {"name": "Jane Doe", "iban": "DE89370400440532013000"},
                "contact": {"email": "jane.doe@example.org", "phone": "+1 415 555 0134"},
                "memberId": "MEM-00912",
                "note": "Jane Doe phoned from (415) 555-0199 about MRN-0045521, acct 000123456789"},
    "context": {"slaMinutesRemaining": 95},
}


async def test_the_server_receives_no_personal_data(server: OpenAIServer, client: LLMClient,
                                                    sample_packs: PackSet) -> None:
    server.script("scenario", Reply(status=500))
    packs = packs_for(sample_packs, "paystream", model="scenario")
    exception, rules = case(packs, RAW)
    await assess(client, exception, rules, packs, now=NOW, tokens_available=PLENTY)
    server.script("default", Reply.json({"explanation": "ok"}))
    await explain(client, rules, model=None)
    assert len(server.requests) == 2
    for request in server.requests:
        body = json.loads(request.raw)
        text = " ".join(m["content"] for m in body["messages"])
        for value in PERSONAL:
            assert value not in text, value
        assert "P-8" in text and "DUPLICATE_PAYMENT" in text, "business data still goes"
        assert "[REDACTED:name]" in text and "[REDACTED:email]" in text


async def test_tenant_redact_fields_are_applied(server: OpenAIServer, client: LLMClient,
                                                sample_packs: PackSet) -> None:
    server.script("scenario", Reply(status=500))
    packs = packs_for(sample_packs, "paystream", model="scenario")
    exception, rules = case(packs, RAW)
    await assess(client, exception, rules, packs, now=NOW, tokens_available=PLENTY,
                 redact_fields=["duplicateOf"])
    assert '"duplicateOf": "[REDACTED:field]"' in server.requests[0].message("user")
