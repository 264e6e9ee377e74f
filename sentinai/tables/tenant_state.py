"""Per-tenant state: stats, the intake quota's token bucket and the backpressure level.

One changelog-backed table keyed by tenant id holds all three, so that one input message costs
one changelog write here, not three. Every mutation is idempotent: the state remembers the last
source offset it applied per input topic-partition, and a replayed message (faust writes table
changes to the changelog before it commits input offsets) is not counted twice.
"""

from __future__ import annotations

from typing import Any

TenantState = dict[str, Any]
Source = tuple[str, int, int]  # topic, partition, offset

BACKPRESSURE_LEVELS = ("NORMAL", "WARNING", "CRITICAL", "OVERLOADED")


def empty_state() -> TenantState:
    return {"applied": {}, "by_status": {}, "by_severity": {}, "by_type": {}, "decided": 0,
            "duplicates": 0, "deferred": 0, "rejected": 0, "minute": [0, 0], "decisions_last_minute": 0,
            "backpressure": "NORMAL", "quota": None}


def already_applied(state: TenantState | None, source: Source) -> bool:
    if state is None:
        return False
    topic, partition, offset = source
    last = state["applied"].get(f"{topic}:{partition}")
    return last is not None and offset <= last


def _copy(state: TenantState) -> TenantState:
    """A copy safe to change: the state's containers (counters, offsets, the minute) hold only
    scalars, so copying them one level down is enough, at a tenth of ``deepcopy``'s cost."""
    return {key: value.copy() if isinstance(value, dict | list) else value for key, value in state.items()}


def _applied(state: TenantState | None, source: Source) -> TenantState:
    new = _copy(state) if state is not None else empty_state()
    topic, partition, offset = source
    new["applied"][f"{topic}:{partition}"] = offset
    return new


def _bump(counter: dict[str, int], key: str | None, by: int = 1) -> None:
    if key is not None:
        counter[key] = counter.get(key, 0) + by


def record_decision(state: TenantState | None, source: Source, *, status: str, severity: str,
                    exception_type: str, now_epoch: float, quota: dict[str, float] | None = None
                    ) -> TenantState | None:
    """Count one decided exception (and keep the bucket it spent a token of); None when applied already."""
    if already_applied(state, source):
        return None
    new = _applied(state, source)
    if quota is not None:
        new["quota"] = quota
    _bump(new["by_status"], status)
    _bump(new["by_severity"], severity)
    _bump(new["by_type"], exception_type)
    new["decided"] += 1
    minute = int(now_epoch // 60)
    bucket, count = new["minute"]
    if bucket == minute:
        new["minute"] = [minute, count + 1]
    else:
        new["decisions_last_minute"] = count if bucket == minute - 1 else 0
        new["minute"] = [minute, 1]
    return new


def record_duplicate(state: TenantState | None, source: Source) -> TenantState | None:
    if already_applied(state, source):
        return None
    new = _applied(state, source)
    new["duplicates"] += 1
    return new


def record_deferred(state: TenantState | None, source: Source, bucket: dict[str, float]) -> TenantState | None:
    if already_applied(state, source):
        return None
    new = _applied(state, source)
    new["deferred"] += 1
    new["quota"] = bucket
    return new


def bucket(state: TenantState | None, name: str) -> dict[str, float] | None:
    """One of the tenant's token buckets (``quota``, ``tool_quota``, ``llm_quota``); None when unused."""
    return state.get(name) if state is not None else None


def with_bucket(state: TenantState | None, name: str, value: dict[str, float]) -> TenantState:
    """The state with one token bucket replaced (buckets are not offset-guarded: they are rates)."""
    new = dict(state) if state is not None else empty_state()
    new[name] = value
    return new


def take_token(bucket: dict[str, float] | None, *, rate: float, burst: float, now_epoch: float) -> tuple[bool, dict[str, float], float]:
    """Token bucket that reserves: (allowed now, new bucket, seconds until the reserved token is due).

    Over quota the token is still taken and the bucket goes into debt, so each deferred message
    owns the slot it will run in: it comes back exactly when its token is due and is not charged
    again (no thundering herd of re-deferrals), and the deferral grows with the backlog.
    """
    if bucket is None:
        tokens, at = burst, now_epoch
    else:
        tokens, at = bucket["tokens"], bucket["at"]
    tokens = min(burst, tokens + max(0.0, now_epoch - at) * rate) - 1.0
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
