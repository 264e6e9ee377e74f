"""What each correction of ``sentinai.framework`` changes in faust's behaviour, installed for the
test that needs it and removed after it (tests/unit/framework/conftest.py).

* The producer buffer (where table changelog writes wait) is drained before a commit: faust
  commits input offsets right after ``producer.flush()``, and a flush that returns with changelog
  writes still queued lets a crash lose table changes whose input is committed.
* Resuming flow that is already active keeps the agents' queued input: faust cleared it at the end
  of table recovery and the dropped messages were never fetched again (the kill -9 restart stall).
* Offsets are committed only over handled messages, and each partition reaches the agents once and
  in order: faust's read-offset drops and "gaps" around a rebalance, and its commit skipping one
  unacked message, lost an event in the scale test.
* A send takes the started producer directly: faust's lookup yielded to the event loop three times
  per message.
* The worker's consumer long-polls for SENTINAI_FETCH_MAX_WAIT_MS, not faust's fixed 1.5 s (its
  fetcher, started on the broker, uses that wait).
* The worker's consumer reads committed records only: with faust's read_uncommitted, an outside
  producer's aborted transaction was decided.
* Table recovery reads on to the end the fetches report (tests/chaos/test_table_recovery.py runs
  it on the broker).
* The commit guard remembers failed deliveries for good and names where they went
  (tests/chaos/test_commit_guard.py runs it on a broker that goes away).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from aiokafka.consumer.fetcher import READ_COMMITTED, READ_UNCOMMITTED
from faust.transport.consumer import Consumer
from faust.transport.producer import ProducerBuffer
from faust.types import TP
from intervaltree import IntervalTree
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from sentinai import framework
from sentinai.framework.commit_guard import DeliveryFailed, DeliveryGuard
from sentinai.framework.handled_offsets import InOrderDelivery, ReadOffsets
from sentinai.framework.recovery_end import raise_to_fetched_ends


class SlowChannel:
    """Hands a message over to "the Kafka client" slowly, as a loaded machine does."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.published: list[int] = []
        self.handing_over = asyncio.Event()

    async def publish_message(self, fut: SimpleNamespace, wait: bool = False) -> None:
        self.handing_over.set()
        await asyncio.sleep(self.delay)  # the slow hand-over itself, not a wait for something
        self.published.append(fut.message.value)


async def test_flush_waits_for_every_queued_and_in_flight_message(reliable_flush: ModuleType) -> None:
    buffer = ProducerBuffer()
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))  # type: ignore[assignment]
    channel = SlowChannel(delay=0.25)  # longer than the 0.1 s after which faust's own flush gave up
    await buffer.start()
    try:
        for value in range(5):
            buffer.put(SimpleNamespace(message=SimpleNamespace(channel=channel, value=value)))  # type: ignore[arg-type]
        await asyncio.wait_for(channel.handing_over.wait(), timeout=10)  # the first message is off the queue
        assert buffer.size == 4
        await asyncio.wait_for(buffer.flush(), timeout=10)
        print(f"flushed {len(channel.published)} of 5 slow changelog writes")
        assert channel.published == [0, 1, 2, 3, 4]
    finally:
        await buffer.stop()


async def test_resuming_active_flow_keeps_queued_input_and_a_rebalance_still_clears_it(
        queues_kept_on_resume: ModuleType) -> None:
    flow = FlowControlEvent(initially_suspended=False)
    queue: FlowControlQueue[int] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    for offset in range(3):
        queue.put_nowait(offset)
    flow.resume()  # what table recovery does at its end, with the fetcher already delivering
    print(f"queued input kept over resume(): {queue.qsize()} of 3")
    assert queue.qsize() == 3
    flow.suspend()  # a rebalance: what is queued belongs to an assignment that is gone
    flow.resume()
    assert queue.qsize() == 0


