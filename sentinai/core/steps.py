"""Carrying out a playbook run's steps, inside the transaction of one input.

:mod:`sentinai.core.execution` takes an input (a decision, an approval, a completed step, a tool
or notification result, an SLA phase) and opens a :class:`Tx` on the run; the functions here
change the run within it and collect its effects: run the steps in order until one must wait
(:func:`advance`), carry out one step (:func:`execute`), finish, fail (by the playbook's
``onFailure``) or escalate. Pure, like the rest of the core: no I/O, no clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sentinai.core.actor import Actor
from sentinai.core.effects import (
    NETWORK_CHANNELS,
    Effect,
    EmitEvent,
    Notify,
    RequestNotify,
    RequestTool,
)
from sentinai.core.models import Status
from sentinai.core.packs import OnFailure, StepAction
from sentinai.core.rows import tool_snapshot
from sentinai.core.run import PlaybookRun, StepState
from sentinai.core.status import can_transition, transition

STEP_RETRY_LIMIT = 2
"""Tool requests a failed step may repeat under `onFailure: retry` before it escalates."""


class Tx:
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


def step_payload(run: PlaybookRun, index: int, **extra: Any) -> dict[str, Any]:
    step = run.steps[index]
    return {"playbook_id": run.playbook_id, "step": index, "name": step.name,
            "action": step.action.value, "risky": step.risky, **extra}


def escalate(tx: Tx, where: object, reason: str) -> None:
    tx.set_status(Status.ESCALATED, tx.key(where), reason)
    tx.emit("ExceptionEscalated", tx.key(where), {"reason": reason})
    tx.notify("ExceptionEscalated", f"{tx.run.exception_id} escalated: {reason}", where)


def finish_step(tx: Tx, index: int, detail: dict[str, Any]) -> None:
    tx.set_step(index, "done", next_step=index + 1, waiting_for=None)
    tx.emit("PlaybookStepCompleted", tx.key(index),
            step_payload(tx.run, index, by=_who(tx.actor), detail=detail))


def _request_tool(tx: Tx, index: int) -> None:
    step = tx.run.steps[index]
    assert step.tool is not None and step.arguments is not None
    attempts = list(tx.run.attempts)
    attempts[index] += 1
    tx.update(attempts=tuple(attempts), waiting_for="tool")
    tx.set_step(index, "running")
    key = tx.run.tool_key(index)
    tx.emit("ToolExecutionRequested", tx.key(index, attempts[index]),
            {**step_payload(tx.run, index), "tool_execution": tool_snapshot(
                tx.run, index, "REQUESTED", tx.now)})
    tx.effects.append(RequestTool(index, step.tool, dict(step.arguments), key))


def fail_step(tx: Tx, index: int, reason: str, *, retryable: bool) -> None:
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
        tx.emit("PlaybookStepSkipped", tx.key(index), step_payload(tx.run, index, reason=reason))
        return
    tx.set_step(index, "failed")
    tx.update(halted=f"step {index} ({run.steps[index].name}) failed: {reason}")
    tx.emit("PlaybookStepFailed", tx.key(index), step_payload(tx.run, index, reason=reason))
    escalate(tx, index, tx.run.halted or reason)


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


def notified(run: PlaybookRun, index: int) -> list[dict[str, str]]:
    return [{"channel": n.channel, "target": n.shown_target} for n in _step_notices(run, index)]


def _request_notify(tx: Tx, index: int) -> None:
    """The step's network notices go out; the step runs until their result comes back."""
    attempts = list(tx.run.attempts)
    attempts[index] += 1
    tx.update(attempts=tuple(attempts), waiting_for="notification")
    tx.set_step(index, "running")
    notices = tuple(n for n in _step_notices(tx.run, index) if n.channel in NETWORK_CHANNELS)
    tx.effects.append(RequestNotify(index, attempts[index], notices, tx.run.notify_key(index)))


def _notify(tx: Tx, index: int) -> None:
    """Log notices go out now; a step with network notices waits for their delivery."""
    notices = _step_notices(tx.run, index)
    tx.effects += [n for n in notices if n.channel not in NETWORK_CHANNELS]
    if any(n.channel in NETWORK_CHANNELS for n in notices):
        _request_notify(tx, index)
    else:
        finish_step(tx, index, {"notified": notified(tx.run, index)})


def execute(tx: Tx, index: int) -> None:
    """Carry out step `index` now (automatically, or because a person completed it)."""
    step = tx.run.steps[index]
    params = step.params
    tx.emit("PlaybookStepStarted", tx.key(index),
            step_payload(tx.run, index, by=_who(tx.actor)))
    if step.error is not None:
        fail_step(tx, index, step.error, retryable=False)
        return
    if step.action is StepAction.CALL_TOOL:
        if step.blocked:
            fail_step(tx, index, f"tool {step.tool} is blocked by guardrails or not approved",
                       retryable=False)
        else:
            _request_tool(tx, index)
        return
    if step.action is StepAction.NOTIFY:
        _notify(tx, index)
    elif step.action is StepAction.ASSIGN_OWNER:
        owner = params.get("owner") or params.get("user") or params.get("team")
        if not owner:
            fail_step(tx, index, "assign_owner needs params.owner, user or team", retryable=False)
            return
        tx.update(owner=str(owner))
        finish_step(tx, index, {"owner": str(owner)})
    elif step.action is StepAction.SET_STATUS:
        target = Status(params["status"])
        if not can_transition(tx.run.status, target):
            fail_step(tx, index, f"cannot move from {tx.run.status} to {target}", retryable=False)
            return
        tx.set_status(target, tx.key(index), f"playbook step {step.name}")
        finish_step(tx, index, {"status": target.value})
    elif step.action is StepAction.ADD_COMMENT:
        text = str(params.get("text") or params.get("comment") or "")
        tx.update(comments=(*tx.run.comments, text))
        tx.emit("CommentAdded", tx.key(index),
                {"comment": text, "by": _who(tx.actor), "step": index})
        finish_step(tx, index, {"comment": text})
    else:
        escalate(tx, index, str(params.get("reason") or f"playbook step {step.name}"))
        finish_step(tx, index, {"status": Status.ESCALATED.value})


def _complete(tx: Tx) -> None:
    run = tx.run
    tx.update(waiting_for=None)
    tx.emit("PlaybookCompleted", tx.key("end"), {"playbook_id": run.playbook_id,
                                                 "steps": list(run.step_states)})
    if run.status not in (Status.RESOLVED, Status.CLOSED) and can_transition(run.status,
                                                                            Status.RESOLVED):
        tx.set_status(Status.RESOLVED, tx.key("end"), "every playbook step is done")
        tx.emit("ExceptionResolved", tx.key("end"), {"playbook_id": run.playbook_id})


def advance(tx: Tx, actor: Actor | None = None) -> None:
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
                    step_payload(run, index, waiting_for="person", reason=reason))
            return
        execute(tx, index)
