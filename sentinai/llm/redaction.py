"""Personal data out of prompts: names, emails, phones, account and patient identifiers.

Two nets, because producers name fields freely and put people in free text:
- by key: a field whose name says it holds personal data (`email`, `debtorName`, `memberId`,
  `iban`, ...) is replaced whole, whatever its value; the tenant's own list (`extra_fields`) is
  matched the same way, by key name anywhere or by a dotted path from the root;
- by value: every string is scanned for emails, phone numbers, SSNs, card numbers, IBANs, long
  digit runs (account numbers) and medical record numbers; and a value found under a personal key
  (a person's name, say) is also removed where it reappears in free text elsewhere.

Replacements are typed placeholders (`[REDACTED:email]`) so the model still knows what was there.
It errs on the side of removing too much: a prompt loses a little context, never a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_NAME_ROLES = frozenset({
    "", "first", "last", "full", "given", "middle", "family", "maiden", "nick", "sur", "legal",
    "patient", "member", "customer", "client", "debtor", "creditor", "beneficiary", "payee",
    "payer", "account", "accountholder", "cardholder", "contact", "insured", "subscriber",
    "matched", "employee", "user", "guarantor", "prescriber", "provider", "signatory", "party",
    "originator", "recipient", "sender", "person",
})
_NAME_KEYS = frozenset({
    "debtor", "creditor", "payee", "payer", "beneficiary", "guarantor", "accountholder",
    "cardholder", "originator", "recipient", "signatory",
})
_ACCOUNT_KEYS = frozenset({
    "account", "accountid", "accountno", "acct", "acctno", "iban", "bban", "pan", "cardnumber",
    "maskedpan", "cardno", "walletid",
})
_ACCOUNT_SUFFIXES = ("accountnumber", "accountno", "accountid", "iban", "cardnumber")
_PATIENT_KEYS = frozenset({
    "patientid", "memberid", "mrn", "medicalrecordnumber", "subscriberid", "insuredid",
    "beneficiaryid", "policyholderid", "patientcontrolnumber", "membernumber", "patientnumber",
    "healthplanid", "medicaidid", "medicareid",
})
_PERSONAL_KEYS = frozenset({
    "ssn", "socialsecuritynumber", "taxid", "tin", "nationalid", "passportnumber",
    "driverslicense", "dob", "dateofbirth", "birthdate", "address", "streetaddress",
    "homeaddress", "postaladdress", "ipaddress",
})
_PHONE_KEYS = frozenset({"tel", "fax", "cell", "msisdn", "telephone"})

_VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("ssn", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")),
    ("card", re.compile(r"\b\d(?:[ -]?\d){12,18}\b")),
    ("phone", re.compile(r"\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}\d")),
    ("phone", re.compile(r"(?<![\w-])(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])")),
    ("account", re.compile(r"\b\d{9,}\b")),
    ("patient", re.compile(r"\b(?:MRN|PAT|PATIENT)[-:# ]?\d{3,}\b", re.IGNORECASE)),
)
_MIN_ECHO_CHARS = 3


def placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def _normalize(key: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(key).lower())


def _key_kind(key: str) -> str | None:
    """What personal data a field of this (normalized) name holds, if any."""
    if "email" in key:
        return "email"
    if "phone" in key or "mobile" in key or key in _PHONE_KEYS:
        return "phone"
    if key in _PATIENT_KEYS or key.endswith(("patientid", "memberid")):
        return "patient"
    if key in _ACCOUNT_KEYS or key.endswith(_ACCOUNT_SUFFIXES):
        return "account"
    if key in _PERSONAL_KEYS:
        return "personal"
    if key in _NAME_KEYS or (key.endswith("name") and key[:-4] in _NAME_ROLES):
        return "name"
    return None


@dataclass(frozen=True, slots=True)
class _Echo:
    """Values seen under personal keys, to be removed where they reappear in free text."""

    pattern: re.Pattern[str]
    kinds: dict[str, str]


class _Redactor:
    def __init__(self, extra_fields: Iterable[str]) -> None:
        self.extra_keys: set[str] = set()
        self.extra_paths: set[tuple[str, ...]] = set()
        for field in extra_fields:
            parts = tuple(_normalize(p) for p in field.split("."))
            if len(parts) == 1:
                self.extra_keys.add(parts[0])
            else:
                self.extra_paths.add(parts)
        self.echoes: dict[str, str] = {}

    def kind(self, key: object, path: tuple[str, ...]) -> str | None:
        normalized = _normalize(key)
        if normalized in self.extra_keys or path in self.extra_paths:
            return "field"
        return _key_kind(normalized)

    def collect(self, value: Any, kind: str) -> None:
        """Remember the strings under a personal key, to remove them from free text too."""
        if isinstance(value, str):
            self.echoes[value.strip()] = kind
            if kind == "name":
                self.echoes.update(dict.fromkeys(value.split(), kind))
        elif isinstance(value, dict):
            for item in value.values():
                self.collect(item, kind)
        elif isinstance(value, list | tuple):
            for item in value:
                self.collect(item, kind)
        elif isinstance(value, int) and not isinstance(value, bool):
            self.echoes[str(value)] = kind

    def by_key(self, value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                item_path = (*path, _normalize(key))
                kind = self.kind(key, item_path)
                if kind is None:
                    out[key] = self.by_key(item, item_path)
                else:
                    self.collect(item, kind)
                    out[key] = placeholder(kind)
            return out
        if isinstance(value, list | tuple):
            return [self.by_key(item, path) for item in value]
        return value

    def echo(self) -> _Echo | None:
        words = sorted((w for w in self.echoes if len(w) >= _MIN_ECHO_CHARS), key=len, reverse=True)
        if not words:
            return None
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")
        return _Echo(pattern, self.echoes)

    def by_value(self, value: Any, echo: _Echo | None) -> Any:
        if isinstance(value, str):
            return redact_text(value, echo)
        if isinstance(value, dict):
            return {redact_text(k, echo) if isinstance(k, str) else k: self.by_value(v, echo)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.by_value(item, echo) for item in value]
        return value


def redact_text(text: str, echo: _Echo | None = None) -> str:
    """Replace personal data found by value pattern (and the `echo` words, if given) in `text`."""
    if echo is not None:
        text = echo.pattern.sub(lambda m: placeholder(echo.kinds[m.group(0)]), text)
    for kind, pattern in _VALUE_PATTERNS:
        text = pattern.sub(placeholder(kind), text)
    return text


def redact(value: Any, *, extra_fields: Iterable[str] = ()) -> Any:
    """A copy of `value` (JSON-like) with personal data replaced by placeholders.

    `extra_fields` are the tenant's additions: a bare name (`"merchantName"`) matches that key at
    any depth, a dotted path (`"payload.debtor.bic"`) only there (paths start at `value`'s root;
    list items do not add a path segment). Names are compared ignoring case and separators.
    """
    redactor = _Redactor(extra_fields)
    keyed = redactor.by_key(value, ())
    return redactor.by_value(keyed, redactor.echo())
