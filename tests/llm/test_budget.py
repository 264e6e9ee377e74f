"""The LLM token quota bucket: refills per minute, spends real token counts, allows debt."""

from __future__ import annotations

from sentinai.llm.budget import estimate_tokens, spend_tokens, tokens_available


def test_a_new_tenant_has_a_full_minute() -> None:
    assert tokens_available(None, per_minute=60_000, now_epoch=100.0) == 60_000


def test_spending_then_refilling_up_to_one_minute() -> None:
    bucket = spend_tokens(None, 50_000, per_minute=60_000, now_epoch=100.0)
    assert bucket == {"tokens": 10_000, "at": 100.0}
    assert tokens_available(bucket, per_minute=60_000, now_epoch=110.0) == 20_000
    assert tokens_available(bucket, per_minute=60_000, now_epoch=1_000.0) == 60_000


def test_overspending_is_a_debt_that_delays_the_next_call() -> None:
    bucket = spend_tokens({"tokens": 100.0, "at": 0.0}, 700, per_minute=600, now_epoch=0.0)
    assert tokens_available(bucket, per_minute=600, now_epoch=0.0) == -600
    assert tokens_available(bucket, per_minute=600, now_epoch=60.0) == 0


def test_a_zero_quota_never_allows_a_call() -> None:
    assert tokens_available(None, per_minute=0, now_epoch=0.0) == 0
    assert tokens_available({"tokens": 0.0, "at": 0.0}, per_minute=0, now_epoch=1e9) == 0


def test_estimates_round_up() -> None:
    assert estimate_tokens("") == 1
    assert estimate_tokens("abcde") == 2
