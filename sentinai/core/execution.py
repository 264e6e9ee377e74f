"""Playbook execution as a pure state machine: (run, input, now) -> (new run, effects).

The act agent keeps one `PlaybookRun` per exception in a table and feeds it every input that
concerns it: the decision (`start`), an approval answer or its expiry, a person completing a step,
a tool result, a notification result. Each function returns the next run and the effects to carry
out, in order: events to publish, tool calls to request, notifications to send, or a command to
refuse. Nothing here does I/O or reads a clock, so every rule is a table-driven test.

Replays are harmless. Every event has a deterministic step key (playbook, step, and attempt for
tool events) that becomes its `event_id`; and an input that was already applied (the same
approval, a completion of a step already done, a result of a tool call no longer awaited) yields
no effects at all, so an agent that redoes its work after a crash publishes nothing new.

The steps themselves are carried out in :mod:`sentinai.core.steps`, within the transaction
(:class:`~sentinai.core.steps.Tx`) each input opens here.

`start` continues where `sentinai.streams.records.outcome_events` stops: PlaybookAssigned,
ApprovalRequested and the first status change come first in the same transition.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sentinai.core.actor import ACT_AGENT, TIMER, TOOLS_AGENT, Actor
from sentinai.core.effects import Effect, Notify, RejectCommand
from sentinai.core.models import DecisionOutcome, Status
from sentinai.core.occurrence import NO_OCCURRENCE, Occurrence
from sentinai.core.packs import TenantPacks
from sentinai.core.redaction import redact_secrets
from sentinai.core.rows import approval_snapshot, tool_snapshot
from sentinai.core.run import PlaybookRun, SlaPhase, SlaPlan, run_step
from sentinai.core.sla_plans import sla_plans
from sentinai.core.status import can_transition
from sentinai.core.steps import (
    STEP_RETRY_LIMIT,
    Tx,
    advance,
    escalate,
    execute,
    fail_step,
    finish_step,
    notified,
    step_payload,
)
from sentinai.core.templates import template_env

__all__ = ["STEP_RETRY_LIMIT", "on_approval", "on_approval_expired", "on_notification_result", "on_sla",
           "on_step_completed", "on_tool_result", "start"]


def start(outcome: DecisionOutcome, packs: TenantPacks, *, now: datetime, base_version: int = 0,
          occurrence: Occurrence = NO_OCCURRENCE) -> tuple[PlaybookRun | None, list[Effect]]:
    """The run for a decided exception, already advanced as far as policy allows.

    No playbook: no run (escalation notifications only). Approval required: the run waits,
    with `approval_expires_at` after the tenant's approvalTimeoutMinutes. Otherwise low-risk
    steps run now unless the decision escalated. `base_version` is the version of the last
    event `outcome_events` published for this exception; `occurrence` the occurrence of the
    exception id it decided.
    """
    exc = outcome.exception
    routes = tuple(r for r in packs.tenant.notification_policies
                   if not r.severities or outcome.severity in r.severities)
    escalated = f"{exc.exception_id} escalated: {_escalation_reason(outcome)}"
    compiled = packs.playbook(outcome.playbook_id)
    if compiled is None:
        notices = [Notify(r.channel, r.target, escalated, "ExceptionEscalated",
                          f"decide:ExceptionEscalated:{i}")
                   for i, r in enumerate(routes) if "ExceptionEscalated" in r.events]
        return None, notices if outcome.escalated else []
    env = template_env(outcome)
    blocked = frozenset(outcome.blocked_tools)
    steps = tuple(run_step(s, packs, blocked, env) for s in compiled.playbook.steps)
    pending = outcome.approval_required
    run = PlaybookRun(
        tenant_id=exc.tenant_id, exception_id=exc.exception_id, playbook_id=compiled.playbook.id,
        on_failure=compiled.playbook.on_failure, steps=steps,
        step_states=("pending",) * len(steps), attempts=(0,) * len(steps),
        status=outcome.status, auto=not pending and not outcome.escalated,
        approval="PENDING" if pending else None,
        approval_requested_at=now if pending else None,
        approval_expires_at=now + timedelta(minutes=packs.tenant.approval_timeout_minutes)
        if pending else None,
        waiting_for="approval" if pending else None,
        routes=routes, exception_type=outcome.exception_type, severity=outcome.severity,
        source_system=exc.source_system, sla_deadline=outcome.sla_deadline, version=base_version,
        sla_plans=sla_plans(outcome, packs), sla_expired_escalates=packs.tenant.sla_expired_escalates,
        occurrence=occurrence,
    )
    tx = Tx(run, now, ACT_AGENT)
    if pending:
        tx.notify("ApprovalRequested",
                  f"{exc.exception_id} ({outcome.severity.value}) needs approval "
                  f"for playbook {run.playbook_id}", "approval")
    if outcome.escalated:
        tx.notify("ExceptionEscalated", escalated, "decide")
    advance(tx)
    return tx.done()


def _escalation_reason(outcome: DecisionOutcome) -> str:
    """The policy stage's escalation evidence, e.g. `no playbook applies to CASH_BREAK`."""
    reasons = [item.removeprefix("escalate: ") for d in outcome.decisions if d.stage == "policy"
               for item in d.evidence if item.startswith("escalate: ")]
    return "; ".join(reasons) or "policy escalated"


