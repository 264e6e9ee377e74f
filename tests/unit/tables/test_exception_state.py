from datetime import UTC, datetime, timedelta

import pytest

from sentinai.core.sla import SlaClock
from sentinai.tables.exception_state import (
    decided_state,
    is_duplicate,
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
