"""The intake path in a plain aiokafka batch loop: what a batch consumer for intake would cost.

No faust: the input is taken with ``getmany`` in batches (``sentinai.bench.raw_loop.batch_loop``,
the raw loop's own), each exception goes through what the intake agent computes
(``sentinai.bench.intake``: normalize, decide, the records, the transition and decision record
encoded, the state as the table stores it), and its three outputs are sent with a lingering
producer — the transition, the decision record, and the state to a topic standing in for the
table's changelog. A second consumer reads the transitions back and decodes them, as the sink
does. Not measured here, because no design can leave them out: the sink's database writes and
offset commits. ``sentinai.bench.faust_floor`` runs it beside its faust variants.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition

from sentinai.bench.intake import encoded, state_bytes
from sentinai.bench.raw_loop import batch_loop
from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.core.packs import PackSet
from sentinai.streams import codec, records
from sentinai.streams.transition import decode

KINDS = ("out", "decisions", "state")
"""The loop's output topics: ``<source>.batch-<kind>``."""


async def batch_intake(bootstrap: str, source: str, n: int, partitions: int, pack_set: PackSet) -> dict[str, float]:
    """Decide the ``n`` inputs of ``source``: the rate from the first input to the last transition
    read back, and the process's CPU time over that span per input."""
    out, decisions, states = (f"{source}.batch-{kind}" for kind in KINDS)
    known = pack_set.tenants
    packs: dict[str, Any] = {tenant: pack_set.for_tenant(tenant) for tenant in known}

    async def intake(producer: AIOKafkaProducer, tp: TopicPartition, record: ConsumerRecord) -> None:
        now = datetime.now(UTC)
        exception = normalize(codec.loads(record.value), now=now, known_tenants=known,
                              raw_size=len(record.value), key_tenant=record.key.decode())
        tenant_packs = packs[exception.tenant_id]
        outcome = decide(exception, tenant_packs, now=now)
        result = records.decided(exception, outcome, tenant_packs, now=now)
        where = (source, tp.partition, record.offset)
        transition, decision = encoded(exception, outcome, result, where, now)
        await producer.send(out, transition, key=record.key, partition=tp.partition)
        if decision is not None:
            await producer.send(decisions, decision, key=record.key, partition=tp.partition)
        await producer.send(states, state_bytes(outcome, result, tenant_packs, where, now),
                            key=exception.exception_id.encode(), partition=tp.partition)

    wall, cpu = await batch_loop(bootstrap, source, n, partitions, intake, back_topic=out, expected_back=n,
                                 read_back=decode)
    return {"rate": n / wall, "cpu_ms": 1000 * cpu / n}
