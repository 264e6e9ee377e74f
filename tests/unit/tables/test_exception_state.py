from datetime import UTC, datetime, timedelta

import pytest

from sentinai.core.occurrence import Occurrence
from sentinai.core.sla import SlaClock
from sentinai.jobs.timers import TimerScan
from sentinai.tables.exception_state import (
    awaiting_llm,
    decided_from,
    decided_state,
    is_duplicate,
    next_moment,
    occurrence_for,
    settled,
    sla_clock,
    sla_tick_due,
    with_sla_clock,
)


def _state(source: tuple[str, int, int], first_seen: float = 1000.0) -> dict:
    return decided_state(source=source, now_epoch=first_seen, status="TRIAGED", severity="HIGH",
                         exception_type="X", playbook_id=None, version=3)


def test_a_new_exception_is_not_a_duplicate() -> None:
    assert not is_duplicate(None, ("in", 0, 1), now_epoch=1000, window_seconds=60)


def test_the_same_source_message_is_a_replay_not_a_duplicate() -> None:
    assert not is_duplicate(_state(("in", 0, 1)), ("in", 0, 1), now_epoch=1001, window_seconds=60)


def test_another_message_with_the_same_id_within_the_window_is_a_duplicate() -> None:
    assert is_duplicate(_state(("in", 0, 1)), ("in", 0, 7), now_epoch=1030, window_seconds=60)


def test_after_the_window_it_is_new_again() -> None:
    assert not is_duplicate(_state(("in", 0, 1)), ("in", 0, 7), now_epoch=1061, window_seconds=60)


NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
CLOCK = SlaClock(tenant_id="t", exception_id="E-1", imminent_at=NOW + timedelta(minutes=8),
                 deadline=NOW + timedelta(minutes=10))


def test_the_sla_clock_is_stored_small_and_read_back() -> None:
    state = decided_state(source=("in", 0, 1), now_epoch=1000.0, status="ESCALATED", severity="HIGH",
                          exception_type="X", playbook_id=None, version=3, sla=CLOCK)
    assert set(state["sla"]) == {"tenant_id", "exception_id", "imminent_at", "deadline"}  # defaults left out
    assert sla_clock(state) == CLOCK
    sent = CLOCK.model_copy(update={"imminent_sent": True})
    assert sla_clock(with_sla_clock(state, sent)) == sent
    assert sla_clock(_state(("in", 0, 1))) is None


@pytest.mark.parametrize(("status", "clock", "minutes", "expected"), [
    ("ESCALATED", CLOCK, 7, None),
    ("ESCALATED", CLOCK, 8, "imminent"),
    ("IN_PROGRESS", CLOCK.model_copy(update={"imminent_sent": True}), 9, None),
    ("IN_PROGRESS", CLOCK.model_copy(update={"imminent_sent": True}), 10, "expired"),
    ("IN_PROGRESS", CLOCK, 60, "expired"),
    ("IN_PROGRESS", CLOCK.model_copy(update={"imminent_sent": True, "expired_sent": True}), 60, None),
    ("RESOLVED", CLOCK, 60, None),
    ("CLOSED", CLOCK, 60, None),
    ("IN_PROGRESS", None, 60, None),
])
def test_which_sla_tick_is_due(status: str, clock: SlaClock | None, minutes: int, expected: str | None) -> None:
    state = decided_state(source=("in", 0, 1), now_epoch=1000.0, status=status, severity="HIGH",
                          exception_type="X", playbook_id=None, version=3, sla=clock)
    assert sla_tick_due(state, NOW + timedelta(minutes=minutes)) == expected


def _run(**changes: object) -> dict:
    return {"steps": [{}, {}], "next_step": 0, "halted": None, "approval": None, **changes}


@pytest.mark.parametrize(("name", "changes", "expected"), [
    ("no playbook, no clock", {}, True),
    ("playbook done", {"run": _run(next_step=2)}, True),
    ("playbook halted", {"run": _run(halted="approval rejected by olivia")}, True),
    ("playbook still going", {"run": _run(next_step=1)}, False),
    ("waiting for approval", {"run": _run(approval="PENDING")}, False),
    ("SLA still to expire", {"sla": {"imminent_sent": True}}, False),
    ("SLA still to expire but resolved", {"sla": {}, "status": "RESOLVED"}, True),
    ("SLA expired", {"sla": {"expired_sent": True}}, True),
])
def test_a_state_is_settled_when_nothing_waits_on_it_after_the_dedup_window(
        name: str, changes: dict, expected: bool) -> None:
    state = {**_state(("in", 0, 1)), **changes}
    assert settled(state, now_epoch=1060, window_seconds=60) is expected, name
    assert not settled(state, now_epoch=1059, window_seconds=60)  # a re-sent copy is still a duplicate
    assert not settled(None, now_epoch=1060, window_seconds=60)


