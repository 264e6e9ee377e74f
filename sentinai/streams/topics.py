"""Topic names of one deployment, and their creation with explicit partition counts.

All pipeline topics share the partition count and the key (tenant id), so they are
co-partitioned. We create them ourselves (never by broker auto-create) before any worker or
web process uses them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from sentinai.settings import Settings, bootstrap_servers


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

    @classmethod
    def from_settings(cls, settings: Settings) -> TopicNames:
        prefix = settings.topic_prefix
        return cls(
            exceptions=settings.topic_exceptions, events=settings.topic_events,
            decisions=settings.topic_decisions, dlq=settings.topic_dlq,
            deferred=f"{prefix}.deferred", approvals=f"{prefix}.approvals", steps=f"{prefix}.steps",
            tool_requests=f"{prefix}.tool-requests", tool_results=f"{prefix}.tool-results",
            timers=f"{prefix}.timers", llm=f"{prefix}.llm",
        )

    def all(self) -> list[str]:
        return [self.exceptions, self.events, self.decisions, self.dlq, self.deferred, self.approvals, self.steps,
                self.tool_requests, self.tool_results, self.timers, self.llm]


async def ensure_topics(settings: Settings, *, timeout: float = 30.0) -> None:
    """Create every pipeline topic that does not exist yet, with the configured partition count."""
    names = TopicNames.from_settings(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(settings.require_broker()),
                                request_timeout_ms=int(timeout * 1000))
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names.all() if n not in existing]
        for name in missing:
            try:
                await admin.create_topics([NewTopic(name, settings.topic_partitions, 1)])
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
