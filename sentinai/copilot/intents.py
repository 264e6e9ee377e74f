"""What a copilot question asks: its intent and, for counts, the filters. Pure, no I/O.

The intent comes from the question's words only — never from the records it will be answered
from — so text inside an exception cannot change what is retrieved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

SUMMARIZE = "summarize"
EXPLAIN = "explain_decision"
SIMILAR = "similar_cases"
PLAYBOOK = "recommend_playbook"
COUNTS = "counts_and_trends"
DRAFT = "draft_note"
INTENTS = (SUMMARIZE, EXPLAIN, SIMILAR, PLAYBOOK, COUNTS, DRAFT)

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (DRAFT, re.compile(r"\b(draft|write|compose|prepare)\b.*\b(note|email|e-mail|message|letter)\b"
                       r"|\bcounterpart(y|ies)\b.*\b(note|email|message)\b")),
    (COUNTS, re.compile(r"\b(how many|count|number of|trend|trends|per day|per week|how fast|"
                        r"mean time|average time|statistics|stats)\b")),
    (PLAYBOOK, re.compile(r"\b(playbook|runbook|recommend|what should|which steps|how (do|should) "
                          r"we (fix|resolve|handle))\b")),
    (SIMILAR, re.compile(r"\b(similar|seen (this|it|that) before|like this|same (issue|case|"
                         r"problem)|before\?|happened before|closest|precedent)\b")),
    (EXPLAIN, re.compile(r"\b(why|explain|reason|how was .* decided|evidence|escalat\w*|"
                         r"decision)\b")),
    (SUMMARIZE, re.compile(r"\b(summar\w*|overview|what is|what's|status|tell me about|describe)\b")),
)

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
_STATUS_WORDS = {"open": ["NEW", "OPEN", "TRIAGED", "IN_PROGRESS", "PENDING_APPROVAL"],
                 "resolved": ["RESOLVED", "CLOSED"], "closed": ["RESOLVED", "CLOSED"],
                 "escalated": ["ESCALATED"], "pending": ["PENDING_APPROVAL"]}
_PERIODS = ((re.compile(r"\btoday\b"), timedelta(days=1)),
            (re.compile(r"\b(this|last|past) week\b"), timedelta(days=7)),
            (re.compile(r"\b(this|last|past) month\b"), timedelta(days=30)),
            (re.compile(r"\b(this|last|past) year\b"), timedelta(days=365)))
_LAST_N = re.compile(r"\b(?:last|past) (\d{1,3}) (hour|day|week)s?\b")
_UNIT = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}
DEFAULT_PERIOD = timedelta(days=7)


def classify(question: str, *, has_exception: bool) -> str:
    """The intent of ``question``; about an exception it defaults to a summary, else to search."""
    text = question.lower()
    for intent, pattern in _PATTERNS:
        if pattern.search(text):
            return intent
    return SUMMARIZE if has_exception else SIMILAR


@dataclass(frozen=True)
class CountFilters:
    """The filters of a counts-and-trends question, all optional but the period."""

    since: datetime
    until: datetime
    severity: str | None = None
    exception_type: str | None = None
    statuses: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [f"created {self.since:%Y-%m-%d %H:%M} – {self.until:%Y-%m-%d %H:%M} UTC"]
        if self.severity:
            parts.append(f"severity {self.severity}")
        if self.exception_type:
            parts.append(f"type {self.exception_type}")
        if self.statuses:
            parts.append("status " + "/".join(self.statuses))
        return ", ".join(parts)


def _type_words(name: str) -> tuple[str, str]:
    words = name.lower().replace("_", " ")
    return words, words + "s"


def count_filters(question: str, *, now: datetime, known_types: Iterable[str]) -> CountFilters:
    """Period, severity, type and status named in ``question`` (types: the tenant's own)."""
    text = question.lower()
    period = DEFAULT_PERIOD
    match = _LAST_N.search(text)
    if match:
        period = _UNIT[match.group(2)] * max(1, int(match.group(1)))
    else:
        period = next((p for pattern, p in _PERIODS if pattern.search(text)), DEFAULT_PERIOD)
    severity = next((s for s in SEVERITIES if re.search(rf"\b{s.lower()}\b", text)), None)
    kind = None
    for name in sorted(known_types, key=len, reverse=True):
        singular, plural = _type_words(name)
        if name.lower() in text or re.search(rf"\b({re.escape(singular)}|{re.escape(plural)})\b", text):
            kind = name
            break
    statuses: tuple[str, ...] = ()
    for word, values in _STATUS_WORDS.items():
        if re.search(rf"\b{word}\b", text) and not re.search(r"\bhow fast\b|\bresolve(d)? in\b", text):
            statuses = tuple(values)
            break
    return CountFilters(since=now - period, until=now, severity=severity, exception_type=kind,
                        statuses=statuses)
