"""Correction: the worker's consumer long-polls for a fixed 1.5 s.

Corrects faust-streaming 0.15 ``AIOKafkaConsumerThread._create_worker_consumer``, which
hard-codes aiokafka's ``fetch_max_wait_ms`` to 1,500. aiokafka (0.14) has one fetch request in
flight per broker, and a partition whose fetched records faust has not taken yet is left out of
the next request. So the request in flight was often one for idle partitions (commands,
changelogs), which the broker holds for the whole wait, while new exceptions on the intake
partitions waited behind it.

Measured loss (docs/performance.md, "Latency: the fetch long-poll"): at 50 exceptions/s the
records were ~360 ms old when aiokafka handed them over, and the decision latency p50 was
~1,000 ms; with ``SENTINAI_FETCH_MAX_WAIT_MS`` (default 50 ms) it is 20–23 ms, for about 20 more
fetch requests a second from an idle worker.
"""

from __future__ import annotations

from typing import Any

from sentinai.framework.patching import Patches

_patches = Patches()
_wait = {"ms": 1_500}


def install(milliseconds: int) -> None:
    """Give the worker's consumer this fetch long-poll instead of faust's fixed 1,500 ms."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    _wait["ms"] = milliseconds
    if _patches.installed:
        return
    create = AIOKafkaConsumerThread._create_worker_consumer

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = _wait["ms"]  # read when the consumer starts fetching
        return consumer

    _patches.replace(AIOKafkaConsumerThread, "_create_worker_consumer", _create_worker_consumer)


def uninstall() -> None:
    """Give faust its own consumer factory back."""
    _patches.undo()
