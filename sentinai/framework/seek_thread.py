"""Correction: faust seeks the Kafka consumer from the wrong thread.

Corrects faust-streaming 0.15 ``ThreadDelegateConsumer._seek``: the aiokafka consumer lives in
faust's consumer thread, on that thread's event loop, but ``_seek`` (what ``Consumer.seek`` and
the seek to committed offsets at the end of recovery call) runs aiokafka's ``seek`` right in the
main thread. aiokafka's ``Fetcher.seek_to`` deletes the partition's fetched records from the same
dict that ``Fetcher.fetched_records`` is walking in the consumer thread at that moment.

Measured loss (a fresh-clone CI run, 2026-12-06; tests/chaos/test_worker_crash.py): a worker
restarted after a kill -9 logged ``Drain messages raised: KeyError(TopicPartition(...))`` 5 ms
after "Worker ready"; faust's Fetcher service crashed, and the worker stayed up without reading
anything again (1,153 exceptions stored, no more in 120 s).

The replacement runs the seek in the consumer thread, as faust's other consumer calls
(``seek_to_committed``, ``seek_wait``, ``commit``) already do.
"""

from __future__ import annotations

from typing import Any

from sentinai.framework.patching import Patches

_patches = Patches()


def install() -> None:
    """Seek in the consumer's own thread (idempotent)."""
    from faust.transport.consumer import ThreadDelegateConsumer

    if _patches.installed:
        return

    async def _seek(self: Any, partition: Any, offset: int) -> None:
        thread = self._thread
        await thread.call_thread(thread.seek, partition, offset)

    _patches.replace(ThreadDelegateConsumer, "_seek", _seek)


def uninstall() -> None:
    """Give faust its own seek back."""
    _patches.undo()
