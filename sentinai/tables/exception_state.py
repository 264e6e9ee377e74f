"""Per-exception state, keyed ``tenant/exception_id``; it is also the dedup record.

An entry remembers the source message that first decided the exception. The same exception id
arriving again from another message within the dedup window is a duplicate; the same source
message arriving again (a replay after a crash) is our own work being redone, and is re-published
with the same deterministic ids instead of being skipped, so nothing that was lost is lost twice.
"""

from __future__ import annotations

from typing import Any

ExceptionState = dict[str, Any]


def state_key(tenant_id: str, exception_id: str) -> str:
    return f"{tenant_id}/{exception_id}"


def is_duplicate(state: ExceptionState | None, source: tuple[str, int, int], *, now_epoch: float,
                 window_seconds: float) -> bool:
    if state is None:
        return False
    if list(state["source"]) == list(source):
        return False
    return now_epoch - state["first_seen"] < window_seconds


def decided_state(*, source: tuple[str, int, int], now_epoch: float, status: str, severity: str,
                  exception_type: str, playbook_id: str | None, version: int) -> ExceptionState:
    return {"source": list(source), "first_seen": now_epoch, "status": status, "severity": severity,
            "exception_type": exception_type, "playbook_id": playbook_id, "current_step": None,
            "version": version}


def awaiting_llm(*, source: tuple[str, int, int], now_epoch: float) -> ExceptionState:
    """Seen and sent to the LLM stage: a re-sent copy is a duplicate while the model thinks."""
    return {"source": list(source), "first_seen": now_epoch, "status": "OPEN", "version": 0}
