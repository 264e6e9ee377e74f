"""Per-tenant state in the changelog-backed ``tenant-state`` table: token buckets and backpressure.

Keyed by tenant id, it holds what a worker taking over a tenant's partition must know: the intake
quota's token bucket (``quota``) and whether it is throttling (``throttled``), the tool-call and
LLM buckets, and the backpressure level last announced. It is written when something changes in
a way that matters — throttling starts or ends, the level moves, a tool or LLM budget is spent —
not once per exception: between those writes the intake bucket lives in memory
(:class:`sentinai.agents.quota.IntakeQuota`). Counts of exceptions are not kept here: the product
reads them from PostgreSQL.
"""

from __future__ import annotations

import math
from typing import Any

TenantState = dict[str, Any]

BACKPRESSURE_LEVELS = ("NORMAL", "WARNING", "CRITICAL", "OVERLOADED")


def empty_state() -> TenantState:
    return {"backpressure": "NORMAL", "quota": None, "throttled": False}


def bucket(state: TenantState | None, name: str) -> dict[str, float] | None:
    """One of the tenant's token buckets (``quota``, ``tool_quota``, ``llm_quota``); None when unused."""
    return state.get(name) if state is not None else None


def with_bucket(state: TenantState | None, name: str, value: dict[str, float]) -> TenantState:
    """The state with one token bucket replaced."""
    new = dict(state) if state is not None else empty_state()
    new[name] = value
    return new


def with_throttling(state: TenantState | None, value: dict[str, float], *, throttled: bool) -> TenantState:
    """The state with the intake bucket and whether it is throttling now."""
    return {**with_bucket(state, "quota", value), "throttled": throttled}


def with_backpressure(state: TenantState | None, level: str) -> TenantState:
    return {**(state if state is not None else empty_state()), "backpressure": level}


def backpressure(state: TenantState | None) -> str:
    return state.get("backpressure", "NORMAL") if state is not None else "NORMAL"


def take_token(bucket: dict[str, float] | None, *, rate: float, burst: float, now_epoch: float,
               max_debt: float = math.inf) -> tuple[bool, dict[str, float], float]:
    """Token bucket that reserves: (allowed now, new bucket, seconds until the reserved token is due).

    Over quota the token is still taken and the bucket goes into debt, so each deferred message
    owns the slot it will run in: it comes back exactly when its token is due and is not charged
    again (no thundering herd of re-deferrals), and the deferral grows with the backlog. A debt
    beyond ``max_debt`` (that many messages already wait) is refused: no token is taken, and the
    wait is infinite.
    """
    if bucket is None:
        tokens, at = burst, now_epoch
    else:
        tokens, at = bucket["tokens"], bucket["at"]
    tokens = min(burst, tokens + max(0.0, now_epoch - at) * rate) - 1.0
    if -tokens > max_debt:
        return False, {"tokens": tokens + 1.0, "at": now_epoch}, math.inf
    new = {"tokens": tokens, "at": now_epoch}
    if tokens >= 0.0:
        return True, new, 0.0
    return False, new, -tokens / rate


def backpressure_level(pending: int, *, warning: int, critical: int, overloaded: int) -> str:
    if pending >= overloaded:
        return "OVERLOADED"
    if pending >= critical:
        return "CRITICAL"
    if pending >= warning:
        return "WARNING"
    return "NORMAL"
