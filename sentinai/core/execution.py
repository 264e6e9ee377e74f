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

`start` continues where `sentinai.streams.records.outcome_events` stops: PlaybookAssigned,
ApprovalRequested and the first status change come first in the same transition.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sentinai.core.actor import ACT_AGENT, TIMER, TOOLS_AGENT, Actor
from sentinai.core.effects import (
    NETWORK_CHANNELS,
    Effect,
    EmitEvent,
    Notify,
    RejectCommand,
    RequestNotify,
    RequestTool,
)
from sentinai.core.models import DecisionOutcome, Status
from sentinai.core.packs import OnFailure, StepAction, TenantPacks
from sentinai.core.redaction import redact_secrets
from sentinai.core.rows import approval_snapshot, tool_snapshot
from sentinai.core.run import PlaybookRun, SlaPhase, SlaPlan, StepState, run_step
from sentinai.core.sla_plans import sla_plans
from sentinai.core.status import can_transition, transition
from sentinai.core.templates import template_env

STEP_RETRY_LIMIT = 2
"""Tool requests a failed step may repeat under `onFailure: retry` before it escalates."""


# --- the transaction that each input runs in --------------------------------------------------


class _Tx:
    """Accumulates one input's state changes and effects; the transition carries the run's
    snapshot after the last of them (`exception_snapshot`).

    The run given is never changed: the first change makes a copy of it, which the later ones
    change in place; an input that changes nothing gives back the very run it was given. The
    version counts up here and reaches the run once, in `done`.
    """

    def __init__(self, run: PlaybookRun, now: datetime, actor: Actor) -> None:
        self.given = run
        self.run = run
        self.now = now
        self.actor = actor
        self.effects: list[Effect] = []
        self.version = run.version

    def done(self) -> tuple[PlaybookRun, list[Effect]]:
        """The run after the input (its version that of the last event) and the effects."""
        if self.version != self.run.version:
            self.update(version=self.version)
        return self.run, self.effects

    def update(self, **changes: Any) -> None:
        if self.run is self.given:
            self.run = self.given.copy()
        for name, value in changes.items():
            setattr(self.run, name, value)

    def key(self, *parts: object) -> str:
        return ":".join([self.run.playbook_id, *map(str, parts)])

    def emit(self, event_type: str, key: str, payload: dict[str, Any]) -> None:
        self.version += 1
        self.effects.append(EmitEvent(event_type, payload, key, self.actor, self.version))

    def set_status(self, target: Status, key: str, reason: str | None = None) -> None:
        current = self.run.status
        if current == target:
            return
        self.update(status=transition(current, target))
        self.emit("ExceptionStatusChanged", f"{key}:{target.value}",
                  {"from": current.value, "to": target.value, "reason": reason})

    def notify(self, kind: str, message: str, where: object) -> None:
        """The tenant routes that list the event type `kind`."""
        for index, route in enumerate(self.run.routes):
            if kind in route.events:
                self.effects.append(Notify(route.channel, route.target, message, kind,
                                           self.key(where, kind, index)))

    def set_step(self, index: int, state: StepState, **changes: Any) -> None:
        """Step ``index`` is in ``state`` now (and the run has ``changes``: one copy for both)."""
        states = list(self.run.step_states)
        states[index] = state
        self.update(step_states=tuple(states), **changes)


def _who(actor: Actor) -> dict[str, str]:
    return {"type": actor.type, "id": actor.id}


def _step_payload(run: PlaybookRun, index: int, **extra: Any) -> dict[str, Any]:
    step = run.steps[index]
    return {"playbook_id": run.playbook_id, "step": index, "name": step.name,
            "action": step.action.value, "risky": step.risky, **extra}


def _escalate(tx: _Tx, where: object, reason: str) -> None:
    tx.set_status(Status.ESCALATED, tx.key(where), reason)
    tx.emit("ExceptionEscalated", tx.key(where), {"reason": reason})
    tx.notify("ExceptionEscalated", f"{tx.run.exception_id} escalated: {reason}", where)


def _finish_step(tx: _Tx, index: int, detail: dict[str, Any]) -> None:
    tx.set_step(index, "done", next_step=index + 1, waiting_for=None)
    tx.emit("PlaybookStepCompleted", tx.key(index),
            _step_payload(tx.run, index, by=_who(tx.actor), detail=detail))