def consumer_state(*, committed: int, acked: list[int]) -> tuple[SimpleNamespace, TP]:
    """The bookkeeping ``Consumer._new_offset`` reads, for one partition."""
    tp = TP("t.events", 0)
    state = SimpleNamespace(_acked=defaultdict(list), _acked_index=defaultdict(set), _gap=defaultdict(IntervalTree),
                            _committed_offset=defaultdict(lambda: None))
    state._acked[tp] = sorted(acked)
    state._acked_index[tp] = set(acked)
    state._committed_offset[tp] = committed
    return state, tp


def test_a_commit_never_skips_the_unhandled_message_at_the_committed_position(
        handled_offsets_only: ModuleType) -> None:
    state, tp = consumer_state(committed=10, acked=[11, 12])
    assert Consumer._new_offset.__wrapped__(state, tp) == 13  # faust's own: offset 10 committed over
    state, tp = consumer_state(committed=10, acked=[11, 12])
    assert Consumer._new_offset(state, tp) is None
    state, tp = consumer_state(committed=10, acked=[10, 11, 12, 14])
    assert Consumer._new_offset(state, tp) == 13


def test_a_commit_moves_over_offsets_known_to_hold_no_message(handled_offsets_only: ModuleType) -> None:
    """A transaction marker at the committed position (offset 10), seen as a hole by a fetch."""
    state, tp = consumer_state(committed=10, acked=[11, 12])
    state._gap[tp].addi(10, 11)
    assert Consumer._new_offset(state, tp) == 13


def test_acked_topics_have_no_read_offsets_so_faust_neither_drops_nor_gap_fills_changelogs_keep_theirs() -> None:
    offsets = ReadOffsets(lambda topic: topic.endswith(".events"))
    events, changelog = TP("t.events", 0), TP("t-app-exception-state-changelog", 0)
    offsets[events] = 500  # what faust sets after a seek or a delivery
    offsets[changelog] = 500
    assert offsets[events] is None
    assert offsets[changelog] == 500
    assert offsets[TP("t-app-tenant-state-changelog", 3)] is None


def fetched(offset: int, *, generation: int, topic: str = "t.events", partition: int = 0) -> SimpleNamespace:
    return SimpleNamespace(topic=topic, tp=TP(topic, partition), offset=offset, generation_id=generation)


class Fetcher:
    """Feeds records through an :class:`InOrderDelivery` and keeps what reached the agents."""

    def __init__(self) -> None:
        self.delivered: list[tuple[int, int, int]] = []
        self.absent: list[tuple[int, int, int]] = []

        async def deliver(message: SimpleNamespace) -> None:
            self.delivered.append((message.generation_id, message.tp.partition, message.offset))

        self.delivery = InOrderDelivery(deliver, lambda topic: topic.endswith(".events"),
                                        lambda tp, begin, end: self.absent.append((tp.partition, begin, end)))

    async def fetch(self, *messages: SimpleNamespace) -> None:
        """Deliver a batch fetched before now (its fetch started when the consumer last asked)."""
        for message in messages:
            await self.delivery(message)

    async def fetch_now(self, *messages: SimpleNamespace) -> None:
        """Deliver a batch whose fetch starts now, after every seek so far."""
        self.delivery.batch_epoch = self.delivery.epoch
        await self.fetch(*messages)

    def seek(self, positions: dict[int, int], *, generation: int) -> None:
        self.delivery.seeking()
        self.delivery.seeked({TP("t.events", p): offset for p, offset in positions.items()}, generation=generation)


async def test_after_a_seek_the_partition_restarts_at_the_committed_offset_and_records_fetched_before_it_wait() -> None:
    fetcher = Fetcher()
    await fetcher.fetch(*(fetched(offset, generation=2) for offset in range(10, 13)))  # before the seek
    fetcher.seek({0: 10}, generation=2)
    await fetcher.fetch(fetched(13, generation=2))  # the rest of the batch fetched before the seek
    await fetcher.fetch(*(fetched(offset, generation=2) for offset in range(10, 16)))  # the re-fetch
    await fetcher.fetch(fetched(10, generation=2, partition=1))
    assert fetcher.delivered == ([(2, 0, offset) for offset in range(10, 13)]
                                 + [(2, 0, offset) for offset in range(10, 16)] + [(2, 1, 10)])


