"""A tenant's home partition: where its state lives, whoever produced its input.

Everything the pipeline sends follows the partition its input arrived on, and the web view sends
its commands and ingested exceptions where aiokafka's default partitioner puts the tenant id —
murmur2, as the Java client does. A producer with another partitioner (librdkafka's default is
CRC32) puts a tenant somewhere else, and a tenant on two partitions has two states: with several
workers an approval from the web view finds no playbook run, and an exception sent both ways is
decided twice. So intake forwards an input that arrived off its tenant's home partition there,
once, before anything else; from then on the tenant's inputs, state and commands meet on one
partition.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2

FORWARDED_FROM = "sentinai.forwarded-from"
"""The header of a forwarded input: ``<topic>:<partition>:<offset>`` where it first arrived."""


def home_partition(tenant_id: str, partitions: int) -> int:
    """The partition of ``partitions`` that murmur2 gives the tenant id (the Java client's and
    aiokafka's default partitioner; ``partitioner=murmur2_random`` in librdkafka)."""
    return (murmur2(tenant_id.encode()) & 0x7FFFFFFF) % partitions
