"""The worker's timer: one scan of the exception states every few seconds, and the commands it owes.

A faust timer cannot write tables (a table write needs a current event), so what is due becomes a
command on ``<prefix>.timers``, on the exception's own partition, for the act agent to apply:
``expire_approval`` when an approval is past its deadline, ``sla_tick`` when an SLA clock reaches
its imminent or expired moment, and ``forget`` for states that nothing waits on any more and whose
dedup window has passed, so the table does not grow for ever. A command is sent once while it is
in flight: the act agent's change to the state is what makes it due no more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sentinai.tables import exception_state
from sentinai.tables.exception_state import ExceptionState

FORGET_BATCH = 500
"""Exception ids per ``forget`` command."""


@dataclass(frozen=True, slots=True)
class TimerCommand:
    partition: int
    tenant_id: str
    command: dict[str, Any]


class TimerScan:
    """Remembers what is in flight between scans; `due` is called with the states this worker owns."""

    def __init__(self, *, dedup_window_seconds: float) -> None:
        self.dedup_window_seconds = dedup_window_seconds
        self._expiring: set[str] = set()
        self._ticking: dict[str, str] = {}
        self._forgetting: set[str] = set()

    def due(self, states: Mapping[str, ExceptionState], now: datetime) -> list[TimerCommand]:
        for key in self._ticking.keys() - states.keys():  # gone, or its partition moved to another worker
            del self._ticking[key]
        self._expiring.intersection_update(states)
        self._forgetting.intersection_update(states)
        now_epoch = now.timestamp()
        commands: list[TimerCommand] = []
        forget: dict[tuple[int, str], list[str]] = defaultdict(list)
        for key, state in states.items():
            tenant_id, exception_id = key.split("/", 1)  # tenant ids hold no "/"
            partition = state["source"][1]
            about = {"tenant_id": tenant_id, "exception_id": exception_id}
            if self._approval_due(key, state, now_epoch):
                commands.append(TimerCommand(partition, tenant_id, {"command": "expire_approval", **about}))
            moment = exception_state.sla_tick_due(state, now)
            if moment is None:
                self._ticking.pop(key, None)
            elif self._ticking.get(key) != moment:
                self._ticking[key] = moment
                commands.append(TimerCommand(partition, tenant_id, {"command": "sla_tick", **about}))
            if not exception_state.settled(state, now_epoch=now_epoch, window_seconds=self.dedup_window_seconds):
                self._forgetting.discard(key)
            elif key not in self._forgetting:
                self._forgetting.add(key)
                forget[(partition, tenant_id)].append(exception_id)
        for (partition, tenant_id), ids in forget.items():
            for start in range(0, len(ids), FORGET_BATCH):
                commands.append(TimerCommand(partition, tenant_id, {
                    "command": "forget", "tenant_id": tenant_id, "exception_ids": ids[start:start + FORGET_BATCH]}))
        return commands

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
