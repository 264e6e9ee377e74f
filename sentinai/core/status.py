"""The exception status state machine (documented in docs/status.md)."""

from __future__ import annotations

from collections.abc import Mapping

from sentinai.core.models import Status

S = Status

TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    S.OPEN: frozenset({S.TRIAGED, S.ESCALATED, S.CLOSED}),
    S.TRIAGED: frozenset({S.PENDING_APPROVAL, S.IN_PROGRESS, S.ESCALATED, S.RESOLVED, S.CLOSED}),
    S.PENDING_APPROVAL: frozenset({S.IN_PROGRESS, S.REJECTED, S.ESCALATED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.PENDING_APPROVAL, S.ESCALATED, S.RESOLVED, S.CLOSED}),
    S.ESCALATED: frozenset({S.PENDING_APPROVAL, S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
    S.REJECTED: frozenset({S.ESCALATED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}


class IllegalTransition(Exception):
    def __init__(self, current: Status, target: Status) -> None:
        self.current = current
        self.target = target
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (terminal)"
        super().__init__(f"cannot move from {current} to {target}; allowed: {allowed}")


def can_transition(current: Status, target: Status) -> bool:
    return current == target or target in TRANSITIONS[current]


def transition(current: Status, target: Status) -> Status:
    """Return `target` if the move is legal, else raise `IllegalTransition`.

    Moving to the current status is a no-op, so a replayed event is harmless.
    """
    if not can_transition(current, target):
        raise IllegalTransition(current, target)
    return target
