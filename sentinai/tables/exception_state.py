"""Per-exception state, keyed ``tenant/exception_id``; it is also the dedup record.

An entry remembers the source message that first decided the exception. The same exception id
arriving again from another message within the dedup window is a duplicate; the same source
message arriving again (a replay after a crash) is our own work being redone, and is re-published
with the same deterministic ids instead of being skipped, so nothing that was lost is lost twice;
the stored state is kept as it is then, as it may have moved on since the decision (``decided_from``).
The same exception id arriving after the window starts a new occurrence of it
(:class:`sentinai.core.occurrence.Occurrence`, ``occurrence_for``), which replaces the state.

It also holds what the timers need: the playbook run (approval deadline) and the SLA clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sentinai.core.models import Status
from sentinai.core.occurrence import Occurrence
from sentinai.core.run import PlaybookRun, SlaPhase
from sentinai.core.sla import SlaClock, due

ExceptionState = dict[str, Any]

_DONE = frozenset({Status.RESOLVED.value, Status.CLOSED.value})


def state_key(tenant_id: str, exception_id: str) -> str:
    return f"{tenant_id}/{exception_id}"


def started_by(state: ExceptionState | None, source: tuple[str, int, int]) -> bool:
    """The state was started by the input from ``source`` (handling that input again is a replay)."""
    return state is not None and list(state["source"]) == list(source)


def is_duplicate(state: ExceptionState | None, source: tuple[str, int, int], *, now_epoch: float,
                 window_seconds: float) -> bool:
    if state is None:
        return False
    if started_by(state, source):
        return False
    return now_epoch - state["first_seen"] < window_seconds


def occurrence_for(state: ExceptionState | None, source: tuple[str, int, int], *, now_epoch: float) -> Occurrence:
    """The occurrence of the exception id that an input from ``source`` (not a duplicate) belongs to.

    The state's own when the state was started by this very input (a replay, or the decision of an
    input that waited for the LLM stage); otherwise the input starts a new one, first seen now.
    A state decided by a release before occurrences existed keeps the occurrence ``""``.
    """
    if state is not None and started_by(state, source):
        if "occurrence" in state:
            return Occurrence(state["occurrence"], state["first_seen"])
        if "severity" in state:
            return Occurrence("", state["first_seen"])
        return Occurrence.started_by(source, first_seen=state["first_seen"])
    return Occurrence.started_by(source, first_seen=now_epoch)


def occurrence_key(state: ExceptionState) -> str:
    """The key of the state's occurrence, from which the ids of what its inputs produce derive."""
    return state.get("occurrence", "")


def decided_from(state: ExceptionState | None, source: tuple[str, int, int]) -> bool:
    """The state was decided from this very message: handling it again is a replay.

    The state may have moved on since (an approval, completed steps, a tool result): a replay
    re-publishes the decision under its deterministic ids but must not put the state back to
    where the decision left it. A state only waiting for the LLM stage is not decided yet.
    """
    return state is not None and started_by(state, source) and "severity" in state


def decided_state(*, source: tuple[str, int, int], now_epoch: float, status: str, severity: str,
                  exception_type: str, playbook_id: str | None, version: int,
                  sla: SlaClock | None = None, occurrence: str = "") -> ExceptionState:
    """The state of an exception just decided, first seen at ``now_epoch``; ``occurrence`` is the
    key of the exception id's occurrence (:func:`occurrence_for`)."""
    state = {"source": list(source), "first_seen": now_epoch, "occurrence": occurrence, "status": status,
             "severity": severity, "exception_type": exception_type, "playbook_id": playbook_id,
             "current_step": None, "version": version}
    return state if sla is None else with_sla_clock(state, sla)


def with_sla_clock(state: ExceptionState, clock: SlaClock) -> ExceptionState:
    """The state with this SLA clock; fields at their defaults are left out, to keep it small."""
    return {**state, "sla": clock.model_dump(mode="json", exclude_defaults=True)}


