"""The ``tool-calls`` table: outcomes of tool calls and webhook notices, keyed by idempotency key.

An entry lets a request that arrives again (a redelivery after a crash, or the act agent redoing
its own input) get the stored outcome instead of a second call. It is only needed while such a
repeat can still come, so each entry records its tenant, partition and time, and the timer has
entries older than the dedup window dropped (``sentinai.jobs.timers``): without that the table,
which holds tool responses of up to ``maxResponseBytes``, would grow for ever.
"""

from __future__ import annotations

from typing import Any

ToolCall = dict[str, Any]


def record(outcome: dict[str, Any], *, tenant_id: str, partition: int, now_epoch: float) -> ToolCall:
    return {"outcome": outcome, "tenant_id": tenant_id, "partition": partition, "recorded_at": now_epoch}


def outcome(entry: ToolCall | None) -> dict[str, Any] | None:
    """The stored outcome; entries written before records carried their time are the outcome itself."""
    if entry is None:
        return None
    return entry["outcome"] if "outcome" in entry and "recorded_at" in entry else entry


def stale(entry: ToolCall | None, *, now_epoch: float, keep_seconds: float) -> bool:
    """Old enough to drop: no repeat of its request is expected any more."""
    return bool(entry) and "recorded_at" in entry and now_epoch - entry["recorded_at"] >= keep_seconds


def stale_at(entry: ToolCall | None, *, keep_seconds: float) -> float | None:
    """When (epoch seconds) the entry becomes `stale`; None for entries that carry no time."""
    return entry["recorded_at"] + keep_seconds if entry and "recorded_at" in entry else None


def partition(entry: ToolCall | None) -> int | None:
    """The partition of the exception the call was made for; None for entries that carry none."""
    return entry.get("partition") if entry else None

