import asyncio

from sentinai.agents.backpressure import SinkGate


async def test_intake_waits_while_the_sink_is_behind_and_resumes_by_itself() -> None:
    gate = SinkGate(high_water=100)
    gate.published(99)
    await asyncio.wait_for(gate.wait(), 0.1)  # below the high water: no wait
    gate.published(1)
    waiter = asyncio.create_task(gate.wait())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    gate.stored(1)
    await asyncio.wait_for(waiter, 0.1)


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
