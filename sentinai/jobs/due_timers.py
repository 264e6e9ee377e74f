"""The worker's timer job: every few seconds, the commands due on this worker's partitions, sent.

The ``exception-state`` and ``tool-calls`` tables are indexed by when each entry next falls due
(:class:`sentinai.jobs.due_index.DueIndex`), so a round asks :class:`TimerScan` only about the
entries whose moment has come, not about every entry held. The indexes follow the tables:

- every write and delete of this worker reaches them through a faust sensor (faust calls its
  sensors on each table write, whichever agent writes);
- after each rebalance, once faust has recovered the tables from their changelogs, they are
  rebuilt from the tables' contents: a worker taking partitions over finds their due timers, and
  what standby copies received from the changelog meanwhile (which no sensor sees) is read again.

Standby copies of other workers' partitions are in the tables too; their timers are those
workers' business (a command from here would be applied there a second time), so only the
partitions this worker is active for are sent for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from datetime import UTC, datetime
from functools import partial
from typing import Any

from faust.sensors import Sensor
from faust.types import AppT, CollectionT, TableT

from sentinai.jobs.due_index import DueIndex
from sentinai.jobs.rounds import every
from sentinai.jobs.timers import TimerCommand, TimerScan
from sentinai.metrics import EXCEPTION_STATES
from sentinai.streams import codec
from sentinai.streams.direct_topic import DirectTopic
from sentinai.tables import exception_state, tool_calls

ROUND_SECONDS = 5.0


class DueTimers:
    """The two tables' due indexes and the scan's memory of what is in flight."""

    def __init__(self, *, states: Mapping[str, Any], calls: Mapping[str, Any], dedup_window_seconds: float) -> None:
        self.states = states
        self.calls = calls
        self.scan = TimerScan(dedup_window_seconds=dedup_window_seconds)
        self.state_index = DueIndex(moment=partial(exception_state.next_moment, window_seconds=dedup_window_seconds),
                                    partition=exception_state.partition)
        self.call_index = DueIndex(moment=partial(tool_calls.stale_at, keep_seconds=dedup_window_seconds),
                                   partition=tool_calls.partition)
        self.recovered = False

    def touched(self, table: object, key: Any) -> None:
        """``key`` of ``table`` was written or removed (on the agents' path: noted only, settled each round)."""
        index = self._index(table)
        if index is not None:
            index.touch(key)

    def rebuild(self, table: Mapping[str, Any]) -> None:
        """The table's index from its contents as they stand (after its recovery)."""
        index = self._index(table)
        if index is not None:
            index.rebuild(list(table.items()))
            self.recovered = True

    def held(self, owned: Set[int]) -> int:
        """Exception states held for these partitions."""
        self.state_index.settle(self.states)
        return self.state_index.held(owned)

    def commands(self, now: datetime, owned: Set[int]) -> list[TimerCommand]:
        """What is owed at ``now`` on the ``owned`` partitions, each command once while in flight."""
        now_epoch = now.timestamp()
        self.state_index.settle(self.states)
        self.call_index.settle(self.calls)
        states = _come(self.state_index, self.states, now_epoch, owned, exception_state.partition)
        calls = _come(self.call_index, self.calls, now_epoch, owned, tool_calls.partition)
        return self.scan.due(states, now, calls)

    def _index(self, table: object) -> DueIndex | None:
        if table is self.states:
            return self.state_index
        return self.call_index if table is self.calls else None


def _come(index: DueIndex, table: Mapping[str, Any], now_epoch: float, owned: Set[int],
          partition: Callable[[Any], int | None]) -> dict[str, Any]:
    """The entries whose moment has come, on owned partitions; the others leave the index (gone, or
    another worker's: the recovery that brings their partition here puts them back)."""
    come = {}
    for key in index.due(now_epoch):
        value = table.get(key)
        if partition(value) in owned:
            come[key] = value
        else:
            index.drop(key)
    return come


class _TableWrites(Sensor):
    """faust calls this on every table write and delete of this worker."""

    def __init__(self, timers: DueTimers) -> None:
        super().__init__()
        self.timers = timers

    def on_table_set(self, table: CollectionT, key: Any, value: Any) -> None:
        self.timers.touched(table, key)

    def on_table_del(self, table: CollectionT, key: Any) -> None:
        self.timers.touched(table, key)


async def _rebuild(due: DueTimers, table: TableT) -> None:
    due.rebuild(table)


def send_due_timers(app: AppT, *, states: TableT, calls: TableT, timers: DirectTopic,
                    dedup_window_seconds: float) -> DueTimers:
    """Approvals to expire, SLA ticks, states and tool calls to forget: sent on ``timers`` every round."""
    due = DueTimers(states=states, calls=calls, dedup_window_seconds=dedup_window_seconds)
    app.sensors.add(_TableWrites(due))

    for table in (states, calls):  # faust calls a table's callbacks each time its recovery is complete
        table.on_recover(partial(_rebuild, due, table))

    async def one_round() -> None:
        owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == timers.get_topic_name()}
        EXCEPTION_STATES.set(due.held(owned))
        for command in due.commands(datetime.now(UTC), owned):
            await timers.send(key=command.tenant_id.encode(), value=codec.dumps(command.command),
                              partition=command.partition)

    every(app, ROUND_SECONDS, "due timer", one_round, ready=lambda: due.recovered)
    return due
