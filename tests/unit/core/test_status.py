import pytest

from sentinai.core.models import Status
from sentinai.core.status import TRANSITIONS, IllegalTransition, can_transition, transition

S = Status


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.OPEN, S.TRIAGED),
        (S.TRIAGED, S.PENDING_APPROVAL),
        (S.TRIAGED, S.IN_PROGRESS),
        (S.TRIAGED, S.ESCALATED),
        (S.PENDING_APPROVAL, S.IN_PROGRESS),
        (S.PENDING_APPROVAL, S.REJECTED),
        (S.PENDING_APPROVAL, S.ESCALATED),
        (S.IN_PROGRESS, S.RESOLVED),
        (S.IN_PROGRESS, S.PENDING_APPROVAL),
        (S.ESCALATED, S.IN_PROGRESS),
        (S.ESCALATED, S.RESOLVED),
        (S.RESOLVED, S.CLOSED),
        (S.RESOLVED, S.OPEN),
        (S.IN_PROGRESS, S.IN_PROGRESS),
    ],
)
def test_legal_transitions(current: Status, target: Status) -> None:
    assert transition(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.OPEN, S.RESOLVED),
        (S.OPEN, S.IN_PROGRESS),
        (S.TRIAGED, S.OPEN),
        (S.PENDING_APPROVAL, S.RESOLVED),
        (S.REJECTED, S.IN_PROGRESS),
        (S.CLOSED, S.OPEN),
        (S.RESOLVED, S.IN_PROGRESS),
    ],
)
def test_illegal_transitions_are_refused(current: Status, target: Status) -> None:
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition, match=f"cannot move from {current} to {target}"):
        transition(current, target)


def test_every_status_has_an_entry_and_closed_is_terminal() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert TRANSITIONS[S.CLOSED] == frozenset()
