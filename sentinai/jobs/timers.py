"""The timer's rules: what a round owes the act agent for the exception states it looks at.

The round (``sentinai.jobs.due_timers``) looks every few seconds at the states whose next moment
has come, on this worker's partitions, and sends what :class:`TimerScan` says they owe.

A faust timer cannot write tables (a table write needs a current event), so what is due becomes a
command on ``<prefix>.timers``, on the exception's own partition, for the act agent to apply:
``expire_approval`` when an approval is past its deadline, ``sla_tick`` when an SLA clock reaches
its imminent or expired moment, ``forget`` for states that nothing waits on any more and whose
dedup window has passed, so the table does not grow for ever, and ``forget_tool_calls`` for
``tool-calls`` entries older than that window. A command is sent once while it is in flight: the
act agent's change to the table is what makes it due no more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sentinai.tables import exception_state, tool_calls
from sentinai.tables.exception_state import ExceptionState
from sentinai.tables.tool_calls import ToolCall

FORGET_BATCH = 500
"""Exception ids (or tool-call keys) per ``forget`` (``forget_tool_calls``) command."""


@dataclass(frozen=True, slots=True)
class TimerCommand:
    partition: int
    tenant_id: str
    command: dict[str, Any]


class TimerScan:
    """Remembers what is in flight between scans; `due` is called with the states this worker owns
    that may owe something (an in-flight key left out has changed since, or gone: it is forgotten)."""

    def __init__(self, *, dedup_window_seconds: float) -> None:
        self.dedup_window_seconds = dedup_window_seconds
        self._expiring: set[str] = set()
        self._ticking: dict[str, str] = {}
        self._forgetting: set[str] = set()
        self._dropping: set[str] = set()

    def due(self, states: Mapping[str, ExceptionState], now: datetime,
            calls: Mapping[str, ToolCall] | None = None) -> list[TimerCommand]:
        """What is owed for these states and ``tool-calls`` entries (this worker's partitions only)."""
        for key in self._ticking.keys() - states.keys():  # changed, gone, or its partition moved away
            del self._ticking[key]
        self._expiring.intersection_update(states)
        self._forgetting.intersection_update(states)
        now_epoch = now.timestamp()
        commands: list[TimerCommand] = []
        forget: dict[tuple[int, str], list[str]] = defaultdict(list)
        for key, state in states.items():
            if self._approval_due(key, state, now_epoch):
                commands.append(_command("expire_approval", key, state))
            moment = exception_state.sla_tick_due(state, now)
            if moment is None:
                self._ticking.pop(key, None)
            elif self._ticking.get(key) != moment:
                self._ticking[key] = moment
                commands.append(_command("sla_tick", key, state))
            if not exception_state.settled(state, now_epoch=now_epoch, window_seconds=self.dedup_window_seconds):
                self._forgetting.discard(key)
            elif key not in self._forgetting:
                self._forgetting.add(key)
                tenant_id, exception_id = key.split("/", 1)
                forget[(state["source"][1], tenant_id)].append(exception_id)
        commands += _batched(forget, "forget", "exception_ids")
        commands += _batched(self._stale_calls(calls or {}, now_epoch), "forget_tool_calls", "keys")
        return commands

    def _stale_calls(self, calls: Mapping[str, ToolCall], now_epoch: float) -> dict[tuple[int, str], list[str]]:
        self._dropping.intersection_update(calls)
        stale: dict[tuple[int, str], list[str]] = defaultdict(list)
        for key, entry in calls.items():
            if key in self._dropping or not tool_calls.stale(entry, now_epoch=now_epoch,
                                                              keep_seconds=self.dedup_window_seconds):
                continue
            self._dropping.add(key)
            stale[(entry["partition"], entry["tenant_id"])].append(key)
        return stale

    def _approval_due(self, key: str, state: ExceptionState, now_epoch: float) -> bool:
        run = state.get("run")
        if not run or run.get("approval") != "PENDING":
            self._expiring.discard(key)  # answered or expired: nothing left to send for it
            return False
        expires = run.get("approval_expires_at")
        if key in self._expiring or not expires or datetime.fromisoformat(expires).timestamp() > now_epoch:
            return False
        self._expiring.add(key)
        return True


def _batched(groups: Mapping[tuple[int, str], list[str]], name: str, field: str) -> list[TimerCommand]:
    return [TimerCommand(partition, tenant_id, {"command": name, "tenant_id": tenant_id,
                                                field: ids[start:start + FORGET_BATCH]})
            for (partition, tenant_id), ids in groups.items() for start in range(0, len(ids), FORGET_BATCH)]


def _command(name: str, key: str, state: ExceptionState) -> TimerCommand:
    """A command about one exception, on its partition (the key is ``tenant/exception``; tenant ids hold no "/")."""
    tenant_id, exception_id = key.split("/", 1)
    return TimerCommand(state["source"][1], tenant_id,
                        {"command": name, "tenant_id": tenant_id, "exception_id": exception_id})