def with_run(state: ExceptionState, run: PlaybookRun) -> ExceptionState:
    """The state with this playbook run; the status, playbook and version are the run's."""
    return {**state, "run": run.to_dict(), "status": run.status.value,
            "playbook_id": run.playbook_id, "version": run.version}


def run_of(state: ExceptionState) -> PlaybookRun | None:
    """The state's playbook run, if it has one."""
    run = state.get("run")
    return PlaybookRun.from_dict(run) if run else None


def sla_clock(state: ExceptionState | None) -> SlaClock | None:
    clock = (state or {}).get("sla")
    return SlaClock.model_validate(clock) if clock else None


def sla_tick_due(state: ExceptionState | None, now: datetime) -> SlaPhase | None:
    """The SLA tick due for this exception at `now`, if any.

    The timer asks this of every state every few seconds, so the common answers (no clock, a
    clock that is done, an exception that is done, a clock not imminent yet) come without
    parsing the clock.
    """
    if not state or not state.get("sla"):
        return None
    clock = state["sla"]
    if clock.get("expired_sent") or state["status"] in _DONE or now < datetime.fromisoformat(clock["imminent_at"]):
        return None
    return due(SlaClock.model_validate(clock), status=Status(state["status"]), now=now)


def awaiting_llm(*, source: tuple[str, int, int], now_epoch: float, occurrence: str = "") -> ExceptionState:
    """Seen and sent to the LLM stage: a re-sent copy is a duplicate while the model thinks."""
    return {"source": list(source), "first_seen": now_epoch, "occurrence": occurrence, "status": "OPEN",
            "version": 0}


def settled(state: ExceptionState | None, *, now_epoch: float, window_seconds: float) -> bool:
    """Nothing waits on this exception any more and its dedup window has passed: the state may go.

    Waiting means a playbook run still going (an approval, a person, a tool), or an SLA clock with
    SLAExpired still to come on an exception that is not done. A copy re-sent after the window is
    a new exception anyway (`is_duplicate`), so forgetting the state changes no decision.
    """
    if not state or now_epoch - state.get("first_seen", now_epoch) < window_seconds:
        return False
    run = state.get("run")
    if run and run.get("halted") is None and run.get("next_step", 0) < len(run.get("steps", ())):
        return False
    clock = state.get("sla")
    return not (clock and not clock.get("expired_sent") and state.get("status") not in _DONE)


def partition(state: ExceptionState | None) -> int | None:
    """The partition the exception belongs to (that of its source message); None for no state."""
    return state["source"][1] if state and state.get("source") else None


def next_moment(state: ExceptionState | None, *, window_seconds: float) -> float | None:
    """When (epoch seconds) the timer first owes this state something, if the state stays as it is.

    The earliest of the pending approval's expiry, the SLA clock's next tick (`sla_tick_due`: the
    imminent moment, then the deadline) and the end of the dedup window of a state that nothing
    waits on (`settled`). None: nothing falls due before the state changes. Never later than the
    moment those rules first answer, so a timer that looks at a state only once this moment has come
    sends what a look at every state would.
    """
    if not state:
        return None
    run = state.get("run")
    approval = (datetime.fromisoformat(run["approval_expires_at"]).timestamp()
                if run and run.get("approval") == "PENDING" and run.get("approval_expires_at") else None)
    clock = state.get("sla")
    if clock and not clock.get("expired_sent") and state.get("status") not in _DONE:
        tick = datetime.fromisoformat(clock["deadline" if clock.get("imminent_sent") else "imminent_at"]).timestamp()
        return _earlier(approval, tick)
    if run and run.get("halted") is None and run.get("next_step", 0) < len(run.get("steps", ())):
        return approval
    return _earlier(approval, state["first_seen"] + window_seconds) if "first_seen" in state else approval


def _earlier(moment: float | None, other: float) -> float:
    return other if moment is None or other < moment else moment

