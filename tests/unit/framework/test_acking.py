"""An event whose handler is cut off (the worker stopping cancels its agents) stays unacked.

faust's own ``stream.events()`` acks such an event, and the consumer then commits it on shutdown:
the scale-down test lost the tail of an exception's events that way. The stream here is a real
faust stream over an in-process channel; only the broker is absent.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import faust
import pytest
from faust.types import EventT, StreamT
from faust.types.tuples import Message

from sentinai.framework.acking import events_acked_when_handled

Iterate = Callable[[StreamT], AsyncIterator[EventT]]


def open_iterators(app: faust.App) -> list[Any]:
    """The async generators iterating a stream of ``app`` that have not finished yet."""
    iterators = []
    for obj in gc.get_objects():
        if inspect.isasyncgen(obj) and obj.ag_frame is not None:
            owner = obj.ag_frame.f_locals.get("self") or obj.ag_frame.f_locals.get("stream")
            if getattr(owner, "app", None) is app:
                iterators.append(obj)
    return iterators


async def finalize_abandoned(app: faust.App) -> None:
    """Close the stream iterators the cancelled agent abandoned, as a worker's shutdown does.

    faust acks in the ``finally`` of its stream iterator; on shutdown the event loop's finalizer
    closes an abandoned one. Waiting for the collector to find them depends on what earlier tests
    left in the process, so they are closed here the way that finalizer closes them (``aclose``).
    """
    iterators = open_iterators(app)
    assert iterators, "the cancelled agent left no stream iterator to finalize"
    for iterator in iterators:
        await iterator.aclose()
    assert not open_iterators(app)


async def run_until_cut_off(iterate: Iterate, *, offsets: int) -> tuple[list[int], list[bool]]:
    """Feed ``offsets`` events; the handler blocks on the last one and is cancelled there.

    Returns the offsets handled and, per offset, whether faust marked it acked.
    """
    app = faust.App("acking-test", broker="kafka://127.0.0.1:1")  # never connected
    app.flow_control.resume()
    channel = app.channel()
    stream = app.stream(channel)
    handled: list[int] = []
    on_last = asyncio.Event()

    async def agent_body() -> None:
        async for event in iterate(stream):
            handled.append(event.message.offset)
            if event.message.offset == offsets - 1:
                on_last.set()
                await asyncio.Event().wait()  # a publish that never finishes

    agent = asyncio.create_task(agent_body())
    messages = [Message("exceptions", 0, offset, 0.0, 0, None, b"tenant", b"{}", None,
                        generation_id=app.consumer_generation_id) for offset in range(offsets)]
    for message in messages:
        await stream.channel.put(channel._create_event(message.key, message.value, {}, message))
    await asyncio.wait_for(on_last.wait(), timeout=5)
    agent.cancel()
    with pytest.raises(asyncio.CancelledError):
        await agent
    await finalize_abandoned(app)
    return handled, [message.acked for message in messages]


async def test_a_cut_off_event_stays_unacked_and_handled_ones_are_acked() -> None:
    handled, acked = await run_until_cut_off(events_acked_when_handled, offsets=3)
    assert handled == [0, 1, 2]
    assert acked == [True, True, False]


async def test_faust_events_ack_a_cut_off_event_which_is_why_agents_do_not_use_them() -> None:
    handled, acked = await run_until_cut_off(lambda stream: stream.events(), offsets=3)
    assert handled == [0, 1, 2]
    assert acked == [True, True, True]
