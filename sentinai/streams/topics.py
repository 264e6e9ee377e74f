"""Topic names of one deployment, and their creation with explicit partition counts.

All pipeline topics share the partition count and the key (tenant id), so they are
co-partitioned. The worker creates those that do not exist before it uses them, with the input
topic's count when a producer created that one first (:mod:`sentinai.streams.partition_plan`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from sentinai.settings import Settings, bootstrap_servers
from sentinai.streams.client_start import start_client
from sentinai.streams.partition_plan import PartitionPlan, plan_partitions

TABLES = ("exception-state", "tenant-state", "tool-calls")  # the worker's faust tables


@dataclass(frozen=True)
class TopicNames:
    exceptions: str
    events: str
    decisions: str
    dlq: str
    deferred: str
    approvals: str
    steps: str
    tool_requests: str
    tool_results: str
    timers: str
    llm: str
    changelogs: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> TopicNames:
        prefix = settings.topic_prefix
        return cls(
            exceptions=settings.topic_exceptions, events=settings.topic_events,
            decisions=settings.topic_decisions, dlq=settings.topic_dlq,
            deferred=f"{prefix}.deferred", approvals=f"{prefix}.approvals", steps=f"{prefix}.steps",
            tool_requests=f"{prefix}.tool-requests", tool_results=f"{prefix}.tool-results",
            timers=f"{prefix}.timers", llm=f"{prefix}.llm",
            changelogs=tuple(f"{settings.app_id}-{table}-changelog" for table in TABLES),
        )

    def all(self) -> list[str]:
        return [self.exceptions, self.events, self.decisions, self.dlq, self.deferred, self.approvals, self.steps,
                self.tool_requests, self.tool_results, self.timers, self.llm]


async def ensure_topics(settings: Settings, *, timeout: float = 30.0) -> int:
    """Create every pipeline topic that does not exist yet; return the pipeline's partition count.

    The count is ``SENTINAI_TOPIC_PARTITIONS`` when it was set, else that of the input topic (or
    of the pipeline topics) that exist, else the default. Raises
    :class:`~sentinai.streams.partition_plan.PartitionMismatch` when existing topics disagree.
    """
    names = TopicNames.from_settings(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(settings.require_broker()),
                                request_timeout_ms=int(timeout * 1000))
    deadline = asyncio.get_running_loop().time() + timeout
    try:  # closed however it ends: a caller cancelled while it connects leaves no connection open
        while True:
            try:
                await start_client(admin.start, admin.close)
                break
            except KafkaConnectionError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.5)
        plan = await _plan(admin, names, settings.topic_partitions,
                           explicit="topic_partitions" in settings.model_fields_set)
        for name in plan.create:
            configs = {"cleanup.policy": "compact"} if name in names.changelogs else {}
            try:
                await admin.create_topics([NewTopic(name, plan.partitions, 1, topic_configs=configs)])
            except TopicAlreadyExistsError:
                pass  # another worker, or a producer's auto-create, was first: checked below
        if plan.create:  # what exists now must agree, whoever created it
            await _plan(admin, names, plan.partitions, explicit=True)
        return plan.partitions
    finally:
        await admin.close()


async def _plan(admin: AIOKafkaAdminClient, names: TopicNames, configured: int, *, explicit: bool) -> PartitionPlan:
    existing = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics()}
    owned = [n for n in names.all() if n != names.exceptions] + list(names.changelogs)
    return plan_partitions(existing, input_topic=names.exceptions, owned=owned, configured=configured,
                           explicit=explicit)
