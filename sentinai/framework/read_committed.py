"""Correction: the worker decides the records of outside producers' aborted transactions.

Corrects faust-streaming 0.15 ``AIOKafkaConsumerThread._create_worker_consumer``, which makes the
worker's consumer ``read_uncommitted`` unless faust runs transactions itself (its exactly-once
guarantee, which SentinAI does not use: its corrections commit input only over delivered output).
A producer of exceptions that writes in transactions and aborts one — it wrote part of a batch,
then failed and will write the batch again — had every record of the aborted part decided as if
it had been committed: exceptions decided twice, or ones the producer took back decided at all.

With ``read_committed`` the broker hands a partition's records only up to its last stable offset
and the Kafka client leaves out the records of aborted transactions. As for any reader of
committed records, a transaction left open holds its partition until the broker aborts it
(``transaction.timeout.ms``); the watchdog then reports the waiting input.

No loss was measured here: the embedded broker (Tansu) hands aborted records even to a
``read_committed`` consumer, so on it nothing changes; ``tests/unit/framework`` checks what the
worker's consumer asks the broker for, and ``tests/integration/test_transactional_producer.py``
that a transactional producer's committed input is decided with it.
"""

from __future__ import annotations

from typing import Any

from sentinai.framework.patching import Patches

_patches = Patches()


def install() -> None:
    """Make the worker's consumer read committed records only (idempotent)."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    if _patches.installed:
        return
    create = AIOKafkaConsumerThread._create_worker_consumer

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._isolation_level = "read_committed"  # read when the consumer starts its fetcher
        return consumer

    _patches.replace(AIOKafkaConsumerThread, "_create_worker_consumer", _create_worker_consumer)


def uninstall() -> None:
    """Give faust its own consumer factory back."""
    _patches.undo()
