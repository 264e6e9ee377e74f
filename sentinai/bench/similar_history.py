"""A generated exception history with planted near-duplicates, for the similar-cases benchmark.

Background cases draw from a shared vocabulary (counterparties, securities, accounts, reasons and
free-text templates), so most of a case's terms are shared by thousands of others. A planted pair
is one background case (the *original*) and a *rewording* of it: the same counterparty, security,
account, amount and reason, but new identifiers, fields in another order, the other phrasing of
every synonym (both phrasings are common in the history), sentences reordered, one field dropped
and a remark added. Each original also gets a *sibling*: a
different case with the same counterparty, security and reason, the hard negative that a search
on the obvious terms alone would confuse with it.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import Any

_FIRST = ["North", "Blue", "Silver", "Harbor", "Granite", "Eagle", "Summit", "Cedar", "Atlas",
          "Crown", "Meridian", "Pioneer", "Sterling", "Beacon", "Orchid", "Falcon", "Willow",
          "Aurora", "Redwood", "Keystone"]
_SECOND = ["bridge", "rock", "field", "point", "gate", "stone", "water", "crest", "haven", "wood",
           "view", "ridge", "lake", "brook", "hill"]
_SUFFIX = ["Capital LLP", "Securities", "Asset Management", "Bank AG", "Partners", "Markets Ltd"]
_CSDS = ["DTC", "EUROCLEAR", "CREST", "CLEARSTREAM", "JASDEC"]
_CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD"]
_DESKS = ["EQ-CASH", "FI-RATES", "EQ-DERIV", "FX-SPOT", "CREDIT"]

_KINDS: dict[str, tuple[str, list[str], list[str]]] = {
    "SETTLEMENT_FAIL": ("settlements", [
        "SSI_MISMATCH", "INSUFFICIENT_SECURITIES", "LACK_OF_CASH", "LATE_AFFIRMATION",
        "COUNTERPARTY_DK", "WRONG_PLACE_OF_SETTLEMENT"], [
        "The trade with {cp} failed to settle at {csd} because of {reason_text}.",
        "Settlement of {qty} {isin} against {amount} {ccy} is pending since {day}.",
        "The counterparty {cp} was contacted about the standing instructions.",
        "Account {account} on desk {desk} carries the position."]),
    "POSITION_BREAK": ("recon", [
        "QUANTITY_DIFFERENCE", "MISSING_AT_CUSTODIAN", "CORPORATE_ACTION_PENDING",
        "LATE_BOOKING"], [
        "The position in {isin} does not reconcile with the custodian {cp}.",
        "Book shows {qty} units while the custodian statement differs, {reason_text}.",
        "Account {account} on desk {desk} is affected, valued at {amount} {ccy}.",
        "The break was first seen on {day}."]),
    "CASH_BREAK": ("recon", [
        "UNMATCHED_FEE", "MISSING_COUPON", "FX_DIFFERENCE", "DUPLICATE_POSTING"], [
        "The cash balance of account {account} differs from the statement of {cp}.",
        "An amount of {amount} {ccy} is unexplained, {reason_text}.",
        "Desk {desk} owns the account; the difference appeared on {day}.",
        "Related security {isin}."]),
    "PAYMENT_RETURNED": ("payments", [
        "R01_INSUFFICIENT_FUNDS", "R02_ACCOUNT_CLOSED", "R03_NO_ACCOUNT", "R29_NOT_AUTHORIZED"], [
        "The payment of {amount} {ccy} to {cp} was returned with {reason_text}.",
        "The beneficiary account {account} was debited on {day}.",
        "Desk {desk} requested the payment for settlement of {isin}.",
        "Quantity reference {qty}."]),
    "REG_REPORT_REJECTED": ("regreporting", [
        "LEI_INVALID", "CON_412_MISSING_FIELD", "LATE_SUBMISSION", "DUPLICATE_REPORT"], [
        "The transaction report for {isin} with {cp} was rejected, {reason_text}.",
        "The reported notional was {amount} {ccy} for {qty} units.",
        "Account {account} on desk {desk} booked the trade on {day}.",
        "The regulator expects a corrected submission."]),
}

_REASON_TEXT = {
    "SSI_MISMATCH": "mismatched settlement instructions",
    "INSUFFICIENT_SECURITIES": "insufficient securities in the delivering account",
    "LACK_OF_CASH": "a lack of cash on the receiving side",
    "LATE_AFFIRMATION": "a late affirmation",
    "COUNTERPARTY_DK": "the counterparty not knowing the trade",
    "WRONG_PLACE_OF_SETTLEMENT": "a wrong place of settlement",
    "QUANTITY_DIFFERENCE": "a quantity difference",
    "MISSING_AT_CUSTODIAN": "the holding missing at the custodian",
    "CORPORATE_ACTION_PENDING": "a pending corporate action",
    "LATE_BOOKING": "a late booking",
    "UNMATCHED_FEE": "an unmatched custody fee",
    "MISSING_COUPON": "a missing coupon payment",
    "FX_DIFFERENCE": "an exchange rate difference",
    "DUPLICATE_POSTING": "a duplicate posting",
    "R01_INSUFFICIENT_FUNDS": "insufficient funds",
    "R02_ACCOUNT_CLOSED": "the account closed",
    "R03_NO_ACCOUNT": "no account found",
    "R29_NOT_AUTHORIZED": "the debit not authorized",
    "LEI_INVALID": "an invalid legal entity identifier",
    "CON_412_MISSING_FIELD": "a missing mandatory field",
    "LATE_SUBMISSION": "a late submission",
    "DUPLICATE_REPORT": "a duplicate report",
}

_SYNONYMS = {
    "failed to settle": "did not settle", "because of": "due to", "was contacted": "has been called",
    "does not reconcile": "is out of line", "differs": "disagrees", "unexplained": "not explained",
    "was returned": "came back", "was rejected": "got refused", "is pending": "has been open",
    "carries the position": "holds the position", "is affected": "is impacted",
    "first seen": "first noticed", "requested": "asked for", "owns": "runs",
    "expects": "waits for", "booked": "entered",
}
_EXTRA = ["Raised again by operations.", "Please check with the middle office.",
          "Escalated by the desk head.", "Same issue as reported by the client."]


@dataclass
class Case:
    exception_id: str
    exception_type: str
    source_system: str
    severity: str
    payload: dict[str, Any]


def _ref(rng: random.Random, prefix: str, digits: int) -> str:
    return f"{prefix}-{''.join(rng.choices(string.digits, k=digits))}"


class HistoryGenerator:
    """Deterministic (seeded) background cases, planted pairs and their siblings."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        self.counterparties = sorted({f"{rng.choice(_FIRST)}{rng.choice(_SECOND)} {rng.choice(_SUFFIX)}"
                                      for _ in range(400)})
        self.isins = [f"{rng.choice(['US', 'GB', 'DE', 'FR', 'JP'])}{rng.randrange(10**10):010d}"
                      for _ in range(1500)]
        self.accounts = [_ref(rng, "ACC", 6) for _ in range(4000)]
        self.count = 0

    def _id(self) -> str:
        self.count += 1
        return f"EXC-{self.count:07d}-{''.join(self.rng.choices(string.ascii_uppercase, k=4))}"

    def case(self, *, like: Case | None = None) -> Case:
        """A background case; with ``like``, one with its counterparty, security and reason."""
        rng = self.rng
        if like is None:
            kind = rng.choice(sorted(_KINDS))
            cp, isin = rng.choice(self.counterparties), rng.choice(self.isins)
            reason = rng.choice(_KINDS[kind][1])
        else:
            kind, cp = like.exception_type, like.payload["counterparty"]
            isin, reason = like.payload["isin"], like.payload["reason"]
        source, _, templates = _KINDS[kind]
        values = {"cp": cp, "isin": isin, "reason_text": _REASON_TEXT[reason],
                  "csd": rng.choice(_CSDS), "qty": rng.randrange(100, 500_000),
                  "amount": f"{rng.uniform(1e3, 9e6):.2f}", "ccy": rng.choice(_CURRENCIES),
                  "account": rng.choice(self.accounts), "desk": rng.choice(_DESKS),
                  "day": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}"}
        payload = {
            "tradeId": _ref(rng, "TRD", 8), "orderId": _ref(rng, "ORD", 8),
            "messageRef": _ref(rng, "MSG", 12), "counterparty": cp, "isin": isin,
            "reason": reason, "quantity": values["qty"], "amount": float(values["amount"]),
            "currency": values["ccy"], "account": values["account"], "desk": values["desk"],
            "csd": values["csd"], "valueDate": values["day"],
            "description": self._phrased(" ".join(t.format(**values) for t in templates)),
        }
        return Case(self._id(), kind, source, rng.choice(["LOW", "MEDIUM", "HIGH", "CRITICAL"]),
                    payload)

    def _phrased(self, text: str) -> str:
        """One of the ways operators phrase it: each synonym with even odds, sometimes a remark."""
        for plain, other in _SYNONYMS.items():
            if self.rng.random() < 0.5:
                text = text.replace(plain, other)
        return f"{text} {self.rng.choice(_EXTRA)}" if self.rng.random() < 0.3 else text

    def reworded(self, original: Case) -> Case:
        """The same case sent again: new ids, fields reordered, one dropped, the text reworded."""
        rng = self.rng
        payload = dict(original.payload)
        payload.update(tradeId=_ref(rng, "TRD", 8), orderId=_ref(rng, "ORD", 8),
                       messageRef=_ref(rng, "MSG", 12))
        payload.pop(rng.choice(["csd", "desk", "valueDate", "quantity"]))
        sentences = [s if s.endswith(".") else s + "." for s in payload["description"].split(". ")]
        rng.shuffle(sentences)
        text = " ".join(sentences)
        for plain, other in _SYNONYMS.items():
            text = text.replace(plain, other) if plain in text else text.replace(other, plain)
        payload["description"] = f"{text} {rng.choice(_EXTRA)}"
        keys = list(payload)
        rng.shuffle(keys)
        return Case(self._id(), original.exception_type, original.source_system,
                    rng.choice(["MEDIUM", "HIGH"]), {k: payload[k] for k in keys})


def generate(total: int, planted: int, seed: int) -> tuple[list[Case], list[tuple[str, str]]]:
    """``total`` cases in arrival order and the planted (original id, reworded id) pairs.

    Originals and their siblings come early in the history, rewordings at the end (they are the
    new exceptions a user asks about).
    """
    gen = HistoryGenerator(seed)
    originals = [gen.case() for _ in range(planted)]
    siblings = [gen.case(like=o) for o in originals]
    background = [gen.case() for _ in range(total - 3 * planted)]
    rewordings = [gen.reworded(o) for o in originals]
    history = originals + siblings + background
    gen.rng.shuffle(history)
    pairs = [(o.exception_id, r.exception_id) for o, r in zip(originals, rewordings, strict=True)]
    return history + rewordings, pairs