def _request_tool(tx: _Tx, index: int) -> None:
    step = tx.run.steps[index]
    assert step.tool is not None and step.arguments is not None
    attempts = list(tx.run.attempts)
    attempts[index] += 1
    tx.update(attempts=tuple(attempts), waiting_for="tool")
    tx.set_step(index, "running")
    key = tx.run.tool_key(index)
    tx.emit("ToolExecutionRequested", tx.key(index, attempts[index]),
            {**_step_payload(tx.run, index), "tool_execution": tool_snapshot(
                tx.run, index, "REQUESTED", tx.now)})
    tx.effects.append(RequestTool(index, step.tool, dict(step.arguments), key))


def _fail_step(tx: _Tx, index: int, reason: str, *, retryable: bool) -> None:
    """A failed step follows the playbook's onFailure: retry (bounded), skip or escalate.

    Only tool calls and notification deliveries are retried; a retry that is not possible or
    exhausted escalates.
    """
    run = tx.run
    tx.update(waiting_for=None)
    if (run.on_failure is OnFailure.RETRY and retryable
            and run.attempts[index] <= STEP_RETRY_LIMIT):
        if run.steps[index].action is StepAction.NOTIFY:
            _request_notify(tx, index)
        else:
            _request_tool(tx, index)
        return
    if run.on_failure is OnFailure.SKIP:
        tx.set_step(index, "skipped")
        tx.update(next_step=index + 1)
        tx.emit("PlaybookStepSkipped", tx.key(index), _step_payload(tx.run, index, reason=reason))
        return
    tx.set_step(index, "failed")
    tx.update(halted=f"step {index} ({run.steps[index].name}) failed: {reason}")
    tx.emit("PlaybookStepFailed", tx.key(index), _step_payload(tx.run, index, reason=reason))
    _escalate(tx, index, tx.run.halted or reason)


def _step_notices(run: PlaybookRun, index: int) -> list[Notify]:
    """An explicit `target` wins; else the tenant's routes that list no events (or `notify`);
    else the log channel `channel`."""
    step = run.steps[index]
    params = step.params
    message = str(params.get("message") or params.get("text") or
                  f"{run.exception_type} {run.exception_id} ({run.severity.value}): {step.name}")
    key = f"{run.playbook_id}:{index}:notify"
    if params.get("target"):
        return [Notify(str(params.get("channel") or "webhook"), str(params["target"]), message,
                       "notify", f"{key}:0")]
    routed = [Notify(r.channel, r.target, message, "notify", f"{key}:{i}")
              for i, r in enumerate(run.routes) if not r.events or "notify" in r.events]
    return routed or [Notify("log", str(params.get("channel") or "default"), message, "notify",
                             f"{key}:log")]


def _notified(run: PlaybookRun, index: int) -> list[dict[str, str]]:
    return [{"channel": n.channel, "target": n.shown_target} for n in _step_notices(run, index)]


def _request_notify(tx: _Tx, index: int) -> None:
    """The step's network notices go out; the step runs until their result comes back."""
    attempts = list(tx.run.attempts)
    attempts[index] += 1
    tx.update(attempts=tuple(attempts), waiting_for="notification")
    tx.set_step(index, "running")
    notices = tuple(n for n in _step_notices(tx.run, index) if n.channel in NETWORK_CHANNELS)
    tx.effects.append(RequestNotify(index, attempts[index], notices, tx.run.notify_key(index)))


def _notify(tx: _Tx, index: int) -> None:
    """Log notices go out now; a step with network notices waits for their delivery."""
    notices = _step_notices(tx.run, index)
    tx.effects += [n for n in notices if n.channel not in NETWORK_CHANNELS]
    if any(n.channel in NETWORK_CHANNELS for n in notices):
        _request_notify(tx, index)
    else:
        _finish_step(tx, index, {"notified": _notified(tx.run, index)})


def _execute(tx: _Tx, index: int) -> None:
    """Carry out step `index` now (automatically, or because a person completed it)."""
    step = tx.run.steps[index]
    params = step.params
    tx.emit("PlaybookStepStarted", tx.key(index),
            _step_payload(tx.run, index, by=_who(tx.actor)))
    if step.action is StepAction.CALL_TOOL:
        if step.blocked:
            _fail_step(tx, index, f"tool {step.tool} is blocked by guardrails or not approved",
                       retryable=False)
        else:
            _request_tool(tx, index)
        return
    if step.action is StepAction.NOTIFY:
        _notify(tx, index)
    elif step.action is StepAction.ASSIGN_OWNER:
        owner = params.get("owner") or params.get("user") or params.get("team")
        if not owner:
            _fail_step(tx, index, "assign_owner needs params.owner, user or team", retryable=False)
            return
        tx.update(owner=str(owner))
        _finish_step(tx, index, {"owner": str(owner)})
    elif step.action is StepAction.SET_STATUS:
        target = Status(params["status"])
        if not can_transition(tx.run.status, target):
            _fail_step(tx, index, f"cannot move from {tx.run.status} to {target}", retryable=False)
            return
        tx.set_status(target, tx.key(index), f"playbook step {step.name}")
        _finish_step(tx, index, {"status": target.value})
    elif step.action is StepAction.ADD_COMMENT:
        text = str(params.get("text") or params.get("comment") or "")
        tx.update(comments=(*tx.run.comments, text))
        tx.emit("CommentAdded", tx.key(index),
                {"comment": text, "by": _who(tx.actor), "step": index})
        _finish_step(tx, index, {"comment": text})
    else:
        _escalate(tx, index, str(params.get("reason") or f"playbook step {step.name}"))
        _finish_step(tx, index, {"status": Status.ESCALATED.value})


