"""A client start cancelled half-way finishes, and the client is closed, before the cancellation
goes on (aiokafka's bootstrap leaves its connection open when interrupted)."""

from __future__ import annotations

import asyncio

import pytest

from sentinai.streams.client_start import start_client


async def test_a_cancelled_start_finishes_then_the_client_is_closed() -> None:
    steps: list[str] = []
    connecting = asyncio.Event()

    async def start() -> None:
        steps.append("connecting")
        connecting.set()
        await asyncio.sleep(0.2)  # the bootstrap's metadata round trip
        steps.append("started")

    async def close() -> None:
        steps.append("closed")

    caller = asyncio.create_task(start_client(start, close))
    await connecting.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert steps == ["connecting", "started", "closed"]


async def test_a_start_that_is_not_cancelled_is_just_a_start() -> None:
    steps: list[str] = []

    async def start() -> None:
        steps.append("started")

    async def close() -> None:
        steps.append("closed")

    await start_client(start, close)
    assert steps == ["started"]
