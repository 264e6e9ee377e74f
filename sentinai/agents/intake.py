"""Intake: raw exception → normalized → deduplicated → quota → decided → published.

One agent does intake and decide in a single pass (an extra topic hop between them would double
the per-message cost and buy nothing: both steps need the same tenant's tables on the same
partition). The agent body is thin: the decisions are the core's, publishing a decided exception
is :class:`sentinai.agents.outcomes.Outcomes`'; here we only decode, check and call them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faust.types import EventT

from sentinai.agents.dead_letters import dead_letter
from sentinai.agents.deferred import NOT_BEFORE
from sentinai.agents.outbox import Draft, Outbox
from sentinai.agents.outcomes import Outcomes
from sentinai.agents.quota import IntakeQuota
from sentinai.caches.packs import PackCache
from sentinai.core.engine import decide
from sentinai.core.models import NormalizedException
from sentinai.core.normalize import RejectedInput, normalize
from sentinai.core.occurrence import Occurrence
from sentinai.core.packs import TenantPacks
from sentinai.metrics import EVENTS_PROCESSED, QUOTA_DEFERRED, STAGE_LATENCY
from sentinai.settings import Settings
from sentinai.streams import codec
from sentinai.streams.direct_topic import DirectTopic
from sentinai.streams.dlq import header_pairs
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.home_partition import FORWARDED_FROM, home_partition
from sentinai.streams.key_tenant import KeyNotText, key_tenant
from sentinai.streams.records import PIPELINE
from sentinai.streams.transient import is_transient
from sentinai.tables import exception_state

log = logging.getLogger(__name__)

RETRIES = 3

# The metrics' children for the labels that are fixed, looked up once: ``labels()`` takes a lock and
# checks its arguments on every call (a decided exception's four metrics: 9.3 us with it, 3.7 us
# without, docs/performance.md).
_DUPLICATE, _SENT_TO_LLM, _DECIDED, _REPLAYED, _DEFERRED, _DEAD_LETTERED, _FORWARDED = (
    EVENTS_PROCESSED.labels(outcome) for outcome in ("duplicate", "sent_to_llm", "decided", "replayed", "deferred",
                                                     "dead_lettered", "forwarded"))
_NORMALIZE_SECONDS, _DECIDE_SECONDS, _TOTAL_SECONDS = (
    STAGE_LATENCY.labels(stage) for stage in ("normalize", "decide", "total"))


@dataclass
class IntakeTopics:
    exceptions: DirectTopic  # the input topic: an input off its tenant's home partition is forwarded there
    dlq: DirectTopic
    deferred: DirectTopic
    llm: DirectTopic | None = None  # None: no LLM configured, every tenant is decided by the rules


def llm_request(exception: NormalizedException, *, source: tuple[str, int, int], occurrence: Occurrence) -> bytes:
    """What intake hands the LLM stage: the normalized exception, where it came from and the
    occurrence of its id it starts (:func:`request_occurrence` reads it back)."""
    return codec.dumps({"exception": exception.model_dump(mode="json"), "source": list(source),
                        "first_seen": occurrence.first_seen, "occurrence": occurrence.key})


def request_occurrence(request: dict[str, Any]) -> Occurrence:
    """The occurrence an LLM request belongs to; a request of the release before occurrences
    starts the one its awaiting state gets (:func:`sentinai.tables.exception_state.occurrence_for`)."""
    if "occurrence" in request:
        return Occurrence(str(request["occurrence"]), float(request["first_seen"]))
    return Occurrence.started_by(tuple(request["source"]), first_seen=float(request["first_seen"]))  # type: ignore[arg-type]


class QuotaBacklogFull(Exception):
    """The tenant's share of the deferred agent is full: a message beyond it is dead-lettered, so
    that one tenant's backlog cannot fill what every tenant's over-quota messages wait in."""


class Intake:
    """Handles one input event at a time; never lets an exception escape (faust would ack it)."""

    def __init__(self, *, settings: Settings, topics: IntakeTopics, packs: PackCache, exceptions_table: Any,
                 quota: IntakeQuota, outcomes: Outcomes, outbox: Outbox) -> None:
        self.settings = settings
        self.topics = topics
        self.packs = packs
        self.exceptions = exceptions_table
        self.quota = quota
        self.outcomes = outcomes
        self.outbox = outbox

    async def handle(self, event: EventT) -> None:
        message = event.message
        source = (message.topic, message.partition, message.offset)
        for attempt in range(RETRIES + 1):
            try:
                await self._process(event, source)
                return
            except QuotaBacklogFull as err:
                await self._dead_letter(event, err, stage="quota")
                return
            except (codec.UndecodableMessage, KeyNotText, RejectedInput) as err:
                await self._dead_letter(event, err, stage="intake")
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a transient failure is tried again; anything else is dead-lettered at once
                if not is_transient(err) or attempt == RETRIES:
                    log.exception("%s sent to the DLQ after %d attempt(s)", source, attempt + 1)
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
        exception = normalize(raw, now=now, known_tenants=self.packs.tenants,
                              max_bytes=self.settings.max_message_bytes, raw_size=len(event.value),
                              key_tenant=key_tenant(message.key))
        if await self._forwarded_home(event, exception.tenant_id):
            return
        packs = self.packs.for_tenant(exception.tenant_id)
        if packs is None:
            raise RejectedInput(f"tenant {exception.tenant_id!r} has no active pack", "tenant_id")
        tenant = exception.tenant_id
        key = exception_state.state_key(tenant, exception.exception_id)
        prior = self.exceptions.get(key)
        if exception_state.is_duplicate(prior, source, now_epoch=now_epoch,
                                        window_seconds=self.settings.dedup_window_seconds):
            _DUPLICATE.inc()
            return
        # an input that starts an occurrence is charged (a first one, or the id sent again after its
        # window); not a replay of its input, nor one the deferred agent hands back at its time
        if not exception_state.started_by(prior, source) and message.topic != self.topics.deferred.get_topic_name():
            wait = self._quota_wait(packs, tenant, now_epoch)
            if wait is not None:
                await self._defer(event, exception, source, now, wait)
                return
        _NORMALIZE_SECONDS.observe(time.perf_counter() - started)
        occurrence = exception_state.occurrence_for(prior, source, now_epoch=now_epoch)
        replay = exception_state.decided_from(prior, source)
        if self.topics.llm is not None and packs.tenant.llm.enabled:
            if replay:  # the LLM stage decided it, and its own topic replays what it had not published
                _REPLAYED.inc()
                return
            await self.topics.llm.send(key=tenant.encode(), partition=message.partition,
                                       value=llm_request(exception, source=source, occurrence=occurrence))
            self.exceptions[key] = exception_state.awaiting_llm(source=source, now_epoch=occurrence.first_seen,
                                                                occurrence=occurrence.key)
            _SENT_TO_LLM.inc()
            return
        decided_at = time.perf_counter()
        outcome = decide(exception, packs, now=now)
        _DECIDE_SECONDS.observe(time.perf_counter() - decided_at)
        await self.outcomes.publish(exception, outcome, packs, source=source, partition=message.partition,
                                    occurrence=occurrence, now=now)
        # an input decided before (a replay after a crash or a rebalance) is published again, not counted again
        (_REPLAYED if replay else _DECIDED).inc()
        _TOTAL_SECONDS.observe(time.perf_counter() - started)

    async def _forwarded_home(self, event: EventT, tenant: str) -> bool:
        """Send an input of the input topic that arrived off its tenant's home partition there
        (``sentinai.streams.home_partition``); True when it was, and this copy is done."""
        message = event.message
        if message.topic != self.topics.exceptions.get_topic_name():
            return False  # the deferred and LLM topics are ours: written on the home partition
        home = home_partition(tenant, self.settings.topic_partitions)
        if message.partition == home:
            return False
        headers = [*header_pairs(event.headers),
                   (FORWARDED_FROM, f"{message.topic}:{message.partition}:{message.offset}".encode())]
        await self.topics.exceptions.send(key=tenant.encode(), value=event.value, partition=home, headers=headers)
        _FORWARDED.inc()
        return True

    def _quota_wait(self, packs: TenantPacks, tenant: str, now_epoch: float) -> float | None:
        """Seconds until the tenant's reserved intake token is due; None when it may go now."""
        quotas = packs.tenant.quotas
        rate = getattr(quotas, "exceptions_per_second", None) if quotas else None
        if not rate:
            return None
        burst = float(getattr(quotas, "burst", None) or rate)
        limit = self.settings.deferred_tenant_limit
        allowed, _, wait = self.quota.take(tenant, rate=float(rate), burst=burst, now_epoch=now_epoch,
                                           max_debt=limit)
        if wait == math.inf:
            raise QuotaBacklogFull(f"tenant {tenant!r} is over its quota ({rate:g}/s) with {limit} exceptions "
                                   "already waiting for it (SENTINAI_DEFERRED_TENANT_LIMIT); replay this letter "
                                   "once they have gone through")
        return None if allowed else wait

    async def _defer(self, event: EventT, exception: NormalizedException, source: tuple[str, int, int],
                     now: datetime, wait: float) -> None:
        """Over quota: park the message on the deferred topic until its reserved token is due; never drop it.

        The deferred agent runs it through this same intake when that time comes, without charging
        the quota again.
        """
        not_before = now.timestamp() + wait
        partition = event.message.partition
        await self.topics.deferred.send(key=event.key, value=event.value, partition=partition,
                                        headers=[(NOT_BEFORE, repr(not_before).encode())])
        tenant = exception.tenant_id
        draft = Draft(tenant, exception.exception_id, source, events=[EventEnvelope.create(
            event_type="QuotaDeferred", tenant_id=tenant, exception_id=exception.exception_id, occurred_at=now,
            actor=PIPELINE, payload={"not_before": not_before, "source": list(source)},
            step=":".join(map(str, source)))])
        await self.outbox.publish(draft, partition=partition, snapshot=None, now=now)
        QUOTA_DEFERRED.labels(tenant).inc()
        _DEFERRED.inc()

    async def _dead_letter(self, event: EventT, error: BaseException, *, stage: str) -> None:
        await dead_letter(self.topics.dlq, event.message, error, stage=stage)
        _DEAD_LETTERED.inc()

