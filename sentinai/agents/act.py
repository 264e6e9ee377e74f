"""Acting on decisions: the playbook run of each exception, driven by its commands.

Commands arrive on co-partitioned topics: approvals and step completions from the web view, tool
and notification results from the tools agent, approval expiries, SLA ticks, and states and
tool-call outcomes to forget from the timer. Each one reads as the flow: decode → the core's pure
function over the run (``sentinai.core.execution``) or the SLA clock (``sentinai.core.sla``) →
one transition and at most one decision record → one state write. The transition is published
*before* the new state is stored: after a crash the same command is applied again and publishes
the same deterministic ids, instead of a stored state whose events never happened.

A command of an earlier occurrence of the exception id (one a newer occurrence replaced) is
refused, but for a tool result: the call was made, so its finish is recorded (its tool execution
row), without touching the current run (:func:`sentinai.streams.records.replaced_tool_result`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from faust.types import EventT

from sentinai.agents.effects import Effects
from sentinai.agents.outbox import Draft, Outbox
from sentinai.core import execution, rows
from sentinai.core.actor import Actor
from sentinai.core.effects import Effect
from sentinai.core.models import Status
from sentinai.core.run import PlaybookRun
from sentinai.core.sla import emitted_phase, on_sla_tick
from sentinai.metrics import EXCEPTION_STATES_FORGOTTEN
from sentinai.streams import codec, records
from sentinai.tables import tool_calls
from sentinai.tables.exception_state import (
    occurrence_key,
    run_of,
    settled,
    sla_clock,
    state_key,
    with_run,
    with_sla_clock,
)

log = logging.getLogger(__name__)

Command = dict[str, Any]
RunInput = Callable[[PlaybookRun, Command, datetime], tuple[PlaybookRun, list[Effect]]]


class CommandRejected(ValueError):
    """A command that cannot apply (unknown exception, no playbook, out of order): dead-lettered."""


def _approval(granted: bool) -> RunInput:
    return lambda run, c, now: execution.on_approval(
        run, granted=granted, by=str(c.get("by") or ""), comment=c.get("comment"), now=now,
        approval_id=None if c.get("approval_id") is None else str(c["approval_id"]))


RUN_INPUTS: dict[str, RunInput] = {
    "approve": _approval(True),
    "reject": _approval(False),
    "complete_step": lambda run, c, now: execution.on_step_completed(
        run, step=int(c["step"]), by=Actor(type="user", id=str(c.get("by") or "")), now=now),
    "tool_result": lambda run, c, now: execution.on_tool_result(
        run, step=int(c["step"]), succeeded=bool(c["succeeded"]), detail=dict(c.get("detail") or {}),
        idempotency_key=str(c["idempotency_key"]), now=now),
    "notification_result": lambda run, c, now: execution.on_notification_result(
        run, step=int(c["step"]), succeeded=bool(c["succeeded"]), detail=dict(c.get("detail") or {}),
        idempotency_key=str(c["idempotency_key"]), now=now),
    "expire_approval": lambda run, c, now: execution.on_approval_expired(run, now=now),
}
"""The commands that move a playbook run, each to the core function that applies it."""


def _view(state: dict[str, Any]) -> dict[str, Any]:
    """The exception as its state stands, for a decision record of an input that left the row as it was."""
    return {key: state.get(key) for key in ("exception_type", "severity", "status", "playbook_id", "current_step")}


class Act:
    def __init__(self, *, outbox: Outbox, effects: Effects, exceptions_table: Any, tool_calls_table: Any,
                 dedup_window_seconds: float) -> None:
        self.outbox = outbox
        self.effects = effects
        self.exceptions = exceptions_table
        self.tool_calls = tool_calls_table
        self.dedup_window_seconds = dedup_window_seconds

    async def handle(self, event: EventT) -> None:
        """One command; raises CommandRejected (or a decoding error) for the caller to dead-letter."""
        command = codec.loads(event.value)
        if not isinstance(command, dict):
            raise CommandRejected("a command must be a JSON object")
        tenant, exception_id = str(command.get("tenant_id") or ""), str(command.get("exception_id") or "")
        kind = command.get("command")
        message = event.message
        source = (message.topic, message.partition, message.offset)
        if kind == "sla_tick":
            await self._tick_sla(tenant, exception_id, source)
        elif kind == "forget":
            self._forget(tenant, command.get("exception_ids"))
        elif kind == "forget_tool_calls":
            self._forget_tool_calls(tenant, command.get("keys"))
        elif kind in RUN_INPUTS:
            await self._apply(RUN_INPUTS[kind], command, tenant, exception_id, source)
        else:
            raise CommandRejected(f"unknown command {kind!r}")

    async def _apply(self, apply: RunInput, command: Command, tenant: str, exception_id: str,
                     source: tuple[str, int, int]) -> None:
        key = state_key(tenant, exception_id)
        state = self.exceptions.get(key)
        if state and command.get("occurrence") not in (None, occurrence_key(state)):
            if command.get("command") == "tool_result" and command.get("tool_name"):
                await self._record_replaced_tool_result(command, tenant, exception_id, source)
                return
            raise CommandRejected(f"a {command.get('command')} of an earlier occurrence of exception {exception_id!r}, "
                                  "whose run a new occurrence (the id sent again after its dedup window) replaced")
        if not state or not state.get("run"):
            raise CommandRejected(f"no playbook run for exception {exception_id!r} of tenant {tenant!r}: none was "
                                  "started (no playbook applied, or it is not decided yet), or it ended and its "
                                  "state was forgotten after the dedup window")
        occurrence = occurrence_key(state)
        run = PlaybookRun.from_dict(state["run"])
        now = datetime.now(UTC)
        new, effects = apply(run, command, now)
        events, stages = records.run_events(new, effects, tenant_id=tenant, exception_id=exception_id,
                                            occurrence=occurrence, now=now)
        draft = Draft(tenant, exception_id, source, events=events, stages=stages, occurrence=occurrence)
        refused = await self.effects.carry_out(effects, draft, partition=source[1])
        if new is not run:
            await self.outbox.publish(draft, partition=source[1], snapshot=rows.exception_snapshot(new),
                                      now=now, approval_required=new.approval == "PENDING")
            self.exceptions[key] = with_run(dict(state), new)
        if refused:
            raise CommandRejected("; ".join(refused))

    async def _record_replaced_tool_result(self, command: Command, tenant: str, exception_id: str,
                                           source: tuple[str, int, int]) -> None:
        """A tool call of an occurrence a newer one replaced has finished: its run is gone and the
        current run stays as it is, but the call's row is finished (an event without a snapshot)."""
        replaced, execution_id = str(command["occurrence"]), str(command["idempotency_key"])
        now = datetime.now(UTC)
        event = records.replaced_tool_result(
            tenant_id=tenant, exception_id=exception_id, occurrence=replaced, step=command.get("step"),
            execution_id=execution_id, tool_name=str(command["tool_name"]), request=command.get("request"),
            succeeded=bool(command["succeeded"]), detail=dict(command.get("detail") or {}), now=now)
        await self.outbox.publish(Draft(tenant, exception_id, source, events=[event], occurrence=replaced),
                                  partition=source[1], snapshot=None, now=now)
        log.info("tool call %s of exception %s (tenant %s) finished for an occurrence a newer one replaced: "
                 "its row is finished, no run applies it", execution_id, exception_id, tenant)

    async def _tick_sla(self, tenant: str, exception_id: str, source: tuple[str, int, int]) -> None:
        """SLAImminent / SLAExpired when due, each once: the clock in the state says what was sent.

        Exceptions without a playbook have clocks too. A playbook run is told the phase the SLA
        reached: it may be replaced by a playbook for that phase, or escalate when expired.
        """
        key = state_key(tenant, exception_id)
        state = self.exceptions.get(key)
        clock = sla_clock(state)
        if clock is None:
            raise CommandRejected(f"no SLA clock for exception {exception_id!r} of tenant {tenant!r}: it has no "
                                  "SLA, or its state was forgotten after the dedup window")
        now = datetime.now(UTC)
        new_clock, effects = on_sla_tick(clock, status=Status(state["status"]), now=now)
        run = new_run = run_of(state)
        phase = emitted_phase(effects)
        if run is not None and phase is not None:
            new_run, run_effects = execution.on_sla(run, phase, now=now)
            effects = [*effects, *run_effects]
        occurrence = occurrence_key(state)
        events, stages = records.run_events(new_run, effects, tenant_id=tenant, exception_id=exception_id,
                                            occurrence=occurrence, now=now)
        draft = Draft(tenant, exception_id, source, events=events, stages=stages, occurrence=occurrence)
        await self.effects.carry_out(effects, draft, partition=source[1])
        changed = new_run is not run and new_run is not None
        await self.outbox.publish(draft, partition=source[1], now=now, state=_view(state),
                                  snapshot=rows.exception_snapshot(new_run) if changed else None,
                                  approval_required=bool(new_run and new_run.approval == "PENDING"))
        if new_clock != clock or changed:
            updated = with_sla_clock(dict(state), new_clock)
            self.exceptions[key] = with_run(updated, new_run) if changed else updated

    def _forget(self, tenant: str, exception_ids: Any) -> None:
        """Drop the states the timer found settled, if they still are (an id may have come back)."""
        if not isinstance(exception_ids, list):
            raise CommandRejected("forget needs a list of exception_ids")
        now_epoch = datetime.now(UTC).timestamp()
        for exception_id in exception_ids:
            key = state_key(tenant, str(exception_id))
            if settled(self.exceptions.get(key), now_epoch=now_epoch, window_seconds=self.dedup_window_seconds):
                del self.exceptions[key]
                EXCEPTION_STATES_FORGOTTEN.labels(tenant).inc()

    def _forget_tool_calls(self, tenant: str, keys: Any) -> None:
        """Drop the tenant's tool-call outcomes the timer found older than the dedup window."""
        if not isinstance(keys, list):
            raise CommandRejected("forget_tool_calls needs a list of keys")
        now_epoch = datetime.now(UTC).timestamp()
        for key in map(str, keys):
            entry = self.tool_calls.get(key)
            if (entry and entry.get("tenant_id") == tenant
                    and tool_calls.stale(entry, now_epoch=now_epoch, keep_seconds=self.dedup_window_seconds)):
                del self.tool_calls[key]