def _complete(tx: _Tx) -> None:
    run = tx.run
    tx.update(waiting_for=None)
    tx.emit("PlaybookCompleted", tx.key("end"), {"playbook_id": run.playbook_id,
                                                 "steps": list(run.step_states)})
    if run.status not in (Status.RESOLVED, Status.CLOSED) and can_transition(run.status,
                                                                            Status.RESOLVED):
        tx.set_status(Status.RESOLVED, tx.key("end"), "every playbook step is done")
        tx.emit("ExceptionResolved", tx.key("end"), {"playbook_id": run.playbook_id})


def _advance(tx: _Tx, actor: Actor | None = None) -> None:
    """Run steps in order until one must wait (approval, a person, a tool) or all are done.

    `actor` is who the steps that now run by themselves are attributed to (default: the
    input's actor); a person's input starts their own step, not the automatic ones after it.
    """
    if actor is not None:
        tx.actor = actor
    while True:
        run = tx.run
        if run.halted is not None or run.waiting_for is not None:
            return
        if run.next_step >= len(run.steps):
            _complete(tx)
            return
        index = run.next_step
        step = run.steps[index]
        if step.risky or not run.auto:
            tx.update(waiting_for="person")
            tx.set_step(index, "waiting")
            reason = "risky step" if step.risky else "automatic execution is not allowed"
            tx.emit("PlaybookStepWaiting", tx.key(index),
                    _step_payload(run, index, waiting_for="person", reason=reason))
            return
        _execute(tx, index)


# --- inputs ------------------------------------------------------------------------------------


def start(outcome: DecisionOutcome, packs: TenantPacks, *, now: datetime,
          base_version: int = 0) -> tuple[PlaybookRun | None, list[Effect]]:
    """The run for a decided exception, already advanced as far as policy allows.

    No playbook: no run (escalation notifications only). Approval required: the run waits,
    with `approval_expires_at` after the tenant's approvalTimeoutMinutes. Otherwise low-risk
    steps run now unless the decision escalated. `base_version` is the version of the last
    event `outcome_events` published for this exception.
    """
    exc = outcome.exception
    routes = tuple(r for r in packs.tenant.notification_policies
                   if not r.severities or outcome.severity in r.severities)
    escalated = f"{exc.exception_id} escalated: {_escalation_reason(outcome)}"
    compiled = next((c for c in packs.playbooks if c.playbook.id == outcome.playbook_id), None)
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
    )
    tx = _Tx(run, now, ACT_AGENT)
    if pending:
        tx.notify("ApprovalRequested",
                  f"{exc.exception_id} ({outcome.severity.value}) needs approval "
                  f"for playbook {run.playbook_id}", "approval")
    if outcome.escalated:
        tx.notify("ExceptionEscalated", escalated, "decide")
    _advance(tx)
    return tx.done()


def _escalation_reason(outcome: DecisionOutcome) -> str:
    """The policy stage's escalation evidence, e.g. `no playbook applies to CASH_BREAK`."""
    reasons = [item.removeprefix("escalate: ") for d in outcome.decisions if d.stage == "policy"
               for item in d.evidence if item.startswith("escalate: ")]
    return "; ".join(reasons) or "policy escalated"


def _expire(tx: _Tx) -> None:
    minutes = "the approval timeout"
    if tx.run.approval_requested_at and tx.run.approval_expires_at:
        span = tx.run.approval_expires_at - tx.run.approval_requested_at
        minutes = f"{int(span.total_seconds() // 60)} minutes"
    reason = f"no approval answer within {minutes}"
    tx.update(approval="EXPIRED", waiting_for=None, halted=reason)
    tx.emit("ApprovalExpired", tx.key("approval"),
            {"approval": approval_snapshot(tx.run, tx.now), "reason": reason})
    _escalate(tx, "approval", reason)


