"""Realistic raw exceptions for the demo feed and the benchmarks (not part of the core).

Payloads carry the fields the sample packs' detection and severity rules look at, plus the
kind of surrounding detail real producers send, for about 1 KB of JSON each.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sentinai.core.packs import PackSet

Fields = Callable[[random.Random], dict[str, Any]]

_CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF"]
_COUNTERPARTIES = ["GSCO", "JPMS", "MSCO", "BARC", "DEUT", "UBSW", "CITI"]
_ISINS = ["US0378331005", "US5949181045", "GB0002634946", "DE0007164600", "FR0000120271"]


def _ref(rng: random.Random, prefix: str, digits: int = 8) -> str:
    return f"{prefix}-{''.join(rng.choices(string.digits, k=digits))}"


def _amount(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


_FIELDS: dict[str, Fields] = {
    "MISMATCHED_TRADE_DETAILS": lambda r: {
        "confirmationStatus": "MISMATCHED",
        "mismatchFields": r.sample(["price", "quantity", "settlementDate", "commission"], 2),
        "notional": _amount(r, 1e5, 2e7),
    },
    "FAILED_ALLOCATION": lambda r: {
        "allocationStatus": "FAILED",
        "allocationId": _ref(r, "AL"),
        "account": r.choice(["PB-", "INST-"]) + str(r.randint(1000, 99999)),
    },
    "POSITION_BREAK": lambda r: {
        "breakType": "POSITION",
        "bookQuantity": r.randint(1000, 90000),
        "custodianQuantity": r.randint(1000, 90000),
    },
    "CASH_BREAK": lambda r: {"breakType": "CASH", "breakAmount": _amount(r, 10, 250000)},
    "SETTLEMENT_FAIL": lambda r: {
        "failReason": r.choice(["SSI_MISMATCH", "INSUFFICIENT_SECURITIES", "LACK_OF_CASH"]),
        "settlementDate": "2026-11-26",
        "csd": r.choice(["DTC", "EUROCLEAR", "CREST"]),
    },
    "REG_REPORT_REJECTED": lambda r: {
        "reportId": _ref(r, "RPT"),
        "regulator": r.choice(["ESMA", "FCA", "SEC", "CFTC"]),
        "reportStatus": "REJECTED",
        "rejectCode": r.choice(["CON-412", "CON-023", "LEI-INVALID"]),
    },
    "SEC_MASTER_MISMATCH": lambda r: {
        "securityId": _ref(r, "SEC"),
        "attribute": r.choice(["couponRate", "maturityDate", "issuerName"]),
        "internalValue": "4.125",
        "vendorValue": "4.250",
        "impact": r.choice(["ECONOMIC", "STATIC"]),
    },
    "CLAIM_MISSING_AUTH": lambda r: {
        "authRequired": True,
        "authorizationId": None,
        "procedureCode": r.choice(["70553", "97110", "27447"]),
    },
    "CLAIM_CODE_MISMATCH": lambda r: {"editType": r.choice(["NCCI", "LCD", "MUE"])},
    "PROVIDER_CREDENTIAL_EXPIRED": lambda r: {
        "credentialStatus": "EXPIRED",
        "npi": "".join(r.choices(string.digits, k=10)),
    },
    "PATIENT_DEMOGRAPHIC_CONFLICT": lambda r: {
        "conflictingFields": r.sample(["dateOfBirth", "lastName", "gender", "address"], 2)
    },
    "PHARMACY_DUPLICATE_THERAPY": lambda r: {
        "dur": {"code": "TD", "severityLevel": r.randint(1, 3)},
        "rxNumber": _ref(r, "RX"),
        "therapeuticClass": r.choice(["OPIOID", "STATIN", "SSRI", "ANTICOAGULANT"]),
    },
    "ELIGIBILITY_COVERAGE_LAPSE": lambda r: {
        "eligibilityStatus": r.choice(["TERMINATED", "LAPSED"]),
        "coverageEnd": "2026-09-30",
    },
    "PAYMENT_RETURNED": lambda r: {"returnCode": r.choice(["R01", "R02", "R03", "R29"])},
    "DUPLICATE_PAYMENT": lambda r: {"duplicateOf": _ref(r, "PAY", 10)},
    "SANCTIONS_HIT": lambda r: {
        "screening": {
            "list": r.choice(["OFAC_SDN", "EU_CONSOLIDATED", "UK_HMT"]),
            "alertId": _ref(r, "ALR"),
            "matchScore": round(r.uniform(0.8, 1.0), 3),
        }
    },
    "CHARGEBACK_RECEIVED": lambda r: {
        "chargebackId": _ref(r, "CB"),
        "reasonCode": r.choice(["10.4", "13.1", "4853"]),
    },
    "SETTLEMENT_FILE_REJECTED": lambda r: {"fileStatus": "REJECTED", "fileId": _ref(r, "FILE")},
    "FX_RATE_STALE": lambda r: {
        "rateAgeSeconds": r.randint(301, 7200),
        "currencyPair": f"{r.choice(_CURRENCIES)}/{r.choice(_CURRENCIES)}",
    },
}

_DOMAIN_FIELDS: dict[str, Fields] = {
    "CapitalMarketsTrading": lambda r: {
        "tradeId": _ref(r, "TRD"),
        "orderId": _ref(r, "ORD"),
        "isin": r.choice(_ISINS),
        "side": r.choice(["BUY", "SELL"]),
        "quantity": r.randint(100, 50000),
        "price": _amount(r, 5, 900),
        "currency": r.choice(_CURRENCIES),
        "counterparty": r.choice(_COUNTERPARTIES),
        "tradeDate": "2026-11-24",
        "desk": r.choice(["EQ-CASH", "FI-RATES", "EQ-DERIV"]),
    },
    "HealthcareClaims": lambda r: {
        "claimId": _ref(r, "CLM", 10),
        "memberId": _ref(r, "MBR"),
        "billedAmount": _amount(r, 80, 90000),
        "serviceDate": "2026-11-02",
        "placeOfService": r.choice(["11", "21", "22", "23"]),
        "diagnosisCodes": r.sample(["E11.9", "I10", "M54.5", "J45.909", "F32.9"], 2),
        "payerClaimControlNumber": _ref(r, "PCCN", 12),
    },
    "Payments": lambda r: {
        "paymentId": _ref(r, "PAY", 10),
        "rail": r.choice(["ACH", "CARD", "WIRE", "SEPA"]),
        "amount": _amount(r, 5, 2_000_000),
        "currency": r.choice(_CURRENCIES),
        "merchantId": _ref(r, "MER", 6),
        "endToEndId": _ref(r, "E2E", 16),
    },
}


def _audit_trail(rng: random.Random, start: datetime) -> list[dict[str, Any]]:
    systems = ["gateway", "validator", "enricher", "matcher", "router"]
    return [
        {
            "at": (start + timedelta(seconds=i * rng.randint(1, 30))).isoformat(),
            "system": systems[i % len(systems)],
            "event": rng.choice(["received", "validated", "enriched", "matched", "flagged"]),
            "host": f"ip-10-0-{rng.randint(0, 255)}-{rng.randint(0, 255)}",
        }
        for i in range(6)
    ]


def _payload(rng: random.Random, domain: str, exception_type: str, at: datetime) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    domain_fields = _DOMAIN_FIELDS.get(domain)
    if domain_fields is not None:
        payload.update(domain_fields(rng))
    type_fields = _FIELDS.get(exception_type)
    if type_fields is not None:
        payload.update(type_fields(rng))
    payload["notes"] = f"Raised by the {exception_type.lower()} monitor after automated checks."
    payload["auditTrail"] = _audit_trail(rng, at)
    return payload


def _malformed(rng: random.Random, raw: dict[str, Any]) -> dict[str, Any] | bytes:
    kind = rng.choice(["not_json", "no_tenant", "payload_not_object", "unknown_tenant"])
    if kind == "not_json":
        return json.dumps(raw).encode()[: rng.randint(1, 40)] + b"\x00}"
    if kind == "no_tenant":
        return {key: value for key, value in raw.items() if key != "tenant_id"}
    if kind == "payload_not_object":
        return {**raw, "payload": rng.choice(["a string", [1, 2, 3], 42, None])}
    return {**raw, "tenant_id": f"no-such-tenant-{rng.randint(1, 10_000)}"}


def sample_exception(
    rng: random.Random,
    pack_set: PackSet,
    tenant_id: str | None = None,
    *,
    malformed: bool = False,
) -> dict[str, Any] | bytes:
    """One raw exception in the ARCHITECTURE.md input shape (or a bad one when `malformed`)."""
    tenant = tenant_id or rng.choice(sorted(pack_set.tenants))
    domain = pack_set.domains[pack_set.tenants[tenant].domain_name]
    exception_type = rng.choice(sorted(domain.exception_types))
    at = datetime.now(UTC) - timedelta(minutes=rng.randint(0, 600))
    raw: dict[str, Any] = {
        "tenant_id": tenant,
        "exception_id": _ref(rng, "EXC", 12),
        "source_system": rng.choice(["oms", "recon", "settlements", "claims", "ledger", "pbm"]),
        "exception_type": exception_type,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "payload": _payload(rng, domain.domain_name, exception_type, at),
        "context": {
            "slaMinutesRemaining": rng.randint(5, 480),
            "policyTags": sorted(domain.exception_types[exception_type].tags),
            "region": rng.choice(["us-east", "eu-west", "ap-south"]),
        },
    }
    if rng.random() < 0.1:
        # Producers sometimes leave the type out; detection rules classify these.
        del raw["exception_type"]
    return _malformed(rng, raw) if malformed else raw
