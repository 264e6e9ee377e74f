"""The composition root: one faust App with its topics, tables and agents, built from Settings.

Nothing here decides anything; it wires the pure core (``sentinai.core``), the table mutations
(``sentinai.tables``), the agents (``sentinai.agents``) and the Postgres sink (``sentinai.sinks``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import faust

from sentinai.agents.act import Act
from sentinai.agents.dead_letters import dead_letter, handled_or_dead_lettered, run_dead_letters
from sentinai.agents.deferred import DeferredLanes
from sentinai.agents.effects import Effects
from sentinai.agents.intake import Intake, IntakeTopics
from sentinai.agents.llm import LLMStage
from sentinai.agents.notifications import Notifications
from sentinai.agents.outbox import Outbox
from sentinai.agents.outcomes import Outcomes
from sentinai.agents.quota import IntakeQuota
from sentinai.agents.tools import Tools, ToolsTopics
from sentinai.framework.acking import events_acked_when_handled
from sentinai.framework.fetch_pause import pause_fetching, resume_fetching
from sentinai.framework.tenant_lanes import LaneFull, LaneGauges, TenantLanes
from sentinai.jobs.due_timers import send_due_timers
from sentinai.jobs.progress import ProgressLog
from sentinai.jobs.retention import apply_tenant_retention
from sentinai.jobs.rounds import every
from sentinai.jobs.watchdog import Watchdog, pipeline_work
from sentinai.llm.client import LLMClient
from sentinai.metrics import TOOLS_FULL, TOOLS_WAITING
from sentinai.resources import Resources
from sentinai.settings import Settings, bootstrap_servers
from sentinai.sinks.backpressure import SinkGate
from sentinai.sinks.feed import SinkFeed
from sentinai.sinks.search_index import index_queued
from sentinai.sinks.search_terms import refresh_all
from sentinai.sinks.worker_heartbeats import BEAT_SECONDS, WorkerIdentity, beat, leave
from sentinai.sinks.writer import EventWriter
from sentinai.streams.direct_topic import DirectTopic
from sentinai.streams.topics import TopicNames
from sentinai.tables.codec import exact_table
from sentinai.tools.invoker import ToolInvoker
from sentinai.tools.network import NetworkPolicy
from sentinai.tools.secrets import SecretStore

log = logging.getLogger(__name__)

TOOLS_GAUGES = LaneGauges(name="tools", waiting=TOOLS_WAITING, full=TOOLS_FULL,
                          capacity_setting="SENTINAI_TOOLS_CAPACITY",
                          held="tool and notification requests wait in their tenants' lanes")

SINK_HIGH_WATER = 5_000
"""Transitions published but not yet stored (some seven events each) above which intake pauses."""


def faust_app(settings: Settings) -> faust.App:
    """The faust App as every worker runs it (and the faust floor benchmark measures it), without
    topics, tables or agents."""
    return faust.App(
        settings.app_id,
        broker=settings.require_broker(),
        autodiscover=False,
        store="memory://",
        topic_partitions=settings.topic_partitions,
        topic_allow_declare=True,
        web_enabled=False,
        web_tables_enabled=False,
        broker_rebalance_timeout=5,
        # Off: it compares what the tables already read with the partition end from ListOffsets,
        # which the embedded broker under-reports (docs/design.md); tables recover to the true end
        # (sentinai.framework.recovery_end), so a worker taking a partition back crashed on it.
        # It guards RocksDB files against deleted topics; the tables here live in memory.
        recovery_consistency_check=False,
        broker_session_timeout=10,
        broker_heartbeat_interval=1,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        datadir=str(settings.data_dir / "worker"),
        producer_acks=-1,
        # A batch not delivered within this time fails, and the commit guard then stops the worker
        # before it commits past the lost output (sentinai.framework.commit_guard).
        producer_request_timeout=settings.producer_request_timeout_seconds,
        logging_config=None,
        loghandlers=[],
    )


def create_app(settings: Settings) -> faust.App:
    names = TopicNames.from_settings(settings)
    app = faust_app(settings)

    def topic(name: str) -> faust.TopicT:
        return app.topic(name, partitions=settings.topic_partitions, key_serializer="raw",
                         value_serializer="raw", internal=False)

    def outbound(name: str) -> DirectTopic:
        """What the agents send to: the same topic, without faust's per-message send machinery."""
        return DirectTopic(app, name)

    topics = IntakeTopics(exceptions=outbound(names.exceptions), dlq=outbound(names.dlq),
                          deferred=outbound(names.deferred),
                          llm=outbound(names.llm) if settings.llm_base_url else None)
    exceptions_table, tenants_table, tool_calls_table = (
        exact_table(app, name, partitions=settings.topic_partitions)
        for name in ("exception-state", "tenant-state", "tool-calls"))
    resources = Resources(settings)
    intake_topics = {names.exceptions, names.deferred, names.llm}

    def intake_partitions() -> set[Any]:
        return {tp for tp in app.consumer.assignment() if tp.topic in intake_topics}

    gate = SinkGate(high_water=SINK_HIGH_WATER,
                    pause=lambda: pause_fetching(app.consumer, intake_partitions()),
                    resume=lambda: resume_fetching(app.consumer, intake_partitions()))
    outbox = Outbox(events=outbound(names.events), decisions=outbound(names.decisions), gate=gate)
    effects = Effects(outbound(names.tool_requests))
    outcomes = Outcomes(outbox=outbox, effects=effects, exceptions_table=exceptions_table,
                        tenants_table=tenants_table, gate=gate)
    quota = IntakeQuota(tenants_table)
    act = Act(outbox=outbox, effects=effects, exceptions_table=exceptions_table,
              tool_calls_table=tool_calls_table, dedup_window_seconds=settings.dedup_window_seconds)
    intake = Intake(settings=settings, topics=topics, packs=resources.packs, exceptions_table=exceptions_table,
                    quota=quota, outcomes=outcomes, outbox=outbox)

    @app.agent(topic(names.exceptions), name="intake", concurrency=1)
    async def intake_agent(stream: faust.StreamT) -> Any:
        await resources.ready()
        async for event in events_acked_when_handled(stream):
            await intake.handle(event)
            yield None

    @app.agent(topic(names.deferred), name="deferred", concurrency=1)
    async def deferred_agent(stream: faust.StreamT) -> Any:
        """Deferred messages come back through intake when their time has come, each tenant in its lane."""
        await resources.ready()
        async for _ in DeferredLanes(intake.handle, capacity=settings.deferred_capacity).run(stream):
            yield None

    async def writer() -> EventWriter:
        return EventWriter((await resources.ready()).pool)

    async def pool() -> Any:
        return (await resources.ready()).pool

    async def refused(record: Any, error: BaseException) -> None:
        delivery = await dead_letter(topics.dlq, record, error, stage="sink")
        await delivery  # on the DLQ before the feed commits past it

    sink_feed = SinkFeed(bootstrap_servers=bootstrap_servers(settings.require_broker()), topic=names.events,
                         group_id=f"{settings.app_id}-sink", writer_factory=writer, gate=gate, dead_letter=refused,
                         batch_size=settings.sink_batch_size, batch_seconds=settings.sink_batch_ms / 1000,
                         in_flight=settings.sink_in_flight, fetch_max_wait_ms=settings.fetch_max_wait_ms)

    @app.on_partitions_assigned.connect
    async def follow_intake_partitions(app: faust.App, assigned: set[Any], **kwargs: Any) -> None:
        """The sink stores the events partitions with the numbers of this worker's intake partitions;
        the intake quota's buckets in memory give way to the table, which the new owner wrote."""
        sink_feed.follow(tp.partition for tp in assigned if tp.topic == names.exceptions)
        quota.forget()

    @app.task
    async def start_sink_feed() -> None:
        sink_feed.start()

    @app.agent(topic(names.dlq), name="dead-letters", concurrency=1)
    async def dead_letter_agent(stream: faust.StreamT) -> Any:
        async for offset in run_dead_letters(stream, pool_factory=pool):
            yield offset

    commands = app.topic(names.approvals, names.steps, names.tool_results, names.timers,
                         partitions=settings.topic_partitions, key_serializer="raw", value_serializer="raw")

    @app.agent(commands, name="act", concurrency=1)
    async def act_agent(stream: faust.StreamT) -> Any:
        """Approvals, step completions, tool and notification results, approval expiries and SLA ticks."""
        await resources.ready()
        async for event in events_acked_when_handled(stream):
            await handled_or_dead_lettered(act.handle, event, topics.dlq, stage="act")
            yield None

    @app.agent(topic(names.tool_requests), name="tools", concurrency=1)
    async def tools_agent(stream: faust.StreamT) -> Any:
        """Governed outbound HTTP: tool calls and webhook notifications, through one client.

        Each tenant's requests run in its own lane (``sentinai.framework.tenant_lanes``): a tenant
        waiting for its tool-call quota, or for its slow or failing endpoints and webhooks, holds
        up only its own requests."""
        await resources.ready()
        async with ToolInvoker(secrets=SecretStore.from_settings(settings),
                               network=NetworkPolicy.from_settings(settings)) as invoker:
            results = outbound(names.tool_results)
            notifications = Notifications(outbox=outbox, results=results, delivered_table=tool_calls_table,
                                          packs=resources.packs, invoker=invoker)
            tools = Tools(topics=ToolsTopics(outbox=outbox, results=results), calls_table=tool_calls_table,
                          tenants_table=tenants_table, packs=resources.packs, invoker=invoker,
                          notifications=notifications)

            async def handle(event: faust.EventT) -> None:
                await handled_or_dead_lettered(tools.handle, event, topics.dlq, stage="tools", traceback=True)

            async def refuse(event: faust.EventT, full: LaneFull) -> None:
                log.warning("tools: input at %s:%s:%s sent to the DLQ: %s", event.message.topic,
                            event.message.partition, event.message.offset, full)
                await dead_letter(topics.dlq, event.message, full, stage="tools")

            lanes = TenantLanes(handle, capacity=settings.tools_capacity, gauges=TOOLS_GAUGES,
                                lane_capacity=settings.tools_tenant_capacity,
                                lane_capacity_setting="SENTINAI_TOOLS_TENANT_CAPACITY", refuse=refuse)
            async for _ in lanes.run(stream):
                yield None

    if topics.llm is not None:
        @app.agent(topic(names.llm), name="llm", concurrency=1)
        async def llm_agent(stream: faust.StreamT) -> Any:
            """LLM-assisted decisions, in small concurrent batches acknowledged after publishing."""
            await resources.ready()
            async with LLMClient.for_deployment(settings) as client:
                stage = LLMStage(packs=resources.packs, tenants_table=tenants_table, dlq=topics.dlq,
                                 outcomes=outcomes, client=client)
                async for count in stage.run(stream):
                    yield count

    send_due_timers(app, states=exceptions_table, calls=tool_calls_table, timers=outbound(names.timers),
                    dedup_window_seconds=settings.dedup_window_seconds)

    # the pool and packs open when the first agent starts; until then a round has nothing to do
    every(app, settings.pack_refresh_seconds, "pack refresh", resources.refresh_packs, ready=lambda: True)
    every(app, settings.retention_interval_seconds, "retention",  # what tenants keep no longer (dataTTL)
          lambda: apply_tenant_retention(resources.pool, resources.packs, now=datetime.now(UTC)),
          ready=lambda: resources.opened)
    every(app, settings.search_index_interval_seconds, "search document",  # queued by the sink, built here
          lambda: index_queued(resources.pool), ready=lambda: resources.opened)
    every(app, settings.search_stats_interval_seconds, "search term count",  # one worker at a time
          lambda: refresh_all(resources.pool, now=datetime.now(UTC)), ready=lambda: resources.opened)
    me = WorkerIdentity()  # the web view's /health counts the workers that beat
    heartbeat = every(app, BEAT_SECONDS, "heartbeat", lambda: beat(resources.pool, me),
                      ready=lambda: resources.opened)

    @app.task
    async def first_heartbeat() -> None:
        """Counted from the start, not one beat later (/health said 0 workers for 10 s after Ready)."""
        await resources.ready()
        await heartbeat()

    watchdog = Watchdog(app, work=pipeline_work, stall_seconds=settings.stall_seconds)
    progress = ProgressLog(watchdog=watchdog, sink_pending=lambda: gate.pending,
                           assigned=lambda: len(app.consumer.assignment()))
    # a third of the stall time at most, so a stall is told within stall_seconds and a third
    every(app, min(10.0, settings.stall_seconds / 3), "progress", progress.round, ready=lambda: True)

    @app.on_before_shutdown.connect
    async def close_resources(app: faust.App, **kwargs: Any) -> None:
        """After the consumer stopped (every agent is done with the pool) and the sink feed, close it."""
        await sink_feed.stop()
        if resources.opened:
            try:
                await asyncio.wait_for(leave(resources.pool, me), 2.0)
            except Exception as err:  # its heartbeat goes stale instead: it stops counting a little later
                log.warning("could not remove this worker's heartbeat: %s", err)
        await resources.close()

    app.known_tenants = lambda: frozenset(resources.packs.tenants)  # type: ignore[attr-defined]
    return app
