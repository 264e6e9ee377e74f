"""The PostgreSQL rows an input changes, as snapshots its transition and events carry.

The sink projects them with versioned upserts (a row is replaced only by a newer version): the
exception row (from a decision or from the playbook run after an input), an approval (version 1
requested, 2 answered or expired) and a tool execution (version 1 requested, 2 started by the tools
agent, 3 finished). Secrets in tool requests and responses are masked here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sentinai.core.models import DecisionOutcome, NormalizedException
from sentinai.core.occurrence import Occurrence
from sentinai.core.redaction import redact_secrets
from sentinai.core.run import PlaybookRun


def exception_snapshot(run: PlaybookRun) -> dict[str, Any]:
    """The exception row after an input, as the sink's versioned upsert projects it."""
    return {
        "source_system": run.source_system,
        "exception_type": run.exception_type,
        "severity": run.severity.value,
        "status": run.status.value,
        "owner": run.owner,
        "playbook_id": run.playbook_id,
        "current_step": None if run.completed else run.next_step,
        "sla_deadline": run.sla_deadline.isoformat() if run.sla_deadline else None,
        "first_seen_at": run.occurrence.first_seen_at(),
        "version": run.version,
    }


def decided_snapshot(outcome: DecisionOutcome, *, version: int, occurrence: Occurrence) -> dict[str, Any]:
    """The exception row right after its decision, with the raw input it was decided from."""
    exc = outcome.exception
    return {
        "source_system": exc.source_system,
        "exception_type": outcome.exception_type,
        "severity": outcome.severity.value,
        "status": outcome.status.value,
        "owner": None,
        "playbook_id": outcome.playbook_id,
        "current_step": None,
        "sla_deadline": outcome.sla_deadline.isoformat() if outcome.sla_deadline else None,
        "first_seen_at": occurrence.first_seen_at(),
        "version": version,
        **input_fields(exc),
    }


def input_fields(exception: NormalizedException) -> dict[str, Any]:
    """The row's columns that come from the input and never change: written once, on the decision."""
    return {"raw_payload": exception.payload,
            "normalized_context": {**exception.context, "occurred_at": exception.occurred_at.isoformat(),
                                   "source_system": exception.source_system,
                                   "exception_type": exception.exception_type}}


def approval_snapshot(run: PlaybookRun, now: datetime) -> dict[str, Any]:
    """The approvals row; its id is the one `outcome_events` gave the ApprovalRequested event."""
    return {
        "approval_id": run.approval_id(),
        "status": run.approval,
        "reason": "policy requires human approval",
        "requested_at": run.approval_requested_at.isoformat() if run.approval_requested_at else None,
        "expires_at": run.approval_expires_at.isoformat() if run.approval_expires_at else None,
        "decided_by": run.approval_by,
        "decided_at": now.isoformat(),
        "comment": run.approval_comment,
        "version": 2,
    }


def tool_snapshot(run: PlaybookRun, index: int, status: str, now: datetime,
                   detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """The tool_executions row of the run's step ``index``: version 1 requested, 3 finished."""
    step = run.steps[index]
    return tool_row(execution_id=run.tool_key(index), tool_name=step.tool, arguments=step.arguments,
                    status=status, now=now, detail=detail)


def tool_row(*, execution_id: str, tool_name: str | None, arguments: Any, status: str, now: datetime,
             detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """The tool_executions row requested (version 1), or finished (version 3) with the call's
    ``detail`` (a ``ToolResult.as_dict()``); the started one (2) is :func:`tool_started_snapshot`."""
    finished = detail is not None
    return {
        "execution_id": execution_id,
        "tool_name": tool_name,
        "status": status,
        "request": redact_secrets(arguments),
        "response": detail.get("response") if detail else None,
        "error": detail.get("error") if detail else None,
        "attempts": int(detail.get("attempts") or 0) if detail else 0,
        "started_at": None,
        "finished_at": now.isoformat() if finished else None,
        "version": 3 if finished else 1,
    }


def tool_started_snapshot(*, execution_id: str, tool_name: str, arguments: Any, now: datetime) -> dict[str, Any]:
    """The tool_executions row once the tools agent starts the call (version 2)."""
    return {"execution_id": execution_id, "tool_name": tool_name, "status": "STARTED",
            "request": redact_secrets(arguments), "response": None, "error": None, "attempts": 0,
            "started_at": now.isoformat(), "finished_at": None, "version": 2}
