"""The live decision feed: ONE aiokafka consumer per web process, fanned out to SSE subscribers.

The consumer has no group: it assigns every partition of the decisions topic and starts near the
end, ``history`` records back per partition, so the ring opens on what just happened. A topic
that did not exist when the feed started (the web view started before the first worker) is read
from its first record as soon as it appears: the feed asks for the cluster's topics every
``discovery_seconds`` until then (aiokafka alone would notice it at its next metadata refresh,
five minutes later). Each record goes into a ring buffer of recent records, so a reconnecting
client resumes after its ``Last-Event-ID`` (a new one may ask for the latest records first),
and to every subscriber of its tenant (or of all tenants, for an admin ``*`` key). A subscriber
that falls too far behind is closed; its client reconnects and resumes from the ring.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from sentinai.api import metrics
from sentinai.streams.client_start import start_client
from sentinai.streams.decision import in_stages_shape

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedRecord:
    seq: int
    event_id: str
    tenant_id: str
    data: str  # the record's JSON text, sent as the SSE data field
    record: dict[str, Any]


@dataclass(eq=False)
class Subscriber:
    tenant_id: str | None  # None: every tenant
    max_pending: int
    pending: collections.deque[FeedRecord] = field(default_factory=collections.deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False

    def offer(self, item: FeedRecord) -> None:
        if self.tenant_id is not None and item.tenant_id != self.tenant_id:
            return
        if len(self.pending) >= self.max_pending:
            self.overflowed = True
        else:
            self.pending.append(item)
        self.wakeup.set()

    async def next_batch(self, timeout: float) -> list[FeedRecord]:
        if not self.pending:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout)
        self.wakeup.clear()
        batch = list(self.pending)
        self.pending.clear()
        return batch


class DecisionFeed:
    def __init__(self, bootstrap: str, topic: str, *, ring_size: int = 10_000, max_pending: int = 5_000,
                 history: int = 200, discovery_seconds: float = 0.5) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.history = history
        self.discovery_seconds = discovery_seconds
        self._from_start = False  # the topic appeared after the feed started: read it all
        self.ring: collections.deque[FeedRecord] = collections.deque(maxlen=ring_size)
        self._index: dict[str, tuple[int, str]] = {}  # event_id -> (seq, tenant_id)
        self._seq = 0
        self._max_pending = max_pending
        self.subscribers: set[Subscriber] = set()
        self.ready = asyncio.Event()
        self.lag = 0
        self._task: asyncio.Task[None] | None = None

    # -- subscribers ------------------------------------------------------------------------
    def subscribe(self, tenant_id: str | None, last_event_id: str | None = None,
                  history: int = 0) -> tuple[Subscriber, list[FeedRecord], bool]:
        """Register a subscriber and return it with the ring's records after ``last_event_id``, or
        (without one, or when it is no longer in the ring) the latest ``history`` records.

        Synchronous (no await), so no record can fall between the backlog and the live queue, and
        none is in both. ``found`` is False when ``last_event_id`` is no longer (or never was) in
        the ring. A subscriber of one tenant looks only among that tenant's records: another
        tenant's id is not found, exactly like an unknown one, so a resume cannot tell that it exists."""
        sub = Subscriber(tenant_id=tenant_id, max_pending=self._max_pending)
        backlog: list[FeedRecord] = []
        found = True
        seq = None
        if last_event_id:
            seq, owner = self._index.get(last_event_id, (None, None))
            if seq is None or (tenant_id is not None and owner != tenant_id):
                seq, found = None, False
        if seq is not None:
            backlog = [r for r in self.ring if r.seq > seq and (tenant_id is None or r.tenant_id == tenant_id)]
        elif history:
            for record in reversed(self.ring):
                if len(backlog) == history:
                    break
                if tenant_id is None or record.tenant_id == tenant_id:
                    backlog.append(record)
            backlog.reverse()
        self.subscribers.add(sub)
        metrics.SSE_SUBSCRIBERS.set(len(self.subscribers))
        return sub, backlog, found

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        metrics.SSE_SUBSCRIBERS.set(len(self.subscribers))

    # -- records ----------------------------------------------------------------------------
    def publish(self, raw: bytes | None, partition: int = 0, offset: int = 0) -> FeedRecord | None:
        """Add one raw record to the ring and fan it out; None when it is not a decision record."""
        try:
            record = json.loads(raw or b"")
        except (ValueError, UnicodeDecodeError):
            metrics.FEED_RECORDS.labels(outcome="undecodable").inc()
            return None
        if not isinstance(record, dict) or not isinstance(record.get("tenant_id"), str):
            metrics.FEED_RECORDS.labels(outcome="undecodable").inc()
            return None
        record = in_stages_shape(record)
        event_id = str(record.get("event_id") or f"{self.topic}:{partition}:{offset}")
        if event_id in self._index:
            metrics.FEED_RECORDS.labels(outcome="duplicate").inc()
            return None
        self._seq += 1
        item = FeedRecord(seq=self._seq, event_id=event_id, tenant_id=record["tenant_id"],
                          data=json.dumps(record, separators=(",", ":")), record=record)
        if len(self.ring) == self.ring.maxlen:
            old = self.ring[0]
            if self._index.get(old.event_id, (None, None))[0] == old.seq:
                del self._index[old.event_id]
        self.ring.append(item)
        self._index[event_id] = (item.seq, item.tenant_id)
        metrics.FEED_RECORDS.labels(outcome="ok").inc()
        stages = record.get("stages")
        last = stages[-1] if isinstance(stages, list) and stages and isinstance(stages[-1], dict) else {}
        metrics.DECISIONS_SEEN.labels(
            tenant=item.tenant_id, decision=str(last.get("decision", ""))[:64],
            source=str(record.get("source", ""))[:32]).inc()
        for sub in list(self.subscribers):
            sub.offer(item)
        return item

    # -- consumer ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sentinai-decision-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for sub in list(self.subscribers):
            sub.overflowed = True
            sub.wakeup.set()

    async def _run(self) -> None:
        delay = 0.5
        while True:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                auto_offset_reset="latest", client_id="sentinai-web-feed",
            )
            try:
                await start_client(consumer.start, consumer.stop)
                delay = 0.5
                await self._consume(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("decision feed: %s; reconnecting in %.1fs", err, delay)
                self.ready.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def _partitions(self, consumer: AIOKafkaConsumer) -> set[int]:
        """The topic's partitions now, fetched from the broker (not aiokafka's cached metadata:
        ``consumer.topics()`` fetches the same but returns only names)."""
        cluster = await consumer._client.fetch_all_metadata()
        return cluster.partitions_for_topic(self.topic) or set()

    async def _assign(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        while True:
            partitions = await self._partitions(consumer)
            if partitions:
                break
            self._from_start = True
            await asyncio.sleep(self.discovery_seconds)
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        assigned = set(consumer.assignment())
        consumer.assign(tps)
        new = [tp for tp in tps if tp not in assigned]
        if self._from_start:
            await consumer.seek_to_beginning(*new)
        else:
            ends = await consumer.end_offsets(new)
            beginnings = await consumer.beginning_offsets(new)
            for tp in new:
                consumer.seek(tp, max(beginnings[tp], ends[tp] - self.history))
        for tp in new:
            await consumer.position(tp)  # resolve the start now, before we report ready
        self._from_start = False  # a reconnect resumes near the end; the ring drops what it has seen
        return tps

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        tps = await self._assign(consumer)
        self.ready.set()
        log.info("decision feed live on %s (%d partitions)", self.topic, len(tps))
        refresh = 0
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=1000)
            for tp, messages in batches.items():
                for msg in messages:
                    self.publish(msg.value, tp.partition, msg.offset)
            refresh += 1
            if refresh % 20 == 0:  # ~10 s: lag, and partitions added to the topic
                lag = 0
                for tp in tps:
                    high = consumer.highwater(tp)
                    if high is not None:
                        lag += max(0, high - await consumer.position(tp))
                self.lag = lag
                metrics.FEED_LAG.set(lag)
                if len(await self._partitions(consumer)) > len(tps):
                    self._from_start = True  # a partition added now holds only new records
                    tps = await self._assign(consumer)
