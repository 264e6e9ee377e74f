"""What a question asks is read from its words alone, and counts questions become filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sentinai.copilot import intents
from sentinai.copilot.intents import classify, count_filters

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TYPES = ["POSITION_BREAK", "SETTLEMENT_FAIL", "CASH_BREAK"]


@pytest.mark.parametrize("question, intent", [
    ("Summarize this exception", intents.SUMMARIZE),
    ("Why was this escalated?", intents.EXPLAIN),
    ("Have we seen this before, and what fixed it?", intents.SIMILAR),
    ("Which playbook fits?", intents.PLAYBOOK),
    ("How many CRITICAL position breaks this week, and how fast were they resolved?", intents.COUNTS),
    ("Draft a note to the counterparty about the missing SSI", intents.DRAFT),
])
def test_the_questions_words_give_the_intent(question: str, intent: str) -> None:
    assert classify(question, has_exception=True) == intent


def test_a_question_without_a_cue_summarizes_an_exception_or_searches_history() -> None:
    assert classify("EX-42?", has_exception=True) == intents.SUMMARIZE
    assert classify("Harborstone SSI at Clearstream", has_exception=False) == intents.SIMILAR


def test_counts_filters_come_from_the_question_and_the_tenants_types() -> None:
    f = count_filters("How many CRITICAL position breaks this week, and how fast were they resolved?",
                      now=NOW, known_types=TYPES)
    assert (f.severity, f.exception_type, f.statuses) == ("CRITICAL", "POSITION_BREAK", ())
    assert (f.since, f.until) == (NOW - timedelta(days=7), NOW)


@pytest.mark.parametrize("question, period", [
    ("how many today", timedelta(days=1)), ("count for the last 3 days", timedelta(days=3)),
    ("how many in the past 12 hours", timedelta(hours=12)), ("count this month", timedelta(days=30)),
    ("how many", intents.DEFAULT_PERIOD),
])
def test_periods(question: str, period: timedelta) -> None:
    assert count_filters(question, now=NOW, known_types=TYPES).since == NOW - period


def test_statuses_and_unknown_types() -> None:
    f = count_filters("how many open SETTLEMENT_FAIL", now=NOW, known_types=TYPES)
    assert f.exception_type == "SETTLEMENT_FAIL" and "OPEN" in f.statuses
    f = count_filters("how many widget explosions; DROP TABLE exceptions", now=NOW, known_types=TYPES)
    assert (f.exception_type, f.severity, f.statuses) == (None, None, ())
