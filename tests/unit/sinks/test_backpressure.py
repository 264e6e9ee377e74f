from sentinai.sinks.backpressure import SinkGate


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
