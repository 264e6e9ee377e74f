"""The composition root: one faust App with its topics, tables and agents, built from Settings.

Nothing here decides anything; it wires the pure core (``sentinai.core``), the table mutations
(``sentinai.tables``), the agents (``sentinai.agents``) and the Postgres sink (``sentinai.sinks``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import faust

from sentinai.agents.backpressure import SinkGate
from sentinai.agents.dead_letters import dead_letter, run_dead_letters
from sentinai.agents.intake import Intake, IntakeTopics, not_before
from sentinai.agents.metrics import EVENTS_PROCESSED
from sentinai.agents.pack_cache import PackCache
from sentinai.agents.sink import run_sink
from sentinai.agents.watchdog import Watchdog, pipeline_work
from sentinai.settings import Settings
from sentinai.sinks.pool import open_pool
from sentinai.sinks.writer import EventWriter
from sentinai.streams.topics import TopicNames

log = logging.getLogger(__name__)

SINK_HIGH_WATER = 20_000


@dataclass
class Resources:
    """The worker's connections, opened once on first use by whichever agent starts first."""

    settings: Settings
    pool: asyncpg.Pool | None = None
    packs: PackCache | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _pool_cm: Any = None

    async def ready(self) -> Resources:
        async with self._lock:
            if self.pool is None:
                self._pool_cm = open_pool(self.settings.require_database(), min_size=1, max_size=8)
                self.pool = await self._pool_cm.__aenter__()
                self.packs = PackCache(self.pool)
                while True:
                    try:
                        await self.packs.refresh()
                        break
                    except (OSError, asyncpg.PostgresError) as err:
                        log.warning("cannot load packs yet (%s); retrying", err)
                        await asyncio.sleep(1)
        return self

    async def close(self) -> None:
        if self._pool_cm is not None:
            await self._pool_cm.__aexit__(None, None, None)
            self._pool_cm = self.pool = None


def create_app(settings: Settings) -> faust.App:
    names = TopicNames.from_settings(settings)
    app = faust.App(
        settings.app_id,
        broker=settings.require_broker(),
        autodiscover=False,
        store="memory://",
        topic_partitions=settings.topic_partitions,
        topic_allow_declare=True,
        web_enabled=False,
        web_tables_enabled=False,
        broker_rebalance_timeout=5,
        broker_session_timeout=10,
        broker_heartbeat_interval=1,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        datadir=str(settings.data_dir / "worker"),
        producer_acks=-1,
        logging_config=None,
        loghandlers=[],
    )

    def topic(name: str) -> faust.TopicT:
        return app.topic(name, partitions=settings.topic_partitions, key_serializer="raw",
                         value_serializer="raw", internal=False)

    topics = IntakeTopics(events=topic(names.events), decisions=topic(names.decisions), dlq=topic(names.dlq),
                          deferred=topic(names.deferred))
    exceptions_table = app.Table("exception-state", default=None, partitions=settings.topic_partitions)
    tenants_table = app.Table("tenant-state", default=None, partitions=settings.topic_partitions)
    resources = Resources(settings)
    gate = SinkGate(high_water=SINK_HIGH_WATER)
    intake_holder: dict[str, Intake] = {}

    async def intake() -> Intake:
        if "intake" not in intake_holder:
            await resources.ready()
            assert resources.packs is not None
            intake_holder["intake"] = Intake(settings=settings, topics=topics, packs=resources.packs,
                                             exceptions_table=exceptions_table, tenants_table=tenants_table,
                                             gate=gate)
        return intake_holder["intake"]

    @app.agent(topic(names.exceptions), name="intake", concurrency=1)
    async def intake_agent(stream: faust.StreamT) -> Any:
        handler = await intake()
        async for event in stream.events():
            await handler.handle(event)
            yield None

    @app.agent(topics.deferred, name="deferred", concurrency=1)
    async def deferred_agent(stream: faust.StreamT) -> Any:
        """Deferred messages come back when their not-before time has passed, in order per partition."""
        handler = await intake()
        async for event in stream.events():
            delay = not_before(event) - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await handler.handle(event)
            yield None

    async def writer() -> EventWriter:
        await resources.ready()
        assert resources.pool is not None
        return EventWriter(resources.pool)

    async def pool() -> asyncpg.Pool:
        await resources.ready()
        assert resources.pool is not None
        return resources.pool

    @app.agent(topics.events, name="sink", concurrency=1)
    async def sink_agent(stream: faust.StreamT) -> Any:
        async def refused(event: faust.EventT, error: BaseException) -> None:
            await dead_letter(topics.dlq, event, error, stage="sink")

        async for count in run_sink(stream, writer_factory=writer, gate=gate, dead_letter=refused,
                                    batch_size=settings.sink_batch_size, batch_seconds=settings.sink_batch_ms / 1000):
            yield count

    @app.agent(topics.dlq, name="dead-letters", concurrency=1)
    async def dead_letter_agent(stream: faust.StreamT) -> Any:
        async for offset in run_dead_letters(stream, pool_factory=pool):
            yield offset

    @app.timer(interval=settings.pack_refresh_seconds)
    async def refresh_packs() -> None:
        if resources.packs is not None:
            try:
                await resources.packs.refresh()
            except (OSError, asyncpg.PostgresError) as err:
                log.warning("pack refresh failed: %s", err)

    progress = {"last": ""}
    watchdog = Watchdog(app, work=pipeline_work, stall_seconds=30.0)

    @app.timer(interval=10.0)
    async def log_progress() -> None:
        """One line per 10 s while work moves: what a stalled worker stopped doing shows in its log."""
        line = (f"progress: decided={int(EVENTS_PROCESSED.labels('decided')._value.get())} "
                f"duplicates={int(EVENTS_PROCESSED.labels('duplicate')._value.get())} "
                f"deferred={int(EVENTS_PROCESSED.labels('deferred')._value.get())} "
                f"dead_lettered={int(EVENTS_PROCESSED.labels('dead_lettered')._value.get())} "
                f"sink_pending={gate.pending} assigned={len(app.consumer.assignment())}")
        if line != progress["last"]:
            log.info("%s", line)
            progress["last"] = line
        await watchdog.check()

    app.sentinai_resources = resources  # type: ignore[attr-defined]
    return app