def on_approval(run: PlaybookRun, *, granted: bool, by: str, comment: str | None,
                now: datetime) -> tuple[PlaybookRun, list[Effect]]:
    """An operator's answer. Grant → IN_PROGRESS and the steps go on; reject → ESCALATED.

    The same answer again is a no-op; a different answer to a decided approval is refused; an
    answer after the deadline expires the approval (once) and is refused.
    """
    if run.approval is None:
        return run, [RejectCommand("no approval was requested for this playbook")]
    if run.approval != "PENDING":
        same = run.approval == ("GRANTED" if granted else "REJECTED")
        return run, [] if same else [RejectCommand(f"the approval is already {run.approval}")]
    if run.approval_expires_at is not None and now >= run.approval_expires_at:
        tx = _Tx(run, now, TIMER)
        _expire(tx)
        tx.effects.append(RejectCommand(
            f"the approval expired at {run.approval_expires_at.isoformat()}"))
        return tx.done()
    tx = _Tx(run, now, Actor(type="user", id=by))
    tx.update(approval="GRANTED" if granted else "REJECTED", approval_by=by,
              approval_comment=comment, waiting_for=None)
    snapshot = approval_snapshot(tx.run, now)
    if granted:
        tx.update(auto=True)
        tx.emit("ApprovalGranted", tx.key("approval"), {"approval": snapshot})
        tx.set_status(Status.IN_PROGRESS, tx.key("approval"), f"approved by {by}")
        _advance(tx, ACT_AGENT)
    else:
        reason = f"approval rejected by {by}" + (f": {comment}" if comment else "")
        tx.update(halted=reason)
        tx.emit("ApprovalRejected", tx.key("approval"), {"approval": snapshot, "reason": reason})
        _escalate(tx, "approval", reason)
    return tx.done()


def on_approval_expired(run: PlaybookRun, *,
                        now: datetime) -> tuple[PlaybookRun, list[Effect]]:
    """The approval timer fired: ApprovalExpired and ESCALATED, once; early or late ticks are no-ops."""
    if run.approval != "PENDING" or (run.approval_expires_at is not None
                                     and now < run.approval_expires_at):
        return run, []
    tx = _Tx(run, now, TIMER)
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
    tx = _Tx(run, now, by)
    tx.update(waiting_for=None)
    _execute(tx, step)
    _advance(tx, ACT_AGENT)
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
    tx = _Tx(run, now, TOOLS_AGENT)
    detail = redact_secrets(detail)
    attempt = run.attempts[step]
    status = "SUCCEEDED" if succeeded else "FAILED"
    tx.emit(f"ToolExecution{status.title()}", tx.key(step, attempt),
            {**_step_payload(run, step), "tool_execution": tool_snapshot(
                run, step, status, now, detail)})
    if succeeded:
        _finish_step(tx, step, {"tool": run.steps[step].tool,
                                "response": detail.get("response")})
    else:
        _fail_step(tx, step, str(detail.get("error") or "the tool call failed"), retryable=True)
    _advance(tx, ACT_AGENT)
    return tx.done()


def on_notification_result(run: PlaybookRun, *, step: int, succeeded: bool, detail: dict[str, Any],
                           idempotency_key: str, now: datetime) -> tuple[PlaybookRun, list[Effect]]:
    """The outcome of a `RequestNotify`, matched by its key: the step completes, or follows the
    playbook's onFailure (a retry delivers again). A result no longer awaited is ignored."""
    if (run.waiting_for != "notification" or step != run.next_step
            or idempotency_key != run.notify_key(step)):
        return run, []
    tx = _Tx(run, now, TOOLS_AGENT)
    if succeeded:
        _finish_step(tx, step, {"notified": _notified(run, step)})
    else:
        _fail_step(tx, step, str(detail.get("error") or "the notification was not delivered"),
                   retryable=True)
    _advance(tx, ACT_AGENT)
    return tx.done()


def _recalculate(tx: _Tx, plan: SlaPlan, phase: SlaPhase) -> None:
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
    tx = _Tx(run, now, TIMER)
    plan = run.sla_plans.get(phase)
    if plan is not None:
        if plan.playbook_id != run.playbook_id:
            _recalculate(tx, plan, phase)
            _advance(tx, ACT_AGENT)
    elif (phase == "expired" and run.sla_expired_escalates and run.status != Status.ESCALATED
          and can_transition(run.status, Status.ESCALATED)):
        deadline = run.sla_deadline.isoformat() if run.sla_deadline else "its deadline"
        tx.update(auto=False)
        _escalate(tx, "sla", f"SLA expired at {deadline}")
    return tx.done()
