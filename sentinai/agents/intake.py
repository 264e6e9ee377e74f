"""Intake and decision: raw exception → normalized → deduplicated → quota → decided → published.

One agent does intake and decide in a single pass (an extra topic hop between them would double
the per-message cost and buy nothing: both steps need the same tenant's tables on the same
partition). The agent body is thin: the decisions are the core's, the table mutations are pure
functions in ``sentinai.tables``; here we only decode, call them and publish.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faust.types import EventT

from sentinai.agents.act import Act
from sentinai.agents.backpressure import SinkGate
from sentinai.agents.dead_letters import dead_letter
from sentinai.agents.metrics import (
    BACKPRESSURE,
    DECISIONS,
    EVENTS_PROCESSED,
    QUOTA_DEFERRED,
    QUOTA_TOKENS,
    STAGE_LATENCY,
)
from sentinai.agents.pack_cache import PackCache
from sentinai.core import execution
from sentinai.core.engine import decide
from sentinai.core.models import DecisionOutcome, NormalizedException
from sentinai.core.normalize import RejectedInput, normalize
from sentinai.core.packs import TenantPacks
from sentinai.core.sla import start_clock
from sentinai.settings import Settings
from sentinai.streams import codec
from sentinai.streams.direct_topic import DirectTopic
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.records import PIPELINE, decision_records, outcome_events
from sentinai.tables import exception_state, tenant_state

log = logging.getLogger(__name__)

NOT_BEFORE = "sentinai.not-before"
RETRIES = 3


@dataclass
class IntakeTopics:
    events: DirectTopic
    decisions: DirectTopic
    dlq: DirectTopic
    deferred: DirectTopic
    llm: DirectTopic | None = None  # None: no LLM configured, every tenant is decided by the rules


def llm_request(exception: NormalizedException, *, source: tuple[str, int, int], first_seen: float,
                quota: dict[str, float] | None) -> bytes:
    """What intake hands the LLM stage: the normalized exception and where it came from."""
    return codec.dumps({"exception": exception.model_dump(mode="json"), "source": list(source),
                        "first_seen": first_seen, "quota": quota})


class Intake:
    """Handles one input event at a time; never lets an exception escape (faust would ack it)."""

    def __init__(self, *, settings: Settings, topics: IntakeTopics, packs: PackCache,
                 exceptions_table: Any, tenants_table: Any, gate: SinkGate, act: Act) -> None:
        self.act = act
        self.settings = settings
        self.topics = topics
        self.packs = packs
        self.exceptions = exceptions_table
        self.tenants = tenants_table
        self.gate = gate

    async def handle(self, event: EventT) -> None:
        message = event.message
        source = (message.topic, message.partition, message.offset)
        for attempt in range(RETRIES + 1):
            try:
                await self._process(event, source)
                return
            except (codec.UndecodableMessage, RejectedInput) as err:
                await self._dead_letter(event, err, stage="intake")
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a bug or a transient failure: retry, then dead-letter
                if attempt == RETRIES:
                    log.exception("giving up on %s after %d attempts", source, RETRIES + 1)
                    await self._dead_letter(event, err, stage="decide")
                    return
                await asyncio.sleep(0.1 * 2**attempt)

    async def _process(self, event: EventT, source: tuple[str, int, int]) -> None:
        started = time.perf_counter()
        message = event.message
        raw = codec.loads(event.value)
        if not isinstance(raw, dict):
            raise RejectedInput("the message must be a JSON object", "")
        now = datetime.now(UTC)
        now_epoch = now.timestamp()
        key_tenant = message.key.decode("utf-8", "replace") if isinstance(message.key, bytes) else None
        exception = normalize(raw, now=now, known_tenants=self.packs.tenants,
                              max_bytes=self.settings.max_message_bytes, raw_size=len(event.value),
                              key_tenant=key_tenant)
        packs = self.packs.for_tenant(exception.tenant_id)
        if packs is None:
            raise RejectedInput(f"tenant {exception.tenant_id!r} has no active pack", "tenant_id")
        tenant = exception.tenant_id
        key = exception_state.state_key(tenant, exception.exception_id)
        prior = self.exceptions.get(key)
        if exception_state.is_duplicate(prior, source, now_epoch=now_epoch,
                                        window_seconds=self.settings.dedup_window_seconds):
            updated = tenant_state.record_duplicate(self.tenants.get(tenant), source)
            if updated is not None:
                self.tenants[tenant] = updated
            EVENTS_PROCESSED.labels("duplicate").inc()
            return
        bucket = None
        if prior is None and message.topic != self.topics.deferred.get_topic_name():
            quota = self._take_token(packs, tenant, now_epoch)
            if quota is not None:
                allowed, bucket, wait = quota
                if not allowed:
                    await self._defer(event, tenant, source, now_epoch, wait, bucket)
                    return
        STAGE_LATENCY.labels("normalize").observe(time.perf_counter() - started)
        first_seen = prior["first_seen"] if prior else now_epoch
        if self.topics.llm is not None and packs.tenant.llm.enabled:
            await self.topics.llm.send(key=tenant.encode(), partition=message.partition, value=llm_request(
                exception, source=source, first_seen=first_seen, quota=bucket))
            self.exceptions[key] = exception_state.awaiting_llm(source=source, now_epoch=first_seen)
            EVENTS_PROCESSED.labels("sent_to_llm").inc()
            return
        decided_at = time.perf_counter()
        outcome = decide(exception, packs, now=now)
        STAGE_LATENCY.labels("decide").observe(time.perf_counter() - decided_at)
        await self.publish_outcome(exception, outcome, packs, source=source, partition=message.partition,
                                   first_seen=first_seen, now=now, quota=bucket)
        EVENTS_PROCESSED.labels("decided").inc()
        STAGE_LATENCY.labels("total").observe(time.perf_counter() - started)

    def _take_token(self, packs: Any, tenant: str, now_epoch: float) -> tuple[bool, dict[str, float], float] | None:
        """The tenant's intake token bucket after taking one token; None when it has no quota."""
        quotas = packs.tenant.quotas
        rate = getattr(quotas, "exceptions_per_second", None) if quotas else None
        if not rate:
            return None
        burst = float(getattr(quotas, "burst", None) or rate)
        state = self.tenants.get(tenant)
        result = tenant_state.take_token(state["quota"] if state else None, rate=float(rate), burst=burst,
                                         now_epoch=now_epoch)
        QUOTA_TOKENS.labels(tenant).set(result[1]["tokens"])
        return result

    async def publish_outcome(self, exception: NormalizedException, outcome: DecisionOutcome, packs: TenantPacks,
                              *, source: tuple[str, int, int], partition: int, first_seen: float, now: datetime,
                              quota: dict[str, float] | None, prelude: list[EventEnvelope] = ()) -> None:
        """Publish a decided exception: its events and decision records, its playbook run's first
        effects; then store its state (with its SLA clock) and count it. ``prelude`` events go first
        (an LLM proposal)."""
        tenant = exception.tenant_id
        events = [*prelude, *outcome_events(exception, outcome, now=now,
                                            approval_timeout_minutes=packs.tenant.approval_timeout_minutes)]
        key_bytes = tenant.encode()
        for envelope in events:
            await self.topics.events.send(key=key_bytes, value=codec.dumps(envelope), partition=partition)
        for record in decision_records(exception, outcome, now=now):
            await self.topics.decisions.send(key=key_bytes, value=codec.dumps(record), partition=partition)
            DECISIONS.labels(tenant, record.stage, record.source).inc()
        self.gate.published(len(events))
        run, effects = execution.start(outcome, packs, now=now, base_version=len(events))
        await self.act.carry_out(run, effects, tenant=tenant, exception_id=exception.exception_id,
                                 partition=partition, now=now)
        key = exception_state.state_key(tenant, exception.exception_id)
        prior = self.exceptions.get(key)
        if exception_state.decided_from(prior, source):
            state = prior  # a replay: keep what the act agent has done since the decision
        else:
            state = exception_state.decided_state(
                source=source, now_epoch=first_seen, status=(run.status if run else outcome.status).value,
                severity=outcome.severity.value, exception_type=outcome.exception_type,
                playbook_id=outcome.playbook_id, version=run.version if run else len(events),
                sla=start_clock(outcome, packs, now))
            if run is not None:
                state = exception_state.with_run(state, run)
            self.exceptions[key] = state
        previous = self.tenants.get(tenant)
        updated = tenant_state.record_decision(
            previous, source, status=state["status"], severity=outcome.severity.value,
            exception_type=outcome.exception_type, now_epoch=now.timestamp(), quota=quota)
        if updated is not None:
            level = self.gate.level()
            BACKPRESSURE.labels(tenant).set(tenant_state.BACKPRESSURE_LEVELS.index(level))
            if level != updated["backpressure"]:
                await self._backpressure_changed(exception, updated["backpressure"], level, source, partition, now)
                updated["backpressure"] = level
            self.tenants[tenant] = updated

    async def _backpressure_changed(self, exception: NormalizedException, before: str, after: str,
                                    source: tuple[str, int, int], partition: int, now: datetime) -> None:
        """The tenant's backpressure level moved (the sink's lag on this worker): an event records it."""
        event = EventEnvelope.create(
            event_type="BackpressureChanged", tenant_id=exception.tenant_id, exception_id=exception.exception_id,
            occurred_at=now, actor=PIPELINE, step=":".join(map(str, source)),
            payload={"from": before, "to": after, "sink_pending": self.gate.pending})
        await self.topics.events.send(key=exception.tenant_id.encode(), value=codec.dumps(event), partition=partition)
        self.gate.published(1)

    async def _defer(self, event: EventT, tenant: str, source: tuple[str, int, int], now_epoch: float,
                     wait: float, bucket: dict[str, float]) -> None:
        """Over quota: park the message on the deferred topic until its reserved token is due; never drop it.

        The deferred agent runs it through this same intake when that time comes, without charging
        the quota again.
        """
        not_before = now_epoch + wait
        partition = event.message.partition
        await self.topics.deferred.send(key=event.key, value=event.value, partition=partition,
                                        headers=[(NOT_BEFORE, repr(not_before).encode())])
        exc_id = codec.loads(event.value).get("exception_id") or ""
        deferred = EventEnvelope.create(
            event_type="QuotaDeferred", tenant_id=tenant, exception_id=str(exc_id),
            occurred_at=datetime.fromtimestamp(now_epoch, UTC), actor=PIPELINE,
            payload={"not_before": not_before, "source": list(source)}, step=":".join(map(str, source)))
        await self.topics.events.send(key=tenant.encode(), value=codec.dumps(deferred), partition=partition)
        self.gate.published(1)
        updated = tenant_state.record_deferred(self.tenants.get(tenant), source, bucket)
        if updated is not None:
            self.tenants[tenant] = updated
        QUOTA_DEFERRED.labels(tenant).inc()
        EVENTS_PROCESSED.labels("deferred").inc()

    async def _dead_letter(self, event: EventT, error: BaseException, *, stage: str) -> None:
        await dead_letter(self.topics.dlq, event.message, error, stage=stage)
        EVENTS_PROCESSED.labels("dead_lettered").inc()


def not_before(event: EventT) -> float:
    for name, value in event.headers.items() if isinstance(event.headers, dict) else event.headers or []:
        if name == NOT_BEFORE:
            return float(value)
    return 0.0