def _expire(tx: Tx) -> None:
    minutes = "the approval timeout"
    if tx.run.approval_requested_at and tx.run.approval_expires_at:
        span = tx.run.approval_expires_at - tx.run.approval_requested_at
        minutes = f"{int(span.total_seconds() // 60)} minutes"
    reason = f"no approval answer within {minutes}"
    tx.update(approval="EXPIRED", approval_comment=reason, waiting_for=None, halted=reason)
    tx.emit("ApprovalExpired", tx.key("approval"),
            {"approval": approval_snapshot(tx.run, tx.now), "reason": reason})
    escalate(tx, "approval", reason)


def on_approval(run: PlaybookRun, *, granted: bool, by: str, comment: str | None, now: datetime,
                approval_id: str | None = None) -> tuple[PlaybookRun, list[Effect]]:
    """An operator's answer. Grant → IN_PROGRESS and the steps go on; reject → ESCALATED.

    The same answer again is a no-op; a different answer to a decided approval is refused; an
    answer after the deadline expires the approval (once) and is refused. An answer naming
    another approval than the run's (``approval_id``, as the web view's commands do: one an
    earlier occurrence of the exception id asked for) is refused.
    """
    if run.approval is None:
        return run, [RejectCommand("no approval was requested for this playbook")]
    if approval_id is not None and approval_id != run.approval_id():
        return run, [RejectCommand(f"approval {approval_id} is not the exception's current one: "
                                   "a new occurrence of the exception id replaced it")]
    if run.approval != "PENDING":
        same = run.approval == ("GRANTED" if granted else "REJECTED")
        return run, [] if same else [RejectCommand(f"the approval is already {run.approval}")]
    if run.approval_expires_at is not None and now >= run.approval_expires_at:
        tx = Tx(run, now, TIMER)
        _expire(tx)
        tx.effects.append(RejectCommand(
            f"the approval expired at {run.approval_expires_at.isoformat()}"))
        return tx.done()
    tx = Tx(run, now, Actor(type="user", id=by))
    tx.update(approval="GRANTED" if granted else "REJECTED", approval_by=by,
              approval_comment=comment, waiting_for=None)
    snapshot = approval_snapshot(tx.run, now)
    if granted:
        tx.update(auto=True)
        tx.emit("ApprovalGranted", tx.key("approval"), {"approval": snapshot})
        tx.set_status(Status.IN_PROGRESS, tx.key("approval"), f"approved by {by}")
        advance(tx, ACT_AGENT)
    else:
        reason = f"approval rejected by {by}" + (f": {comment}" if comment else "")
        tx.update(halted=reason)
        tx.emit("ApprovalRejected", tx.key("approval"), {"approval": snapshot, "reason": reason})
        escalate(tx, "approval", reason)
    return tx.done()


def on_approval_expired(run: PlaybookRun, *,
                        now: datetime) -> tuple[PlaybookRun, list[Effect]]:
    """The approval timer fired: ApprovalExpired and ESCALATED, once; early or late ticks are no-ops."""
    if run.approval != "PENDING" or (run.approval_expires_at is not None
                                     and now < run.approval_expires_at):
        return run, []
    tx = Tx(run, now, TIMER)
    _expire(tx)
    return tx.done()


def on_step_completed(run: PlaybookRun, *, step: int, by: Actor,
                      now: datetime) -> tuple[PlaybookRun, list[Effect]]:
    """A person (or an agent, for a low-risk step) completes step `step`, which then runs.

    Steps complete in order; a risky step only by a user. Completing a step that is done or
    already running is a no-op (a replayed command).
    """
    if not 0 <= step < len(run.steps):
        return run, [RejectCommand(f"the playbook has no step {step}")]
    if step < run.next_step or (step == run.next_step and run.waiting_for in ("tool", "notification")):
        return run, []
    if run.halted is not None:
        return run, [RejectCommand(f"the playbook stopped: {run.halted}")]
    expected = run.steps[run.next_step]
    if step > run.next_step:
        return run, [RejectCommand(
            f"steps complete in order: step {run.next_step} ({expected.name}) comes first")]
    if run.waiting_for == "approval":
        return run, [RejectCommand("the playbook is waiting for approval")]
    if expected.risky and by.type != "user":
        return run, [RejectCommand(
            f"step {step} ({expected.name}) is risky: only a user may complete it")]
    tx = Tx(run, now, by)
    tx.update(waiting_for=None)
    execute(tx, step)
    advance(tx, ACT_AGENT)
    return tx.done()