def test_a_replay_is_recognised_by_the_source_and_a_decided_state() -> None:
    state = {**_state(("in", 0, 1)), "run": {"approval": "GRANTED"}, "status": "IN_PROGRESS", "version": 9}
    assert decided_from(state, ("in", 0, 1))  # the intake must keep this state, not reset it
    assert not decided_from(state, ("in", 0, 2))  # another message: the dedup rule applies
    assert not decided_from(None, ("in", 0, 1))
    assert not decided_from(awaiting_llm(source=("in", 0, 1), now_epoch=1000), ("in", 0, 1))  # not decided yet



def test_an_input_after_the_window_starts_a_new_occurrence_and_a_replay_keeps_its_own() -> None:
    first = occurrence_for(None, ("in", 0, 1), now_epoch=1000.0)
    assert first == Occurrence("in:0:1", 1000.0)
    state = decided_state(source=("in", 0, 1), now_epoch=first.first_seen, status="TRIAGED", severity="HIGH",
                          exception_type="X", playbook_id=None, version=3, occurrence=first.key)
    assert occurrence_for(state, ("in", 0, 1), now_epoch=5000.0) == first  # a replay: the same ids
    assert occurrence_for(state, ("in", 0, 7), now_epoch=5000.0) == Occurrence("in:0:7", 5000.0)  # sent again
    waiting = awaiting_llm(source=("in", 0, 7), now_epoch=5000.0, occurrence="in:0:7")
    assert occurrence_for(waiting, ("in", 0, 7), now_epoch=5100.0) == Occurrence("in:0:7", 5000.0)  # the model's answer


def test_a_state_of_the_release_before_occurrences_keeps_its_ids() -> None:
    earlier = {"source": ["in", 0, 1], "first_seen": 1000.0, "status": "TRIAGED", "severity": "HIGH", "version": 3}
    assert occurrence_for(earlier, ("in", 0, 1), now_epoch=1001.0).key == ""
    waiting = {"source": ["in", 0, 1], "first_seen": 1000.0, "status": "OPEN", "version": 0}
    assert occurrence_for(waiting, ("in", 0, 1), now_epoch=1001.0) == Occurrence("in:0:1", 1000.0)


def _moments_state(run: dict | None, clock: dict | None, status: str) -> dict:
    state = {**_state(("in", 4, 1), first_seen=NOW.timestamp()), "status": status}
    return {**state, **({"run": run} if run else {}), **({"sla": clock} if clock else {})}


_RUNS = {"none": None,
         "approval pending": {"steps": [{}], "next_step": 0, "halted": None, "approval": "PENDING",
                              "approval_expires_at": (NOW + timedelta(minutes=10)).isoformat()},
         "waiting for a person": {"steps": [{}], "next_step": 0, "halted": None, "approval": None},
         "halted": {"steps": [{}], "next_step": 0, "halted": "rejected", "approval": "REJECTED"}}
_CLOCK = {"tenant_id": "t", "exception_id": "E-1", "imminent_at": (NOW + timedelta(minutes=8)).isoformat(),
          "deadline": (NOW + timedelta(minutes=20)).isoformat()}
_CLOCKS = {"none": None, "fresh": _CLOCK, "imminent sent": {**_CLOCK, "imminent_sent": True},
           "expired sent": {**_CLOCK, "imminent_sent": True, "expired_sent": True}}


@pytest.mark.parametrize("run", _RUNS)
@pytest.mark.parametrize("clock", _CLOCKS)
@pytest.mark.parametrize("status", ["TRIAGED", "RESOLVED"])
def test_the_next_moment_is_the_first_time_the_timer_owes_the_state_something(run: str, clock: str, status: str) -> None:
    """The timer only looks at a state once its moment has come: the moment must not be later than
    the first time a rule answers (or a command would be missed), nor earlier (or it costs a look)."""
    window = 30 * 60.0
    state = _moments_state(_RUNS[run], _CLOCKS[clock], status)
    moment = next_moment(state, window_seconds=window)
    marks = [NOW + timedelta(minutes=m) for m in (8, 10, 20, 30)]
    grid = sorted({NOW + timedelta(minutes=m) for m in range(-1, 90)}
                  | {m + timedelta(microseconds=d) for m in marks for d in (-1, 0, 1)})

    def owed(at: datetime) -> bool:
        return bool(TimerScan(dedup_window_seconds=window).due({"t/E-1": state}, at))

    first = next((at for at in grid if owed(at)), None)
    assert (first.timestamp() if first else None) == moment