async def test_a_refetch_below_the_next_offset_is_dropped_and_nothing_is_skipped() -> None:
    fetcher = Fetcher()
    await fetcher.fetch_now(*(fetched(offset, generation=1) for offset in (5, 6, 5, 6, 7, 8, 7, 9)))
    assert [offset for _, _, offset in fetcher.delivered] == [5, 6, 7, 8, 9]
    assert fetcher.absent == []


async def test_offsets_a_fetch_after_the_last_seek_skips_hold_no_message_and_count_as_handled() -> None:
    """A transactional producer's commit marker took offset 12: no record ever has it."""
    fetcher = Fetcher()
    fetcher.seek({0: 10}, generation=1)
    await fetcher.fetch_now(fetched(10, generation=1), fetched(11, generation=1), fetched(13, generation=1))
    assert [offset for _, _, offset in fetcher.delivered] == [10, 11, 13]
    assert fetcher.absent == [(0, 12, 13)]


async def test_a_record_fetched_before_the_last_seek_does_not_make_a_hole() -> None:
    fetcher = Fetcher()
    fetcher.seek({0: 10}, generation=1)
    await fetcher.fetch_now(fetched(10, generation=1))
    fetcher.seek({0: 10}, generation=1)  # a seek while the next batch, fetched before it, is delivered
    await fetcher.fetch(fetched(13, generation=1))
    assert [offset for _, _, offset in fetcher.delivered] == [10] and fetcher.absent == []


async def test_a_new_generation_starts_afresh_and_stale_records_cannot_make_it_drop_anything() -> None:
    fetcher = Fetcher()
    await fetcher.fetch(fetched(10, generation=1), fetched(11, generation=1))
    await fetcher.fetch(fetched(10, generation=2))  # the new assignment starts again at the committed offset
    await fetcher.fetch(fetched(30, generation=1))  # a record of the old assignment, still on its way out
    await fetcher.fetch(fetched(11, generation=2), fetched(12, generation=2))
    assert fetcher.delivered == [(1, 0, 10), (1, 0, 11), (2, 0, 10), (1, 0, 30), (2, 0, 11), (2, 0, 12)]


async def test_a_partition_sought_to_its_first_offset_is_delivered_again_from_there() -> None:
    fetcher = Fetcher()
    await fetcher.fetch(fetched(0, generation=1))  # fetched, then lost with a cleared queue
    fetcher.seek({0: 0}, generation=1)  # never committed: sought to the first offset
    await fetcher.fetch(fetched(1, generation=1), fetched(0, generation=1), fetched(1, generation=1))
    assert fetcher.delivered == [(1, 0, 0), (1, 0, 0), (1, 0, 1)]


async def test_changelog_records_pass_through_untouched() -> None:
    fetcher = Fetcher()
    await fetcher.fetch(*[fetched(5, generation=1, topic="t-app-tenant-state-changelog")] * 2)
    assert fetcher.delivered == [(1, 0, 5), (1, 0, 5)]