def on_tool_result(run: PlaybookRun, *, step: int, succeeded: bool, detail: dict[str, Any],
                   idempotency_key: str, now: datetime) -> tuple[PlaybookRun, list[Effect]]:
    """The outcome of a `RequestTool` (detail: `ToolResult.as_dict()`), matched by its key.

    A result for a request that is no longer awaited (a duplicate, or an earlier attempt) is
    ignored.
    """
    if (run.waiting_for != "tool" or step != run.next_step
            or idempotency_key != run.tool_key(step)):
        return run, []
    tx = Tx(run, now, TOOLS_AGENT)
    detail = redact_secrets(detail)
    attempt = run.attempts[step]
    status = "SUCCEEDED" if succeeded else "FAILED"
    tx.emit(f"ToolExecution{status.title()}", tx.key(step, attempt),
            {**step_payload(run, step), "tool_execution": tool_snapshot(
                run, step, status, now, detail)})
    if succeeded:
        finish_step(tx, step, {"tool": run.steps[step].tool,
                                "response": detail.get("response")})
    else:
        fail_step(tx, step, str(detail.get("error") or "the tool call failed"), retryable=True)
    advance(tx, ACT_AGENT)
    return tx.done()


def on_notification_result(run: PlaybookRun, *, step: int, succeeded: bool, detail: dict[str, Any],
                           idempotency_key: str, now: datetime) -> tuple[PlaybookRun, list[Effect]]:
    """The outcome of a `RequestNotify`, matched by its key: the step completes, or follows the
    playbook's onFailure (a retry delivers again). A result no longer awaited is ignored."""
    if (run.waiting_for != "notification" or step != run.next_step
            or idempotency_key != run.notify_key(step)):
        return run, []
    tx = Tx(run, now, TOOLS_AGENT)
    if succeeded:
        finish_step(tx, step, {"notified": notified(run, step)})
    else:
        fail_step(tx, step, str(detail.get("error") or "the notification was not delivered"),
                   retryable=True)
    advance(tx, ACT_AGENT)
    return tx.done()


def _recalculate(tx: Tx, plan: SlaPlan, phase: SlaPhase) -> None:
    """Replace the playbook: its steps start from the first; an open approval still holds them."""
    run = tx.run
    previous = run.playbook_id
    key = tx.key("sla", phase)
    count = len(plan.steps)
    tx.update(playbook_id=plan.playbook_id, on_failure=plan.on_failure, steps=plan.steps,
              step_states=("pending",) * count, attempts=(0,) * count, next_step=0,
              waiting_for="approval" if run.approval == "PENDING" else None,
              auto=run.auto and plan.approved)
    reason = f"SLA {phase}: " + "; ".join(plan.reasons)
    tx.emit("PlaybookRecalculated", key, {
        "playbook_id": plan.playbook_id, "previous_playbook_id": previous, "reason": reason,
        "steps": [{"step": i, "name": s.name, "action": s.action.value, "risky": s.risky}
                  for i, s in enumerate(plan.steps)]})
    tx.notify("PlaybookRecalculated",
              f"{run.exception_id}: playbook {previous} replaced by {plan.playbook_id} ({reason})", "sla")


def on_sla(run: PlaybookRun, phase: SlaPhase, *, now: datetime) -> tuple[PlaybookRun, list[Effect]]:
    """The SLA timer reached `phase` (its SLAImminent or SLAExpired was just emitted).

    A playbook that applies from this phase on replaces the current one (PlaybookRecalculated)
    and runs as far as policy allows. Otherwise an expired SLA escalates a run that is still
    going, when the tenant says so; its remaining steps then wait for a person. A completed or
    halted run is left alone, and so is a run already on the phase's playbook.
    """
    if run.halted is not None or run.completed or run.status in (Status.RESOLVED, Status.CLOSED):
        return run, []
    tx = Tx(run, now, TIMER)
    plan = run.sla_plans.get(phase)
    if plan is not None:
        if plan.playbook_id != run.playbook_id:
            _recalculate(tx, plan, phase)
            advance(tx, ACT_AGENT)
    elif (phase == "expired" and run.sla_expired_escalates and run.status != Status.ESCALATED
          and can_transition(run.status, Status.ESCALATED)):
        deadline = run.sla_deadline.isoformat() if run.sla_deadline else "its deadline"
        tx.update(auto=False)
        escalate(tx, "sla", f"SLA expired at {deadline}")
    return tx.done()
