"""faust's seek runs in the consumer's thread, where the aiokafka consumer and its fetcher live."""

from __future__ import annotations

import asyncio
import threading
from types import ModuleType, SimpleNamespace
from typing import Any

from faust.transport.consumer import ThreadDelegateConsumer


class ConsumerThread:
    """faust's consumer thread as ``_seek`` uses it: an event loop in a thread of its own that runs
    ``call_thread``'s functions, and the consumer's ``seek``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.seeks: list[tuple[Any, int, int]] = []

    async def call_thread(self, method: Any, *args: Any) -> Any:
        async def run() -> Any:
            return method(*args)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(run(), self.loop))

    def seek(self, partition: Any, offset: int) -> None:
        self.seeks.append((partition, offset, threading.get_ident()))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def _seek_with(consumer_thread: ConsumerThread) -> tuple[Any, int, int]:
    delegate = SimpleNamespace(_thread=consumer_thread)  # what _seek reads of the consumer
    await ThreadDelegateConsumer._seek(delegate, "tp", 42)  # type: ignore[arg-type]
    [seek] = consumer_thread.seeks
    return seek


async def test_the_seek_runs_in_the_consumer_thread(seeks_in_consumer_thread: ModuleType) -> None:
    consumer_thread = ConsumerThread()
    try:
        partition, offset, thread = await _seek_with(consumer_thread)
    finally:
        consumer_thread.stop()
    assert (partition, offset) == ("tp", 42)
    assert thread == consumer_thread.thread.ident != threading.get_ident()


async def test_without_the_correction_faust_seeks_from_the_calling_thread() -> None:
    consumer_thread = ConsumerThread()
    try:
        _, _, thread = await _seek_with(consumer_thread)
    finally:
        consumer_thread.stop()
    assert thread == threading.get_ident()  # the race the correction removes
