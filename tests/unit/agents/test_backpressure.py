from sentinai.agents.backpressure import SinkGate, pause_fetching, resume_fetching


def test_intake_is_paused_above_the_high_water_and_resumed_below_the_low_water() -> None:
    calls: list[str] = []
    gate = SinkGate(high_water=100, pause=lambda: calls.append("pause"), resume=lambda: calls.append("resume"))
    gate.published(99)
    assert calls == [] and not gate.paused
    gate.published(1)
    gate.published(10)
    assert calls == ["pause"] and gate.paused
    gate.stored(59)
    assert calls == ["pause"]  # 51 pending: still above the low water
    gate.stored(1)
    assert calls == ["pause", "resume"] and not gate.paused


def test_levels_follow_the_pending_count() -> None:
    gate = SinkGate(high_water=100)
    levels = []
    for pending in (0, 25, 50, 95):
        gate.stored(gate.pending)
        gate.published(pending)
        levels.append(gate.level())
    assert levels == ["NORMAL", "WARNING", "CRITICAL", "OVERLOADED"]


def test_stored_never_goes_below_zero() -> None:
    gate = SinkGate(high_water=10)
    gate.stored(5)
    assert gate.pending == 0


class FakeConsumer:
    """The two sets of faust's ``Consumer`` that pausing touches, and its lookup of the active set."""

    def __init__(self, assigned: set[str]) -> None:
        self._active_partitions = set(assigned)
        self._paused_partitions: set[str] = set()

    def _get_active_partitions(self) -> set[str]:
        return self._active_partitions


def test_pausing_keeps_a_delivery_in_progress_whole_and_stops_the_next_fetch() -> None:
    consumer = FakeConsumer({"exceptions-0", "exceptions-1", "events-0"})
    # faust's getmany filters the records it fetched by the set it fetched them with, message by
    # message, yielding to the event loop in between: the gate may pause meanwhile
    in_delivery = consumer._get_active_partitions()
    pause_fetching(consumer, {"exceptions-0", "exceptions-1"})
    assert {"exceptions-0", "exceptions-1"} <= in_delivery  # fetched records are still delivered
    assert consumer._get_active_partitions() == {"events-0"}  # the next fetch leaves them out
    assert consumer._paused_partitions == {"exceptions-0", "exceptions-1"}
    resume_fetching(consumer, {"exceptions-0", "exceptions-1"})
    assert consumer._get_active_partitions() == {"exceptions-0", "exceptions-1", "events-0"}
    assert consumer._paused_partitions == set()
