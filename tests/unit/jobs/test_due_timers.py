"""The timer job follows the tables through faust: what a worker writes, and what it recovers.

A real faust app and its in-memory tables, not started: a write goes through faust's table (with
the event being handled made current, as in an agent), a recovery through faust's changelog batch
and recovery-completed path. Only the broker is missing: the changelog records stay in the
producer's buffer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from faust.events import Event
from faust.types import TP
from faust.types.tuples import Message

from sentinai.framework.current_event import set_current_event
from sentinai.jobs.due_timers import DueTimers, send_due_timers
from sentinai.streams.direct_topic import DirectTopic
from sentinai.tables.exception_state import decided_state, state_key
from sentinai.tables.tool_calls import record

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
WINDOW = 3600.0
PARTITIONS = 4


class Worker:
    """One worker's app and tables, with the timer job wired as in ``sentinai.app``."""

    def __init__(self) -> None:
        self.app = faust.App(f"test-due-{uuid.uuid4().hex[:8]}", broker="kafka://127.0.0.1:1", store="memory://",
                             autodiscover=False, web_enabled=False)
        self.states = self.app.Table("exception-state", default=None, partitions=PARTITIONS)
        self.calls = self.app.Table("tool-calls", default=None, partitions=PARTITIONS)
        self.timers: DueTimers = send_due_timers(self.app, states=self.states, calls=self.calls,
                                                 timers=DirectTopic(self.app, "t.timers"),
                                                 dedup_window_seconds=WINDOW)
        self.stream = self.app.stream(self.app.topic("t.timers"))
        self.offset = 0

    def handling(self, partition: int) -> None:
        """Table writes from now on are those of an input on this partition, as in an agent."""
        self.offset += 1
        message = Message("t.timers", partition, self.offset, 0.0, 0, {}, b"acme", b"{}", None)
        self.event = Event(self.app, b"acme", b"{}", {}, message)  # faust holds the current event weakly
        set_current_event(self.event)

    async def recover(self, table: Any, active: set[int], changelog: dict[str, tuple[int, Any]]) -> None:
        """faust's recovery of ``table``: its changelog records applied, then recovery completed."""
        topic = table.changelog_topic_name
        batch = [Event(self.app, key, value, {}, Message(topic, partition, i, 0.0, 0, {}, key.encode(), b"{}", None))
                 for i, (key, (partition, value)) in enumerate(changelog.items())]
        table.apply_changelog_batch(batch)
        await table.on_recovery_completed({TP(topic, p) for p in active}, set())

    def commands(self, at: datetime, owned: set[int]) -> list[tuple[str, Any]]:
        """(command, what it is about) for each command owed at ``at``."""
        about = ("exception_id", "exception_ids", "keys")
        return [(c.command["command"], next(c.command[f] for f in about if f in c.command))
                for c in self.timers.commands(at, owned)]


def approval(partition: int, expires: datetime) -> dict:
    state = decided_state(source=("t.exceptions", partition, 1), now_epoch=NOW.timestamp(), status="PENDING_APPROVAL",
                          severity="HIGH", exception_type="X", playbook_id="p", version=2)
    return {**state, "run": {"steps": [{}], "next_step": 0, "halted": None, "approval": "PENDING",
                             "approval_expires_at": expires.isoformat()}}


def sla(partition: int, imminent: datetime) -> dict:
    state = decided_state(source=("t.exceptions", partition, 1), now_epoch=NOW.timestamp(), status="TRIAGED",
                          severity="HIGH", exception_type="X", playbook_id=None, version=2)
    return {**state, "sla": {"tenant_id": "acme", "exception_id": "x", "imminent_at": imminent.isoformat(),
                             "deadline": (imminent + timedelta(minutes=5)).isoformat()}}


async def test_a_state_written_after_the_index_was_built_fires_when_due() -> None:
    worker = Worker()
    await worker.recover(worker.states, {0}, {})
    worker.handling(0)
    worker.states[state_key("acme", "A-1")] = approval(0, NOW + timedelta(minutes=10))
    assert worker.commands(NOW + timedelta(minutes=9), {0}) == []
    assert worker.commands(NOW + timedelta(minutes=10), {0}) == [("expire_approval", "A-1")]
    assert worker.commands(NOW + timedelta(minutes=11), {0}) == []  # in flight
    worker.states[state_key("acme", "A-1")] = {**approval(0, NOW), "run": None}  # the act agent expired it
    assert worker.commands(NOW + timedelta(minutes=12), {0}) == []
    assert worker.timers.held({0}) == 1


async def test_a_partition_taken_over_fires_the_timers_recovered_from_its_changelog() -> None:
    worker = Worker()
    await worker.recover(worker.states, {0}, {})
    assert worker.commands(NOW + timedelta(hours=1), {0}) == []
    # a rebalance gives this worker partition 2, whose states another worker wrote
    await worker.recover(worker.states, {0, 2}, {state_key("acme", "S-1"): (2, sla(2, NOW + timedelta(minutes=1))),
                                                 state_key("acme", "A-2"): (2, approval(2, NOW + timedelta(days=1)))})
    assert worker.commands(NOW, {0, 2}) == []
    assert worker.commands(NOW + timedelta(minutes=1), {0, 2}) == [("sla_tick", "S-1")]
    assert worker.timers.held({0, 2}) == 2


async def test_the_partitions_of_other_workers_do_not_fire() -> None:
    worker = Worker()
    await worker.recover(worker.states, {0, 1}, {})
    worker.handling(1)
    worker.states[state_key("acme", "A-1")] = approval(1, NOW)
    worker.states[state_key("acme", "A-9")] = approval(1, NOW + timedelta(days=2))
    # partition 1 went to another worker; the copy of its states left here is not this worker's business
    assert worker.commands(NOW, {0}) == []
    assert worker.timers.held({0}) == 0
    # it comes back: the recovery that brings it finds its timers again
    await worker.recover(worker.states, {0, 1}, {})
    assert worker.commands(NOW, {0, 1}) == [("expire_approval", "A-1")]


async def test_a_forgotten_state_and_stale_tool_calls_leave_the_index() -> None:
    worker = Worker()
    await worker.recover(worker.states, {3}, {})
    await worker.recover(worker.calls, {3}, {"k-old": (3, record({}, tenant_id="acme", partition=3,
                                                                  now_epoch=NOW.timestamp()))})
    worker.handling(3)
    key = state_key("acme", "R-1")
    worker.states[key] = decided_state(source=("t.exceptions", 3, 1), now_epoch=NOW.timestamp(), status="RESOLVED",
                                       severity="LOW", exception_type="X", playbook_id=None, version=4)
    worker.calls["k-new"] = record({}, tenant_id="acme", partition=3, now_epoch=NOW.timestamp() + 60)
    after_window = NOW + timedelta(seconds=WINDOW)
    assert worker.commands(after_window, {3}) == [("forget", ["R-1"]), ("forget_tool_calls", ["k-old"])]
    del worker.states[key]  # the act agent forgot it
    assert worker.commands(after_window + timedelta(minutes=1), {3}) == [("forget_tool_calls", ["k-new"])]
    assert worker.timers.held({3}) == 0