async def test_a_send_takes_the_started_producer_without_yielding_to_the_event_loop(
        direct_producer_lookup: ModuleType) -> None:
    import faust

    app = faust.App("fixes-test", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    topic = app.topic("t")
    producer = app.producer
    producer._started.set()  # as after the worker started it
    lookup = topic._get_producer()
    with pytest.raises(StopIteration) as done:  # finished on its first step: no event-loop turn
        lookup.send(None)
    assert done.value.value is producer


def test_recovery_targets_rise_to_the_fetched_end_and_never_fall() -> None:
    listed = {"a": 3, "b": 20, "c": -1, "d": None}  # faust's targets: ListOffsets end - 1
    fetched = {"a": 13, "b": 15, "c": None, "d": 7}  # high watermarks of the latest fetches
    raise_to_fetched_ends(listed, fetched.get)
    assert listed == {"a": 12, "b": 20, "c": -1, "d": None}


async def worker_fetcher(broker_url: str, field: str) -> int:
    """``field`` of the fetcher of a worker consumer that faust makes, once it has started (the
    consumer hands its settings to the fetcher it starts)."""
    import faust

    app = faust.App("fixes-fetch", broker=broker_url, store="memory://", web_enabled=False)
    consumer = app.consumer._thread._create_worker_consumer(app.consumer.transport)
    await consumer.start()
    try:
        return int(getattr(consumer._fetcher, field))
    finally:
        await consumer.stop()


async def test_the_worker_consumer_long_polls_for_the_configured_wait_not_faust_fixed_one(
        broker_url: str, fetch_wait_40ms: ModuleType) -> None:
    assert await worker_fetcher(broker_url, "_fetch_max_wait_ms") == 40


async def test_without_the_correction_faust_long_polls_for_its_fixed_one_and_a_half_seconds(broker_url: str) -> None:
    assert await worker_fetcher(broker_url, "_fetch_max_wait_ms") == 1500


async def test_the_worker_consumer_leaves_out_aborted_transactions(broker_url: str, committed_reads: ModuleType) -> None:
    assert await worker_fetcher(broker_url, "_isolation_level") == READ_COMMITTED


async def test_without_the_correction_faust_reads_aborted_transactions_too(broker_url: str) -> None:
    assert await worker_fetcher(broker_url, "_isolation_level") == READ_UNCOMMITTED


async def test_faust_own_producer_lookup_yields_to_the_event_loop() -> None:
    import faust

    app = faust.App("fixes-test", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    app.producer._started.set()
    lookup = app.topic("t")._get_producer()
    assert lookup.send(None) is None  # suspended: an event-loop turn before the producer comes back
    lookup.close()


def test_uninstalling_every_correction_gives_faust_its_own_code_back() -> None:
    from faust.topics import Topic

    originals = (Consumer.__init__, Consumer._new_offset, ProducerBuffer.flush, FlowControlEvent.resume,
                 Topic._get_producer)
    framework.install_all(fetch_max_wait_ms=40)
    patched = (Consumer.__init__, Consumer._new_offset, ProducerBuffer.flush, FlowControlEvent.resume,
               Topic._get_producer)
    framework.install_all(fetch_max_wait_ms=40)  # twice changes nothing
    assert framework.installed() == [patch.__name__ for patch in framework.PATCHES]
    framework.uninstall_all()
    assert framework.installed() == []
    assert all(p is not o for p, o in zip(patched, originals, strict=True))
    assert (Consumer.__init__, Consumer._new_offset, ProducerBuffer.flush, FlowControlEvent.resume,
            Topic._get_producer) == originals
    assert not hasattr(ProducerBuffer, "_sentinai_in_flight")


async def callbacks_ran(future: asyncio.Future[Any]) -> None:
    """Return once the done-callbacks already on ``future`` (done) have run: the loop runs them in order."""
    ran: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.add_done_callback(lambda _: ran.set_result(None))
    await ran


async def test_the_delivery_guard_records_failed_batches_of_the_client_it_watches() -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.structs import TopicPartition

    client = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1")  # never started: nothing is sent
    guard = DeliveryGuard()
    guard.attach(client)
    accumulator = client._message_accumulator
    events, decisions = TopicPartition("events", 1), TopicPartition("decisions", 2)
    futures = [await accumulator.add_message(tp, None, b"v", timeout=1) for tp in (events, events, decisions)]
    delivered, lost = accumulator._batches[events][0], accumulator._batches[decisions][0]
    delivered.done(base_offset=0)
    await callbacks_ran(delivered.future)
    guard.check()  # delivered: nothing to say
    lost.drain_ready()  # taken by the sender, as a batch that expires in flight is
    lost.failure(TimeoutError("batch expired"))
    await callbacks_ran(lost.future)
    assert isinstance(futures[2].exception(), TimeoutError)
    with pytest.raises(DeliveryFailed, match=r"^1 message\(s\) .* \(decisions\[2\]×1\); first: decisions\[2\]: "
                                             r"TimeoutError: batch expired$"):
        guard.check()
    with pytest.raises(DeliveryFailed):  # for good
        guard.check()
    await client.stop()


async def test_a_batched_agent_makes_each_event_the_current_one_for_table_writes() -> None:
    import faust
    from faust.streams import current_event
    from faust.types.tuples import Message

    from sentinai.framework.current_event import set_current_event

    app = faust.App("current-event", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    channel = app.channel()
    stream = app.stream(channel)
    events = [channel._create_event(b"t", b"{}", {}, Message("t.llm", partition, 0, 0.0, 0, None, b"t", b"{}", None))
              for partition in (3, 5)]
    table = app.Table("state", partitions=8)
    table._verified_source_topics_for_partitions.add("t.llm")  # co-partitioned, as faust checks at start
    for event in events:
        set_current_event(event)
        assert current_event() is event and stream.current_event is None  # take()'s buffer reads that one
        assert table.partition_for_key("k") == event.message.partition  # where its changelog write goes


async def test_an_event_arriving_while_a_taken_batch_is_handled_is_in_the_next_batch() -> None:
    """The LLM agent makes each event of a batch current while it handles it; an event that arrives
    meanwhile must still be the one ``noack_take`` buffers next (not the batch's again)."""
    import faust
    from faust.types.tuples import Message

    from sentinai.framework.current_event import set_current_event

    app = faust.App("take-current", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    app.flow_control.resume()
    channel = app.channel()
    stream = app.stream(channel)

    def event(offset: int) -> Any:
        message = Message("t.llm", 0, offset, 0.0, 0, None, b"t", b"{}", None,
                          generation_id=app.consumer_generation_id)
        return channel._create_event(b"t", b"{}", {}, message)

    batches: list[list[int]] = []

    async def agent() -> None:
        async for batch in stream.noack_take(16, within=0.05):
            batches.append([e.message.offset for e in batch])
            if len(batches) == 1:
                await channel.put(event(1))  # arrives while the first batch is being handled
                while _offset(stream.current_event) != 1:  # the stream in the background has read it
                    await asyncio.sleep(0)
                for taken in batch:
                    set_current_event(taken)
            if len(batches) == 2:
                return

    task = asyncio.create_task(agent())
    await channel.put(event(0))
    await asyncio.wait_for(task, timeout=5)
    assert batches == [[0], [1]]


def _offset(event: Any) -> int | None:
    return None if event is None else event.message.offset


async def test_a_partition_never_committed_is_guarded_from_its_first_offset(handled_offsets_only: ModuleType) -> None:
    """Its first message not handled (the agent crashed sending its dead letter), later ones
    handled: the commit waits at the first offset instead of passing it."""
    tp = TP("t.events", 0)
    sought: list[tuple[TP, int]] = []

    async def seek_to_committed() -> dict[TP, int | None]:
        return {tp: None}

    async def earliest_offsets(*tps: TP) -> dict[TP, int]:
        return dict.fromkeys(tps, 0)

    async def seek(where: TP, offset: int) -> None:
        sought.append((where, offset))

    consumer = SimpleNamespace(
        _sentinai_delivery=InOrderDelivery(lambda message: asyncio.sleep(0), lambda topic: True),
        seek_to_committed=seek_to_committed, earliest_offsets=earliest_offsets, _seek=seek,
        app=SimpleNamespace(consumer_generation_id=1, topics=SimpleNamespace(acks_enabled_for=lambda topic: True)),
        _read_offset={}, _committed_offset=defaultdict(lambda: None), _acked=defaultdict(list),
        _acked_index=defaultdict(set), _gap=defaultdict(IntervalTree))
    await Consumer.perform_seek(consumer)
    assert sought == [(tp, 0)] and consumer._committed_offset[tp] == 0
    consumer._acked[tp] = [1, 2]
    consumer._acked_index[tp] = {1, 2}
    assert Consumer._new_offset(consumer, tp) is None
