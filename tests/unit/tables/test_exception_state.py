from sentinai.tables.exception_state import decided_state, is_duplicate


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
