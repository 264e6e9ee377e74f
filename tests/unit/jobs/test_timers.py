"""One scan of the exception states says what the timer owes the act agent, each command once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sentinai.jobs.timers import FORGET_BATCH, TimerScan
from sentinai.tables.exception_state import decided_state
from sentinai.tables.tool_calls import record

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
WINDOW = 3600.0


def state(partition: int = 0, *, age: float = 0.0, **changes: object) -> dict:
    base = decided_state(source=("t.exceptions", partition, 1), now_epoch=NOW.timestamp() - age, status="TRIAGED",
                         severity="HIGH", exception_type="X", playbook_id=None, version=3)
    return {**base, **changes}


def pending_approval(expires: datetime) -> dict:
    return {"steps": [{}], "next_step": 0, "halted": None, "approval": "PENDING",
            "approval_expires_at": expires.isoformat()}


def sla(imminent: datetime, deadline: datetime) -> dict:
    return {"tenant_id": "acme", "exception_id": "x", "imminent_at": imminent.isoformat(),
            "deadline": deadline.isoformat()}


def commands(scan: TimerScan, states: dict, now: datetime = NOW) -> list[tuple[int, str, dict]]:
    return [(c.partition, c.tenant_id, c.command) for c in scan.due(states, now)]


def test_each_due_command_goes_once_to_the_exception_partition() -> None:
    scan = TimerScan(dedup_window_seconds=WINDOW)
    states = {
        "acme/A-1": state(2, run=pending_approval(NOW - timedelta(seconds=1))),
        "acme/A-2": state(3, run=pending_approval(NOW + timedelta(minutes=5))),
        "acme/S-1": state(1, sla=sla(NOW - timedelta(seconds=1), NOW + timedelta(minutes=1))),
    }
    assert commands(scan, states) == [
        (2, "acme", {"command": "expire_approval", "tenant_id": "acme", "exception_id": "A-1"}),
        (1, "acme", {"command": "sla_tick", "tenant_id": "acme", "exception_id": "S-1"}),
    ]
    assert commands(scan, states) == []  # in flight: not sent again
    later = NOW + timedelta(minutes=6)  # A-2 expired, and S-1 reached its deadline: its next moment
    assert [c[2]["exception_id"] for c in commands(scan, states, later)] == ["A-2", "S-1"]


def test_a_command_is_sent_again_after_its_partition_came_back() -> None:
    scan = TimerScan(dedup_window_seconds=WINDOW)
    states = {"acme/A-1": state(run=pending_approval(NOW))}
    assert len(commands(scan, states)) == 1
    assert commands(scan, {}) == []  # the partition moved to another worker
    assert len(commands(scan, states)) == 1  # and came back, still unanswered


def test_settled_states_past_the_window_are_forgotten_in_batches_per_partition_and_tenant() -> None:
    scan = TimerScan(dedup_window_seconds=WINDOW)
    old = {f"acme/E-{i}": state(0, age=WINDOW) for i in range(FORGET_BATCH + 1)}
    old["globex/G-1"] = state(0, age=WINDOW)
    young = {"acme/Y-1": state(0, age=WINDOW - 1)}
    waiting = {"acme/W-1": state(0, age=WINDOW, run=pending_approval(NOW + timedelta(days=1)))}
    sent = commands(scan, {**old, **young, **waiting})
    assert [(p, t, len(c["exception_ids"])) for p, t, c in sent] == [
        (0, "acme", FORGET_BATCH), (0, "acme", 1), (0, "globex", 1)]
    assert {i for _, _, c in sent for i in c["exception_ids"]} == {k.split("/")[1] for k in old}
    assert commands(scan, {**old, **young, **waiting}) == []


def test_tool_call_outcomes_older_than_the_window_are_dropped_once_per_partition_and_tenant() -> None:
    scan = TimerScan(dedup_window_seconds=WINDOW)
    at = NOW.timestamp()
    calls = {"k-old-1": record({}, tenant_id="acme", partition=1, now_epoch=at - WINDOW),
             "k-old-2": record({}, tenant_id="acme", partition=1, now_epoch=at - WINDOW - 5),
             "k-old-3": record({}, tenant_id="globex", partition=2, now_epoch=at - WINDOW),
             "k-new": record({}, tenant_id="acme", partition=1, now_epoch=at - 5),
             "k-legacy": {"status": "succeeded"}}
    sent = [(c.partition, c.tenant_id, c.command) for c in scan.due({}, NOW, calls)]
    assert sent == [
        (1, "acme", {"command": "forget_tool_calls", "tenant_id": "acme", "keys": ["k-old-1", "k-old-2"]}),
        (2, "globex", {"command": "forget_tool_calls", "tenant_id": "globex", "keys": ["k-old-3"]})]
    assert scan.due({}, NOW, calls) == []  # in flight
